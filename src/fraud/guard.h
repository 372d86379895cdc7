#pragma once
// The live part of the fraud rules, on the proxy's call set-up path: it must cost next to nothing
// per call, so it never touches the store. LineGuard holds the lines that open alerts suspend or
// throttle (replaced from the store by LiveRules every few seconds and after each local change),
// and counts each line's and company's new calls in the last minute and calls in progress. A
// call that crosses a limit trips the rule: the trip goes to LiveRules (which opens the alert in
// the store, audited) and, when the rule's action is suspend or throttle, the line is blocked here
// at once, before the store has it.
//
//   suspended line: its new calls are refused, 403 "line suspended for suspected fraud";
//   throttled line: fraud.throttle.calls_per_minute new calls a minute, the rest 503 with
//                   Retry-After.
// Calls to the line are not refused, nor its registrations.
//
// Thread-safety: every method from any thread; one mutex guards the state (the proxy's worker
// holds it for a few map look-ups per call set-up and per ended record).

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "fraud/alerts.h"
#include "fraud/overrides.h"
#include "traffic/record.h"

namespace privox::fraud {

// The live rules' limits and actions (fraud.velocity.*, fraud.throttle.*, fraud.sources.*), the
// global ones or a company's own where it overrides some (fraud/overrides.h).
struct LiveLimits {
  int64_t line_per_minute = 30, company_per_minute = 120;
  int64_t line_concurrent = 10, company_concurrent = 60;
  Action velocity_action = Action::suspend;
  int64_t throttled_per_minute = 2;
  int64_t max_sources = 4;
  Action sources_action = Action::alert;
};
Result<LiveLimits> live_limits_from_settings(store::Store& store);
// The limits these values (fraud_values(), with a company's overrides) give.
LiveLimits live_limits_from(const Values& values);
// The limits of the companies that override some (fraud/overrides.h), by company id.
using CompanyLiveLimits = std::unordered_map<std::string, LiveLimits>;

// A rule that fired on the call path, for LiveRules to open as an alert.
struct Trip {
  NewAlert alert;
  int64_t at_us = 0;
};

struct Refusal {
  int status = 403;  // 403 (suspended) or 503 (throttled)
  std::string reason;
  int retry_after_s = 0;  // with 503
};

class LineGuard {
 public:
  // `trips` is called with the guard's lock released, on the caller's thread; it must not block.
  using TripSink = std::function<void(Trip)>;
  LineGuard(LiveLimits limits, TripSink trips) : trips_(std::move(trips)), limits_(limits) {}

  // A new call (or message) placed by `line` of `company`; `sources`: how many distinct addresses
  // the line is registered from now. nullopt: let it through (counted for the velocity rules);
  // else the refusal to answer with. The concurrency rules compare the calls the line and its
  // company have up (answered and not ended) with their limits.
  std::optional<Refusal> admit(const std::string& line, const std::string& company, size_t sources, int64_t now_us)
      EXCLUDES(mu_);
  // A call a line placed was answered (its record opened): it is in progress until ended(). The
  // records of calls that came in to a line are not counted.
  void answered(const traffic::CallRecord& record) EXCLUDES(mu_);
  // A record was closed: if its call was in progress, it no longer is. Unknown ids are ignored.
  void ended(const std::string& record_id) EXCLUDES(mu_);

  // The lines the store's open alerts block, read at `read_at_us`. A line blocked here by a trip
  // stays blocked until a read has seen its alert (or a minute has passed, if it never arrives); a
  // line no longer blocked starts afresh, its counts forgotten, so a lifted line is not tripped
  // again by the burst that suspended it.
  void replace_blocks(Blocks blocks, int64_t now_us) EXCLUDES(mu_);
  // The global limits, and those of the companies with overrides (every other company's calls
  // are judged by the global ones).
  void set_limits(const LiveLimits& limits, CompanyLiveLimits companies = {}) EXCLUDES(mu_);

  bool suspended(const std::string& line) const EXCLUDES(mu_);
  bool throttled(const std::string& line) const EXCLUDES(mu_);
  size_t in_progress(const std::string& line) const EXCLUDES(mu_);

 private:
  struct Counts {
    std::deque<int64_t> started;  // admission times within the last minute
    int64_t in_progress = 0;
    std::string company;  // a line's company (lines only)
  };
  struct Open {
    std::string line, company;
  };
  struct Pending {
    Action action;
    int64_t at_us;
  };

  const LiveLimits& limits_of(const std::string& company) const REQUIRES(mu_);
  std::optional<Refusal> blocked(const std::string& line, const LiveLimits& limits, Counts& counts, int64_t now_us)
      REQUIRES(mu_);
  std::optional<Trip> check(const std::string& line, const std::string& company, const LiveLimits& limits,
                            Counts& own, Counts& all, size_t sources, int64_t now_us) REQUIRES(mu_);
  std::optional<Refusal> take_action(const Trip& trip, const LiveLimits& limits, Counts& own) REQUIRES(mu_);
  void release(const std::string& line, const Blocks& fresh) REQUIRES(mu_);

  const TripSink trips_;
  mutable Mutex mu_;
  LiveLimits limits_ GUARDED_BY(mu_);
  CompanyLiveLimits company_limits_ GUARDED_BY(mu_);  // companies with overrides only
  Blocks blocks_ GUARDED_BY(mu_);
  std::unordered_map<std::string, Pending> pending_ GUARDED_BY(mu_);  // tripped here, not yet read back
  std::unordered_map<std::string, Counts> lines_ GUARDED_BY(mu_);
  std::unordered_map<std::string, Counts> companies_ GUARDED_BY(mu_);
  std::unordered_map<std::string, Open> open_ GUARDED_BY(mu_);             // answered, by record id
  std::unordered_map<std::string, int64_t> tripped_ GUARDED_BY(mu_);      // line + rule -> when
};

// The traffic sink the proxy reports to: it passes every record on, and tells the guard when a
// call is answered and when its record closes, so calls in progress are counted without a hook at
// every place the proxy answers or ends a call.
class CountingSink final : public traffic::TrafficSink {
 public:
  explicit CountingSink(traffic::TrafficSink& inner) : inner_(inner) {}
  // Before the first record; nullptr: pass records on only.
  void set_guard(LineGuard* guard) { guard_ = guard; }
  void opened(const traffic::CallRecord& record, traffic::Durable done) override {
    if (guard_) guard_->answered(record);
    inner_.opened(record, std::move(done));
  }
  void closed(const traffic::CallRecord& record) override {
    if (guard_) guard_->ended(record.id);
    inner_.closed(record);
  }

 private:
  traffic::TrafficSink& inner_;
  LineGuard* guard_ = nullptr;
};

}  // namespace privox::fraud
