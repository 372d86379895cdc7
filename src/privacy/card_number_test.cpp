#include "privacy/card_number.h"

#include <gtest/gtest.h>

namespace privox::privacy {
namespace {

TEST(CardNumberTest, LuhnAcceptsKnownTestCards) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("4242424242424242"));
  EXPECT_TRUE(luhn_valid("378282246310005"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_FALSE(luhn_valid(""));
}

TEST(CardNumberTest, FindsCardNumbersWhereverTheyHide) {
  EXPECT_TRUE(contains_card_number("4111111111111111"));
  EXPECT_TRUE(contains_card_number("4111 1111 1111 1111"));
  EXPECT_TRUE(contains_card_number("4111-1111-1111-1111"));
  EXPECT_TRUE(contains_card_number("4111  1111 - 1111 1111"));
  EXPECT_TRUE(contains_card_number("4111.1111.1111.1111"));
  EXPECT_TRUE(contains_card_number("x4111 1111 1111 1111x"));
  EXPECT_TRUE(contains_card_number("card: 4242424242424242, exp 12/30"));
  EXPECT_TRUE(contains_card_number("Flat 2, 3782 822463 10005 High St"));
}

TEST(CardNumberTest, LeavesOtherNumbersAlone) {
  EXPECT_FALSE(contains_card_number("4111111111111112"));       // fails Luhn
  EXPECT_FALSE(contains_card_number("411111111111"));           // too short
  EXPECT_FALSE(contains_card_number("41111111111111111111"));   // 20 digits: not a card
  EXPECT_FALSE(contains_card_number("+4930 1234567890123"));    // international phone number
  EXPECT_FALSE(contains_card_number("020 7946 0958"));

  EXPECT_FALSE(contains_card_number("tok_abc123"));
  EXPECT_FALSE(contains_card_number(""));
}

}  // namespace
}  // namespace privox::privacy
