#include "numbers/number_prefix.h"

#include <gtest/gtest.h>

namespace privox::numbers {
namespace {

TEST(NumberPrefixTest, PublicNumbersKeepCountryCodeAndThreeNationalDigits) {
  EXPECT_EQ(number_prefix("+442071234567"), "+44207");
  EXPECT_EQ(number_prefix("+14155550123"), "+1415");
  EXPECT_EQ(number_prefix("+33612345678"), "+33612");
  // Carriers may send E.164 without the '+'.
  EXPECT_EQ(number_prefix("442071234567"), "+44207");
}

TEST(NumberPrefixTest, ShortNationalNumbersKeepOnlyTheCountryCode) {
  EXPECT_EQ(number_prefix("+35412345"), "+354");  // 5 national digits: cutting 2 would leave too few
}

TEST(NumberPrefixTest, ExtensionsAddressesWithheldAndGarbageKeepNothing) {
  EXPECT_EQ(number_prefix("201"), std::nullopt);
  EXPECT_EQ(number_prefix("12345678"), std::nullopt);
  EXPECT_EQ(number_prefix("sip:alice@example.com"), std::nullopt);
  EXPECT_EQ(number_prefix("anonymous"), std::nullopt);
  EXPECT_EQ(number_prefix(""), std::nullopt);
  EXPECT_EQ(number_prefix("+"), std::nullopt);
  EXPECT_EQ(number_prefix("+44 20 7123"), std::nullopt);
  EXPECT_EQ(number_prefix("+999123456789"), std::nullopt);  // no such country code
  EXPECT_EQ(number_prefix("+" + std::string(30, '4')), std::nullopt);
  EXPECT_EQ(number_prefix("+442071234567", /*withheld=*/true), std::nullopt);
}

TEST(NumberPrefixTest, TheWritePathStoresEmptyTextWhenNothingIsKept) {
  EXPECT_EQ(prefix_at_write("+442071234567"), "+44207");
  EXPECT_EQ(prefix_at_write("101"), "");
  EXPECT_EQ(prefix_at_write("+442071234567", /*withheld=*/true), "");
}

}  // namespace
}  // namespace privox::numbers
