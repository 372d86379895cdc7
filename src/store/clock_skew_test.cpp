#include "store/clock_skew.h"

#include <gtest/gtest.h>

#include "store/test_stores.h"

namespace privox::store {
namespace {

class ClockSkewTest : public MigratedStoreTest {};

TEST_P(ClockSkewTest, AMachineInStepWithTheStoreIsNotSkewed) {
  const Result<ClockOffset> reading = measure_clock_offset(*store_, SystemClock());
  ASSERT_TRUE(reading.ok()) << reading.error().describe();
  // The test's PostgreSQL runs on this machine, on the same clock.
  EXPECT_LT(std::llabs(reading->offset_us), 500'000);
  EXPECT_GE(reading->uncertainty_us, 0);
  EXPECT_FALSE(clock_skewed(*reading, 1'000'000));
  EXPECT_TRUE(check_clock_skew(*store_, SystemClock(), 1'000'000).ok());
}

TEST_P(ClockSkewTest, AMachineAMinuteAheadIsRefusedByPostgresAndNeverBySqlite) {
  const FakeClock ahead(SystemClock().now_us() + 60'000'000);
  const Result<ClockOffset> reading = measure_clock_offset(*store_, ahead);
  ASSERT_TRUE(reading.ok()) << reading.error().describe();
  const Status checked = check_clock_skew(*store_, ahead, 1'000'000);
  if (GetParam() == Backend::sqlite) {
    // The file is on this machine, read by this node alone: there is no other clock to be off from.
    EXPECT_EQ(reading->offset_us, 0);
    EXPECT_TRUE(checked.ok());
    return;
  }
  EXPECT_NEAR(static_cast<double>(reading->offset_us), -60e6, 1e6);
  EXPECT_TRUE(clock_skewed(*reading, 1'000'000));
  EXPECT_FALSE(clock_skewed(*reading, 61'000'000)) << "within a limit wider than the skew";
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, ErrorCode::conflict);
  EXPECT_NE(checked.error().message.find("s ahead of the store's"), std::string::npos) << checked.error().message;
  EXPECT_NE(checked.error().message.find("sip.max_clock_skew_ms (1000 ms)"), std::string::npos)
      << checked.error().message;
}

INSTANTIATE_TEST_SUITE_P(Backends, ClockSkewTest, ::testing::Values(Backend::sqlite, Backend::postgresql),
                         backend_name);

TEST(ClockSkew, ASlowReadingAloneNeverMakesANodeSkewed) {
  EXPECT_FALSE(clock_skewed({.offset_us = 1'500'000, .uncertainty_us = 600'000}, 1'000'000));
  EXPECT_TRUE(clock_skewed({.offset_us = 1'700'000, .uncertainty_us = 600'000}, 1'000'000));
  EXPECT_FALSE(clock_skewed({.offset_us = -1'500'000, .uncertainty_us = 600'000}, 1'000'000));
  EXPECT_TRUE(clock_skewed({.offset_us = -1'700'000, .uncertainty_us = 600'000}, 1'000'000));
}

TEST(ClockSkew, SaysWhichWayTheMachineIsOff) {
  EXPECT_EQ(describe_skew({.offset_us = 2'500'000}), "2.5 s behind");
  EXPECT_EQ(describe_skew({.offset_us = -3'000'000}), "3.0 s ahead of");
}

}  // namespace
}  // namespace privox::store
