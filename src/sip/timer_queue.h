#pragma once
// Problem: the SIP transaction layer arms thousands of short timers (retransmissions, timeouts)
// per second and cancels most of them. TimerQueue keeps them in a binary heap with lazy
// cancellation, and is driven by whoever owns the clock: the event loop in production, a test
// with a FakeClock in tests, so timer behaviour is deterministic under test.
//
// Thread-safety: none; owned and used by one SIP worker thread.

#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>
#include <vector>

namespace privox::sip {

class TimerQueue {
 public:
  using Id = uint64_t;
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  // Calls `fire` once, at or after `at_us` (same clock as run_due's `now_us`).
  Id schedule(int64_t at_us, std::function<void()> fire);
  // Cancelling a fired or unknown timer does nothing.
  void cancel(Id id);
  // Fires every timer due at `now_us`, earliest first; timers scheduled by a firing timer for a
  // time not after `now_us` fire in the same call.
  void run_due(int64_t now_us);
  // When the earliest live timer is due; kNever when none.
  int64_t next_due();
  size_t size() const { return callbacks_.size(); }

 private:
  struct Entry {
    int64_t at;
    Id id;
    bool operator>(const Entry& o) const { return at != o.at ? at > o.at : id > o.id; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  std::unordered_map<Id, std::function<void()>> callbacks_;  // live timers; absent = cancelled
  Id next_id_ = 1;
};

}  // namespace privox::sip
