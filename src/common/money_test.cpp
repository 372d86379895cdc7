#include "common/money.h"

#include <gtest/gtest.h>

namespace privox {
namespace {

TEST(MoneyTest, ReadsAsPeopleWriteIt) {
  EXPECT_EQ(format_money(1000, "GBP"), "\u00a310.00");
  EXPECT_EQ(format_money(5, "EUR"), "\u20ac0.05");
  EXPECT_EQ(format_money(123456, "USD"), "$1234.56");
  EXPECT_EQ(format_money(250, "CHF"), "2.50 CHF");
  EXPECT_EQ(format_money(0, "GBP"), "\u00a30.00");
  EXPECT_EQ(format_money(-1050, "GBP"), "\u00a3-10.50") << "a credit";
}

}  // namespace
}  // namespace privox
