#pragma once
// A company's business hours: for each weekday (Monday first) zero or more intervals of local
// time "HH:MM-HH:MM" (start before end, inside the day, "24:00" ending at midnight, at most 4 a
// day, none overlapping or touching another), and holidays (a date and a short label, closed all
// day). Judged in the company's time zone (accounts/time_zone.h). A company that never set its
// hours has none: the callers decide what that means (the fraud rules fall back to
// fraud.hours.start..end; the receptionist to its default menu). Holidays are kept either way.
//
// Thread-safety: the functions are pure; BusinessHours keeps all state in the store.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "accounts/time_zone.h"
#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::accounts {

constexpr size_t kMaxIntervalsPerDay = 4;
constexpr size_t kMaxHolidays = 100;
constexpr size_t kMaxHolidayLabel = 60;

struct OpenInterval {
  int start_minute = 0, end_minute = 0;  // minutes after local midnight; end up to 1440
  bool operator==(const OpenInterval&) const = default;
};
using WeekHours = std::array<std::vector<OpenInterval>, 7>;  // [0] Monday .. [6] Sunday

struct Holiday {
  std::string date;  // YYYY-MM-DD, local
  std::string label;
  bool operator==(const Holiday&) const = default;
};

struct CompanyHours {
  std::optional<WeekHours> week;  // nullopt: never set
  std::vector<Holiday> holidays;  // by date
};

// "mon" .. "sun" for 0..6; the day's index for a key (case-insensitive), nullopt for another.
std::string_view weekday_key(size_t day);
std::optional<size_t> weekday_of(std::string_view key);
// One day's intervals from "09:00-12:30,13:30-17:30" ("" or "closed": none), checked as
// check_week does; errors name `field` (such as hours.tue).
Result<std::vector<OpenInterval>> parse_day_hours(std::string_view text, std::string_view field);
std::string format_interval(const OpenInterval& interval);  // "09:00-12:30"
// Checks every day (errors on hours.mon ..) and the holidays (errors on `holidays`, naming the
// date or label at fault), sorting intervals and holidays.
Status check_hours(CompanyHours& hours);

// Whether the company is open at `instant_us` (UTC microseconds): not on a holiday and inside one
// of the day's intervals, both judged in `zone`.
bool is_open(const WeekHours& week, const std::vector<Holiday>& holidays, const TimeZone& zone, int64_t instant_us);

// Inside the caller's transaction: one company's hours, and every company that has set its week
// (what the fraud scanner reads once per scan).
Result<CompanyHours> read_company_hours(store::Session& s, const std::string& company_id);
Result<std::unordered_map<std::string, CompanyHours>> companies_with_hours(store::Session& s);

class BusinessHours {
 public:
  BusinessHours(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), clock_(clock), audit_(keys, clock) {}

  // not_found on `company`.
  Result<CompanyHours> get(const std::string& company_id);
  // Changes the company's hours with `change` (given the current ones), checks the result and
  // writes it whole, with one audit entry "company.hours" holding counts only, in one transaction
  // with the company's row locked. Returns what was stored. Errors: those of `change`,
  // check_hours's, not_found on `company`.
  Result<CompanyHours> update(const std::string& company_id, const std::function<Status(CompanyHours&)>& change,
                              const std::string& actor);
  // Replaces week and holidays (the portal's PUT); `hours.week` nullopt clears the week.
  Result<CompanyHours> set(const std::string& company_id, CompanyHours hours, const std::string& actor);

 private:
  store::Store& store_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::accounts
