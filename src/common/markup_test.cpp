#include "common/markup.h"

#include <gtest/gtest.h>

namespace privox {
namespace {

TEST(MarkupTest, TheCharactersThatEndAnElementOrAnAttributeBecomeReferences) {
  EXPECT_EQ(markup_escaped("Tom & <b>Jerry</b>"), "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;");
  EXPECT_EQ(markup_escaped("a'\"&"), "a&#39;&quot;&amp;");
  EXPECT_EQ(markup_escaped("Zoë 101"), "Zoë 101") << "other text, UTF-8 included, is kept";
  EXPECT_EQ(markup_escaped(""), "");
}

}  // namespace
}  // namespace privox
