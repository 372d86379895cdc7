// Companies' time zones: offsets with daylight saving, local days and hours, unknown names.
#include "accounts/time_zone.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace privox::accounts {
namespace {

constexpr int64_t kHour = 3'600'000'000;

TEST(TimeZoneTest, LondonKeepsSummerTimeAndUtcHasNone) {
  const TimeZone london = TimeZone::find("Europe/London").value();
  EXPECT_EQ(london.name(), "Europe/London");
  EXPECT_EQ(london.offset_us(*parse_time("2026-01-15T12:00:00Z")), 0);
  EXPECT_EQ(london.offset_us(*parse_time("2026-07-15T12:00:00Z")), kHour);
  EXPECT_EQ(london.local_hour(*parse_time("2026-07-15T23:30:00Z")), 0) << "half past midnight, BST";
  // The day the clocks go forward (29 March 2026, 01:00 UTC) starts at midnight GMT.
  EXPECT_EQ(london.local_day_start(*parse_time("2026-03-29T20:00:00Z")), *parse_time("2026-03-29T00:00:00Z"));
  EXPECT_EQ(london.local_day_start(*parse_time("2026-07-15T23:30:00Z")), *parse_time("2026-07-15T23:00:00Z"));
  const TimeZone utc = TimeZone::utc();
  EXPECT_EQ(utc.offset_us(*parse_time("2026-07-15T12:00:00Z")), 0);
  EXPECT_EQ(TimeZone::find("UTC").value().name(), "UTC");
}

TEST(TimeZoneTest, ZonesWestOfUtcAndHalfHours) {
  const TimeZone ny = TimeZone::find("America/New_York").value();
  EXPECT_EQ(ny.local_hour(*parse_time("2026-01-15T03:00:00Z")), 22);
  EXPECT_EQ(ny.local_day_start(*parse_time("2026-01-15T03:00:00Z")), *parse_time("2026-01-14T05:00:00Z"));
  EXPECT_EQ(TimeZone::find("Asia/Kolkata").value().offset_us(*parse_time("2026-01-15T03:00:00Z")), 5 * kHour + kHour / 2);
}

TEST(TimeZoneTest, AnUnknownZoneIsRefusedByName) {
  for (const char* bad : {"Mars/Olympus_Mons", "", "Europe/Londn", "EST", "+01:00"}) {
    const auto found = TimeZone::find(bad);
    ASSERT_FALSE(found.ok()) << bad;
    EXPECT_EQ(found.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(found.error().field, "time_zone");
    EXPECT_NE(found.error().message.find(std::string("'") + bad + "'"), std::string::npos) << found.error().message;
  }
}

}  // namespace
}  // namespace privox::accounts
