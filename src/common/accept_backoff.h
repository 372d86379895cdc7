#pragma once
// What a listener does when accept() fails. Once the process is out of descriptors (EMFILE,
// ENFILE) or memory (ENOBUFS, ENOMEM), the connection that could not be accepted stays in the
// backlog, so an accept loop that simply tries again fails again at once: it spun the I/O thread it
// shares with SIP at 1.2 CPU-seconds a second and wrote a warning per try, 30 MB of log a second,
// until the disk filled. AcceptBackoff makes the loop wait after such a failure, doubling the wait
// up to a ceiling while failures continue, and lets through at most one log line per interval
// with the count of the failures it held back. Failures that concern one connection only (it was
// reset before it was accepted, a firewall refused it) need no wait; they are only rate-limited.
//
// Usage, in the accept handler:
//   if (ec) { auto step = backoff_.failed(ec.value(), now); if (step.log) warn(...step.suppressed);
//             wait step.wait_us, then accept again } else { backoff_.succeeded(); ... }
//
// Thread-safety: one per listener, used from its accept handler only.

#include <cstdint>

namespace privox {

class AcceptBackoff {
 public:
  struct Options {
    int64_t first_wait_us = 10'000;     // after the first failure for want of a resource
    int64_t max_wait_us = 1'000'000;    // the ceiling of the doubling
    int64_t log_interval_us = 10'000'000;  // at most one log line per interval
  };
  struct Step {
    int64_t wait_us = 0;      // wait this long before the next accept
    bool log = false;         // log this failure
    uint64_t suppressed = 0;  // with log: failures not logged since the last line
  };

  AcceptBackoff() : AcceptBackoff(Options{}) {}
  explicit AcceptBackoff(Options options) : options_(options) {}

  // After accept failed with `errno_value` at `now_us` (a monotonic clock).
  Step failed(int errno_value, int64_t now_us);
  // After an accept succeeded: the next resource failure waits first_wait_us again.
  void succeeded() { wait_us_ = 0; }

  // EMFILE, ENFILE, ENOBUFS and ENOMEM: the process or system is short of something, and the
  // failure repeats until it is not.
  static bool is_resource_exhaustion(int errno_value);

 private:
  Options options_;
  int64_t wait_us_ = 0;
  int64_t last_log_us_ = INT64_MIN;
  uint64_t suppressed_ = 0;
};

}  // namespace privox
