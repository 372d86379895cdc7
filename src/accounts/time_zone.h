#pragma once
// A company's time zone (an IANA name such as Europe/London; UTC when none was chosen), for the
// rules that care about its business hours: the fraud rules' off-hours rule today, call features
// later. The zone data is ICU's (libicu, which libphonenumber already brings): a maintained copy
// of the IANA database, so privox parses no zone files of its own.
//
// Thread-safety: a TimeZone is immutable; copies share one ICU zone, and every method is safe
// from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace privox::accounts {

class TimeZone {
 public:
  // The zone named `name` (IANA, case as the database spells it). invalid_argument on `field`,
  // naming the zone, for a name the database does not know (including an empty one).
  static Result<TimeZone> find(std::string_view name, std::string_view field = "time_zone");
  static TimeZone utc();

  const std::string& name() const { return name_; }
  // Local time minus UTC at the instant `utc_us` (daylight saving included), in microseconds.
  int64_t offset_us(int64_t utc_us) const;
  // The instant as local wall-clock microseconds since 1970-01-01T00:00 local.
  int64_t local_us(int64_t utc_us) const { return utc_us + offset_us(utc_us); }
  // The local hour of the day (0-23) at the instant.
  int64_t local_hour(int64_t utc_us) const;
  // The UTC instant the local day containing `utc_us` began (local midnight).
  int64_t local_day_start(int64_t utc_us) const;

 private:
  struct Zone;
  TimeZone(std::string name, std::shared_ptr<const Zone> zone) : name_(std::move(name)), zone_(std::move(zone)) {}

  std::string name_;
  // Shared: the ICU zone is immutable once built and costly to build; copies of a company's zone
  // use the same one. Null: UTC.
  std::shared_ptr<const Zone> zone_;
};

}  // namespace privox::accounts
