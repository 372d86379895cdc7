// Companies' business hours and holidays (business_hours.h).
#include "accounts/business_hours.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>

#include "accounts/accounts.h"
#include "accounts/validation.h"
#include "privacy/audit_record.h"

namespace privox::accounts {
namespace {

constexpr std::array<std::string_view, 7> kWeekdayKeys = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr int64_t kHoursDayUs = 86'400'000'000;
constexpr int64_t kHoursMinuteUs = 60'000'000;
constexpr int kMinutesPerDay = 1440;

std::string day_field(size_t day) { return fmt::format("hours.{}", kWeekdayKeys[day]); }

// "HH:MM" as minutes after midnight; 24:00 only where `end`.
std::optional<int> parse_clock(std::string_view text, bool end) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (const size_t i : {0, 1, 3, 4})
    if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) return std::nullopt;
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (minutes > 59 || hours > 24 || (hours == 24 && (minutes != 0 || !end))) return std::nullopt;
  return hours * 60 + minutes;
}

Status check_day(std::vector<OpenInterval>& intervals, const std::string& field) {
  if (intervals.size() > kMaxIntervalsPerDay)
    return invalid(field, fmt::format("at most {} intervals a day", kMaxIntervalsPerDay));
  for (const OpenInterval& i : intervals)
    if (i.start_minute < 0 || i.end_minute > kMinutesPerDay || i.start_minute >= i.end_minute)
      return invalid(field, fmt::format("{} must start before it ends, within the day", format_interval(i)));
  std::sort(intervals.begin(), intervals.end(),
            [](const OpenInterval& a, const OpenInterval& b) { return a.start_minute < b.start_minute; });
  for (size_t i = 1; i < intervals.size(); ++i)
    if (intervals[i].start_minute <= intervals[i - 1].end_minute)
      return invalid(field, fmt::format("{} overlaps or touches {}; join them into one interval",
                                        format_interval(intervals[i]), format_interval(intervals[i - 1])));
  return {};
}

bool valid_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i = 0; i < text.size(); ++i)
    if (i != 4 && i != 7 && std::isdigit(static_cast<unsigned char>(text[i])) == 0) return false;
  const auto number = [&](size_t at, size_t n) { return std::stoi(std::string(text.substr(at, n))); };
  const std::chrono::year_month_day date{std::chrono::year(number(0, 4)),
                                         std::chrono::month(static_cast<unsigned>(number(5, 2))),
                                         std::chrono::day(static_cast<unsigned>(number(8, 2)))};
  return date.ok();
}

Status check_holidays(std::vector<Holiday>& holidays) {
  if (holidays.size() > kMaxHolidays) return invalid("holidays", fmt::format("at most {} holidays", kMaxHolidays));
  std::set<std::string> seen;
  for (const Holiday& h : holidays) {
    if (!valid_date(h.date)) return invalid("holidays", fmt::format("'{}' is not a date YYYY-MM-DD", h.date));
    if (h.label.size() > kMaxHolidayLabel || std::any_of(h.label.begin(), h.label.end(), [](char c) {
          return std::iscntrl(static_cast<unsigned char>(c)) != 0;
        }))
      return invalid("holidays", fmt::format("the label of {} must be at most {} characters, on one line", h.date,
                                             kMaxHolidayLabel));
    if (!seen.insert(h.date).second) return invalid("holidays", fmt::format("{} is listed twice", h.date));
  }
  std::sort(holidays.begin(), holidays.end(), [](const Holiday& a, const Holiday& b) { return a.date < b.date; });
  return {};
}

std::string local_date(int64_t days_since_epoch) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(days_since_epoch))};
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

Status write_company_hours(store::Session& s, const std::string& company_id, const CompanyHours& hours,
                           int64_t now_us) {
  for (const char* table : {"company_hours_intervals", "company_holidays", "company_hours"})
    PRIVOX_TRY(s.exec(fmt::format("DELETE FROM {} WHERE company_id = ?", table), {company_id}));
  if (hours.week) {
    PRIVOX_TRY(s.exec("INSERT INTO company_hours (company_id, set_at_us) VALUES (?, ?)", {company_id, now_us}));
    for (size_t day = 0; day < hours.week->size(); ++day)
      for (const OpenInterval& i : (*hours.week)[day])
        PRIVOX_TRY(s.exec("INSERT INTO company_hours_intervals (company_id, weekday, start_minute, end_minute) "
                          "VALUES (?, ?, ?, ?)",
                          {company_id, static_cast<int64_t>(day), int64_t{i.start_minute}, int64_t{i.end_minute}}));
  }
  for (const Holiday& h : hours.holidays)
    PRIVOX_TRY(s.exec("INSERT INTO company_holidays (company_id, holiday_date, label) VALUES (?, ?, ?)",
                      {company_id, h.date, h.label}));
  return {};
}

size_t interval_count(const CompanyHours& hours) {
  size_t n = 0;
  if (hours.week)
    for (const auto& day : *hours.week) n += day.size();
  return n;
}

}  // namespace

std::string_view weekday_key(size_t day) { return kWeekdayKeys.at(day); }

std::optional<size_t> weekday_of(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto it = std::find(kWeekdayKeys.begin(), kWeekdayKeys.end(), lower);
  if (it == kWeekdayKeys.end()) return std::nullopt;
  return static_cast<size_t>(it - kWeekdayKeys.begin());
}

