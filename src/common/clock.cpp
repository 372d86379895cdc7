#include "common/clock.h"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstdio>

namespace privox {

MachineClock::MachineClock() {
#ifdef PRIVOX_TEST_HOOKS
  if (const char* skew = std::getenv("PRIVOX_TEST_CLOCK_SKEW_MS"); skew && *skew) {
    const std::string_view text(skew);
    int64_t ms = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc() && end == text.data() + text.size()) skew_us_ = ms * 1000;
  }
#endif
}

int64_t MachineClock::now_us() const { return SystemClock().now_us() + skew_us_; }

ProcessClock::ProcessClock() {
#ifdef PRIVOX_TEST_HOOKS
  if (const char* start = std::getenv("PRIVOX_TEST_NOW"); start && *start)
    if (const std::optional<int64_t> at = parse_time(start)) offset_us_ = *at - machine_.now_us();
#endif
}

int64_t ProcessClock::now_us() const { return machine_.now_us() + offset_us_; }

int64_t SystemClock::now_us() const {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

CivilDate utc_date(int64_t us) {
  using namespace std::chrono;
  const sys_days days = floor<std::chrono::days>(sys_time<microseconds>(microseconds(us)));
  const year_month_day ymd(days);
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day())};
}

std::string format_utc(int64_t us) {
  using namespace std::chrono;
  const sys_time<microseconds> t{microseconds(us)};
  const sys_days days = floor<std::chrono::days>(t);
  const year_month_day ymd(days);
  const hh_mm_ss<microseconds> tod(t - days);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                static_cast<int>(tod.seconds().count()),
                static_cast<long long>(tod.subseconds().count()));
  return buf;
}

std::optional<CivilDate> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto digits = [&](size_t from, size_t n) -> std::optional<int> {
    int v = 0;
    for (size_t i = from; i < from + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const auto y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
  if (!y || !m || !d) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*y), std::chrono::month(static_cast<unsigned>(*m)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  return CivilDate{*y, static_cast<unsigned>(*m), static_cast<unsigned>(*d)};
}

std::string format_date(const CivilDate& date) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", date.year, date.month, date.day);
  return buf;
}

int years_between(const CivilDate& birth, const CivilDate& on) {
  int years = on.year - birth.year;
  if (on.month < birth.month || (on.month == birth.month && on.day < birth.day)) --years;
  return years;
}

std::optional<int64_t> parse_time(std::string_view text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos && text.size() <= 12) {
    int64_t seconds = 0;
    std::from_chars(text.data(), text.data() + text.size(), seconds);
    return seconds * 1'000'000;
  }
  const auto date = parse_date(text.substr(0, 10));
  if (!date) return std::nullopt;
  const std::chrono::sys_days days{std::chrono::year_month_day{std::chrono::year(date->year),
                                                               std::chrono::month(date->month),
                                                               std::chrono::day(date->day)}};
  int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(days.time_since_epoch()).count();
  std::string_view rest = text.substr(10);
  if (rest.empty()) return us;
  if (rest.front() != 'T' && rest.front() != ' ') return std::nullopt;
  rest.remove_prefix(1);
  if (!rest.empty() && rest.back() == 'Z') rest.remove_suffix(1);
  int hh = 0, mm = 0, ss = 0;
  auto two = [&](size_t at, int& v, int max) {
    if (rest.size() < at + 2) return false;
    const auto [end, ec] = std::from_chars(rest.data() + at, rest.data() + at + 2, v);
    return ec == std::errc() && end == rest.data() + at + 2 && v <= max;
  };
  if (!two(0, hh, 23) || rest.size() < 5 || rest[2] != ':' || !two(3, mm, 59)) return std::nullopt;
  size_t used = 5;
  if (rest.size() > 5) {
    if (rest[5] != ':' || !two(6, ss, 60)) return std::nullopt;
    used = 8;
  }
  int64_t fraction = 0;
  if (rest.size() > used) {
    if (rest[used] != '.') return std::nullopt;
    const std::string_view digits = rest.substr(used + 1, 6);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos ||
        rest.size() > used + 1 + 6)
      return std::nullopt;
    std::from_chars(digits.data(), digits.data() + digits.size(), fraction);
    for (size_t i = digits.size(); i < 6; ++i) fraction *= 10;
  }
  return us + ((hh * 60 + mm) * 60 + ss) * int64_t{1'000'000} + fraction;
}

}  // namespace privox
