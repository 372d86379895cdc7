#include "common/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace privox {
namespace {

TEST(IdsTest, NewIdsAreCanonicalVersion7) {
  const std::string id = new_id(1'700'000'000'000'000);
  EXPECT_TRUE(is_valid_id(id)) << id;
  EXPECT_EQ(id[14], '7');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
}

TEST(IdsTest, IdsAreUniqueAndOrderedByTime) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(new_id(1'700'000'000'000'000)).second);
  EXPECT_LT(new_id(1'700'000'000'000'000), new_id(1'700'000'000'001'000));
}

TEST(IdsTest, RejectsMalformedIds) {
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id("0190e2a1-0000-7000-8000-00000000000"));
  EXPECT_FALSE(is_valid_id("0190E2A1-0000-7000-8000-000000000000"));
  EXPECT_FALSE(is_valid_id("0190e2a1x0000-7000-8000-000000000000"));
  EXPECT_FALSE(is_valid_id("' OR 1=1 --"));
  EXPECT_TRUE(is_valid_id("0190e2a1-0000-7000-8000-000000000000"));
}

}  // namespace
}  // namespace privox
