#pragma once
// Time behind an interface, so tests can pin "now" (age checks, retention, audit timestamps).
// Times are microseconds since the Unix epoch, UTC, on every backend and in every format.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace privox {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_us() const = 0;  // thread-safe
};

class SystemClock final : public Clock {
 public:
  int64_t now_us() const override;
};

// A clock that stays where a test puts it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_us) : now_(now_us) {}
  int64_t now_us() const override { return now_.load(); }
  void set_us(int64_t now_us) { now_.store(now_us); }
  void advance_us(int64_t delta) { now_.fetch_add(delta); }

 private:
  std::atomic<int64_t> now_;
};

// "2026-11-26T22:56:52.123456Z"
std::string format_utc(int64_t us);

struct CivilDate {
  int year = 0;
  unsigned month = 0;
  unsigned day = 0;
  auto operator<=>(const CivilDate&) const = default;
};

// Parses exactly YYYY-MM-DD and rejects dates that do not exist (2023-02-29).
std::optional<CivilDate> parse_date(std::string_view text);
CivilDate utc_date(int64_t us);
std::string format_date(const CivilDate& date);
// Whole years from `birth` to `on`, counting a birthday only once it is reached.
int years_between(const CivilDate& birth, const CivilDate& on);

}  // namespace privox