std::string format_interval(const OpenInterval& i) {
  return fmt::format("{:02d}:{:02d}-{:02d}:{:02d}", i.start_minute / 60, i.start_minute % 60, i.end_minute / 60,
                     i.end_minute % 60);
}

Result<std::vector<OpenInterval>> parse_day_hours(std::string_view text, std::string_view field) {
  std::vector<OpenInterval> out;
  if (text.empty() || text == "closed") return out;
  for (bool more = true; more;) {
    const size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    more = comma != std::string_view::npos;
    text = more ? text.substr(comma + 1) : std::string_view{};
    const size_t dash = part.find('-');
    const auto start = parse_clock(part.substr(0, dash), false);
    const auto end = dash == std::string_view::npos ? std::nullopt : parse_clock(part.substr(dash + 1), true);
    if (!start || !end)
      return invalid(std::string(field), fmt::format("'{}' is not an interval HH:MM-HH:MM (such as 09:00-17:30)", part));
    out.push_back({*start, *end});
  }
  PRIVOX_TRY(check_day(out, std::string(field)));
  return out;
}

Status check_hours(CompanyHours& hours) {
  if (hours.week)
    for (size_t day = 0; day < hours.week->size(); ++day) PRIVOX_TRY(check_day((*hours.week)[day], day_field(day)));
  return check_holidays(hours.holidays);
}

bool is_open(const WeekHours& week, const std::vector<Holiday>& holidays, const TimeZone& zone, int64_t instant_us) {
  const int64_t local = zone.local_us(instant_us);
  const int64_t days = (local - (((local % kHoursDayUs) + kHoursDayUs) % kHoursDayUs)) / kHoursDayUs;
  const std::string date = local_date(days);
  if (std::any_of(holidays.begin(), holidays.end(), [&](const Holiday& h) { return h.date == date; })) return false;
  const auto weekday = static_cast<size_t>((((days + 3) % 7) + 7) % 7);  // 1970-01-01 was a Thursday
  const int64_t minute = (local - days * kHoursDayUs) / kHoursMinuteUs;
  return std::any_of(week[weekday].begin(), week[weekday].end(),
                     [&](const OpenInterval& i) { return minute >= i.start_minute && minute < i.end_minute; });
}

Result<CompanyHours> read_company_hours(store::Session& s, const std::string& company_id) {
  CompanyHours out;
  PRIVOX_ASSIGN(const store::Rows set, s.query("SELECT company_id FROM company_hours WHERE company_id = ?", {company_id}));
  if (!set.empty()) {
    out.week.emplace();
    PRIVOX_ASSIGN(const store::Rows rows,
                  s.query("SELECT weekday, start_minute, end_minute FROM company_hours_intervals WHERE company_id = ? "
                          "ORDER BY weekday, start_minute",
                          {company_id}));
    for (const store::Row& r : rows)
      (*out.week)[static_cast<size_t>(r.i64(0))].push_back(
          {static_cast<int>(r.i64(1)), static_cast<int>(r.i64(2))});
  }
  PRIVOX_ASSIGN(const store::Rows rows,
                s.query("SELECT holiday_date, label FROM company_holidays WHERE company_id = ? ORDER BY holiday_date",
                        {company_id}));
  for (const store::Row& r : rows) out.holidays.push_back({r.text(0), r.text(1)});
  return out;
}

Result<std::unordered_map<std::string, CompanyHours>> companies_with_hours(store::Session& s) {
  std::unordered_map<std::string, CompanyHours> out;
  PRIVOX_ASSIGN(const store::Rows rows, s.query("SELECT company_id FROM company_hours ORDER BY company_id"));
  for (const store::Row& r : rows) {
    PRIVOX_ASSIGN(CompanyHours hours, read_company_hours(s, r.text(0)));
    out.emplace(r.text(0), std::move(hours));
  }
  return out;
}

Result<CompanyHours> BusinessHours::get(const std::string& company_id) {
  PRIVOX_ASSIGN(const std::string checked, check_id("company", company_id));
  PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
  PRIVOX_TRY(find_company(*tx, checked));
  return read_company_hours(*tx, checked);
}

Result<CompanyHours> BusinessHours::update(const std::string& company_id,
                                           const std::function<Status(CompanyHours&)>& change,
                                           const std::string& actor) {
  PRIVOX_ASSIGN(const std::string checked, check_id("company", company_id));
  CompanyHours stored;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(lock_company(s, checked));
    PRIVOX_ASSIGN(stored, read_company_hours(s, checked));
    PRIVOX_TRY(change(stored));
    PRIVOX_TRY(check_hours(stored));
    PRIVOX_TRY(write_company_hours(s, checked, stored, clock_.now_us()));
    nlohmann::json detail = {{"intervals", interval_count(stored)},
                             {"holidays", stored.holidays.size()},
                             {"week_set", stored.week.has_value()}};
    PRIVOX_TRY(audit_.append(s, {actor, "company.hours", checked, "", std::move(detail)}));
    return {};
  }));
  return stored;
}

Result<CompanyHours> BusinessHours::set(const std::string& company_id, CompanyHours hours, const std::string& actor) {
  return update(
      company_id,
      [&](CompanyHours& current) -> Status {
        current = std::move(hours);
        return {};
      },
      actor);
}

}  // namespace privox::accounts
