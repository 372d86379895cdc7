#include "common/clock.h"

#include <gtest/gtest.h>

#include <cstdlib>

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

TEST(ClockTest, OffsetClockFollowsItsBaseByTheOffsetLastSet) {
  FakeClock base(1'000'000);
  OffsetClock store_time(base);
  EXPECT_EQ(store_time.now_us(), 1'000'000);
  store_time.set_offset_us(-250);
  base.advance_us(10);
  EXPECT_EQ(store_time.now_us(), 1'000'010 - 250);
  EXPECT_EQ(store_time.offset_us(), -250);
}

TEST(ClockTest, MachineClockIsTheSystemClockUnlessATestSkewsIt) {
  // The unit tests run without PRIVOX_TEST_CLOCK_SKEW_MS.
  const int64_t before = SystemClock().now_us();
  const int64_t machine = MachineClock().now_us();
  EXPECT_GE(machine, before);
  EXPECT_LT(machine, SystemClock().now_us() + 1);
  // A test build moves it (and the process's clock on it) as an end-to-end test asks.
  ::setenv("PRIVOX_TEST_CLOCK_SKEW_MS", "-30000", 1);
  const int64_t skewed = MachineClock().now_us() - SystemClock().now_us();
  const int64_t process = ProcessClock().now_us() - SystemClock().now_us();
  ::setenv("PRIVOX_TEST_CLOCK_SKEW_MS", "thirty", 1);
  const int64_t unreadable = MachineClock().now_us() - SystemClock().now_us();
  ::unsetenv("PRIVOX_TEST_CLOCK_SKEW_MS");
  EXPECT_NEAR(static_cast<double>(skewed), -30e6, 1e5);
  EXPECT_NEAR(static_cast<double>(process), -30e6, 1e5);
  EXPECT_NEAR(static_cast<double>(unreadable), 0, 1e5) << "a value that is not a number moves nothing";
}

}  // namespace
}  // namespace privox
