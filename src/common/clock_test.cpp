#include "common/clock.h"

#include <gtest/gtest.h>

namespace privox {
namespace {

TEST(ClockTest, ParsesOnlyRealDates) {
  EXPECT_EQ(parse_date("2024-02-29"), (CivilDate{2024, 2, 29}));
  EXPECT_FALSE(parse_date("2023-02-29"));
  EXPECT_FALSE(parse_date("2023-13-01"));
  EXPECT_FALSE(parse_date("2023-1-01"));
  EXPECT_FALSE(parse_date("2023-01-01x"));
  EXPECT_FALSE(parse_date("abcd-ef-gh"));
  EXPECT_FALSE(parse_date(""));
}

TEST(ClockTest, CountsYearsOnlyOnceTheBirthdayIsReached) {
  EXPECT_EQ(years_between({2008, 11, 27}, {2026, 11, 26}), 17);
  EXPECT_EQ(years_between({2008, 11, 26}, {2026, 11, 26}), 18);
  EXPECT_EQ(years_between({2008, 2, 29}, {2026, 2, 28}), 17);
  EXPECT_EQ(years_between({2008, 2, 29}, {2026, 3, 1}), 18);
}

TEST(ClockTest, FormatsUtcWithMicroseconds) {
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_utc(1'796'342'212'123'456), "2026-12-03T23:56:52.123456Z");
  EXPECT_EQ(utc_date(1'796'342'212'123'456), (CivilDate{2026, 12, 3}));
}

TEST(ClockTest, FakeClockStaysWhereItIsPut) {
  FakeClock clock(1000);
  EXPECT_EQ(clock.now_us(), 1000);
  clock.advance_us(5);
  EXPECT_EQ(clock.now_us(), 1005);
}

}  // namespace
}  // namespace privox
