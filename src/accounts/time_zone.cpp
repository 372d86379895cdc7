// Time zones through ICU (time_zone.h).
#include "accounts/time_zone.h"

#include <fmt/format.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

namespace privox::accounts {
namespace {

constexpr int64_t kTzDayUs = 86'400'000'000;
constexpr int64_t kTzHourUs = 3'600'000'000;

int64_t floor_day(int64_t us) { return us - (((us % kTzDayUs) + kTzDayUs) % kTzDayUs); }

}  // namespace

struct TimeZone::Zone {
  std::unique_ptr<const icu::TimeZone> icu;
};

Result<TimeZone> TimeZone::find(std::string_view name, std::string_view field) {
  if (name == "UTC") return utc();
  const icu::UnicodeString id = icu::UnicodeString::fromUTF8(icu::StringPiece(name.data(), static_cast<int32_t>(name.size())));
  std::unique_ptr<icu::TimeZone> zone(icu::TimeZone::createTimeZone(id));
  // ICU answers an unknown id with its "Etc/Unknown" zone rather than an error; a name must also
  // be the zone's own id (or a link the database keeps), so "europe/london" or "GMT+5" is refused.
  icu::UnicodeString canonical;
  UBool system = 0;
  UErrorCode status = U_ZERO_ERROR;
  icu::TimeZone::getCanonicalID(id, canonical, system, status);
  if (name.empty() || !zone || *zone == icu::TimeZone::getUnknown() || U_FAILURE(status) || system == 0 ||
      name.find('/') == std::string_view::npos)
    return invalid(std::string(field), fmt::format("'{}' is not a time zone of the IANA database (such as Europe/London)",
                                                   name));
  auto shared = std::make_shared<Zone>();
  shared->icu.reset(zone.release());
  return TimeZone(std::string(name), std::move(shared));
}

TimeZone TimeZone::utc() { return TimeZone("UTC", nullptr); }

int64_t TimeZone::offset_us(int64_t utc_us) const {
  if (!zone_) return 0;
  int32_t raw = 0, dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  zone_->icu->getOffset(static_cast<UDate>(utc_us) / 1000.0, false, raw, dst, status);
  if (U_FAILURE(status)) return 0;
  return (int64_t{raw} + dst) * 1000;
}

int64_t TimeZone::local_hour(int64_t utc_us) const {
  const int64_t local = local_us(utc_us);
  return (local - floor_day(local)) / kTzHourUs;
}

int64_t TimeZone::local_day_start(int64_t utc_us) const {
  const int64_t local_midnight = floor_day(local_us(utc_us));
  // The offset at midnight itself, which differs from now's on a day the clocks change.
  return local_midnight - offset_us(local_midnight - offset_us(utc_us));
}

}  // namespace privox::accounts
