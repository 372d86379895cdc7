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

// This machine's clock: the system clock, in every build an operator runs. A test build
// (PRIVOX_TEST_HOOKS) moves it by PRIVOX_TEST_CLOCK_SKEW_MS (signed milliseconds), so that an
// end-to-end test can run a node whose clock is wrong: libfaketime, the usual tool, hangs in a
// sanitised build. What a node compares with the store's clock (store/clock_skew.h).
class MachineClock final : public Clock {
 public:
  MachineClock();
  int64_t now_us() const override;

 private:
  int64_t skew_us_ = 0;
};

// This machine's clock moved by a fixed offset: what the CLI and serve run on. The offset is 0 in
// every build an operator runs; only a test build (PRIVOX_TEST_HOOKS) lets end-to-end tests start
// it elsewhere, through the environment variable PRIVOX_TEST_NOW ("2024-01-02" or an ISO time),
// so that dates such as a rights request's deadline can be tested from outside.
class ProcessClock final : public Clock {
 public:
  ProcessClock();
  int64_t now_us() const override;

 private:
  MachineClock machine_;
  int64_t offset_us_ = 0;
};

// Another clock moved by an offset that may change while it runs: a node's time in the store's
// terms (sip/service.cpp keeps the offset measured), so that what nodes compare across machines,
// such as heartbeats, does not depend on each machine's own clock being right.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(const Clock& base) : base_(base) {}
  int64_t now_us() const override { return base_.now_us() + offset_us_.load(std::memory_order_relaxed); }
  void set_offset_us(int64_t offset_us) { offset_us_.store(offset_us, std::memory_order_relaxed); }
  int64_t offset_us() const { return offset_us_.load(std::memory_order_relaxed); }

 private:
  const Clock& base_;
  std::atomic<int64_t> offset_us_{0};
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
  // clang-tidy 14 mistakes the defaulted comparison's literal 0 for a null pointer.
  auto operator<=>(const CivilDate&) const = default;  // NOLINT(modernize-use-nullptr)
};

// Parses exactly YYYY-MM-DD and rejects dates that do not exist (2023-02-29).
std::optional<CivilDate> parse_date(std::string_view text);
CivilDate utc_date(int64_t us);
std::string format_date(const CivilDate& date);
// "2026-11-26", "2026-11-26T10:00:00Z" (fraction allowed) or seconds since the epoch.
std::optional<int64_t> parse_time(std::string_view text);
// Whole years from `birth` to `on`, counting a birthday only once it is reached.
int years_between(const CivilDate& birth, const CivilDate& on);

}  // namespace privox
