#include "numbers/e164.h"

#include <gtest/gtest.h>

#include <string>

namespace privox::numbers {
namespace {

TEST(DestinationMemoTest, AnswersAsLibphonenumberDoesForEachNumber) {
  DestinationMemo memo;
  for (const char* number : {"+442079460958", "+449098790000", "+14155550123", "+12125550147", "+33612345678",
                             "+80012345678", "not a number", "+999123"}) {
    const Destination direct = destination_of(number);
    for (int pass = 0; pass < 2; ++pass) {  // the first answer is worked out, the second remembered
      const Destination remembered = memo.of(number);
      EXPECT_EQ(remembered.region, direct.region) << number << " pass " << pass;
      EXPECT_EQ(remembered.premium, direct.premium) << number << " pass " << pass;
    }
  }
  EXPECT_EQ(memo.size(), 8U);
  EXPECT_TRUE(memo.of("+449098790000").premium);
  EXPECT_EQ(memo.of("+14155550123").region, "US");
}

TEST(DestinationMemoTest, StartsAgainEmptyPastItsBound) {
  DestinationMemo memo(3);
  for (const char* number : {"+442079460958", "+442079460959", "+442079460960"})
    EXPECT_EQ(memo.of(number).region, "GB");
  EXPECT_EQ(memo.size(), 3U);
  EXPECT_EQ(memo.of("+449098790000").region, "GB");  // one more number: the old ones are forgotten
  EXPECT_EQ(memo.size(), 1U);
}

}  // namespace
}  // namespace privox::numbers
