#pragma once
// Descriptors for the connection caps. A server that caps its connections (the HTTP server's
// overall cap, the SIP TCP listener's) can keep that promise only if the process may open that many
// descriptors, plus what it needs besides them (the store's files and connections, the log, the
// listeners and UDP sockets, libcurl, pipes). Debian starts processes with a soft limit of 1,024,
// and about 1,100 idle HTTP connections once made accept() fail with EMFILE until the portal and
// SIP were both unreachable. `privox serve` therefore raises the soft RLIMIT_NOFILE at start to what
// its caps add up to, and refuses to start when the hard limit is too low: a cap the process cannot
// honour is a cap an attacker reaches first.
//
// Usage (cli/serve.cpp): add every listener's cap to an FdBudget, then ensure_fd_limit(budget).
//
// Thread-safety: call at start, before threads open descriptors; the functions keep no state.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace privox {

// Descriptors a serving process needs besides its connections: the store (SQLite's files, a
// PostgreSQL pool and its LISTEN connection), listeners and UDP sockets, the log, the SMTP and
// payment provider's connections, pipes and the event loop's own.
inline constexpr uint64_t kFdHeadroom = 256;

// What a process will hold open at most: one line per listener's cap, plus the headroom.
class FdBudget {
 public:
  explicit FdBudget(uint64_t headroom = kFdHeadroom) : headroom_(headroom) {}
  // `what` is how the error message names it ("HTTP connections (--http-max-connections)").
  FdBudget& add(uint64_t count, std::string what) {
    parts_.push_back({count, std::move(what)});
    return *this;
  }
  uint64_t total() const;
  // "1024 HTTP connections (--http-max-connections) + 10000 SIP TCP connections + 256 headroom"
  std::string describe() const;

 private:
  struct Part {
    uint64_t count;
    std::string what;
  };
  uint64_t headroom_;
  std::vector<Part> parts_;
};

struct FdLimits {
  uint64_t soft = 0;
  uint64_t hard = 0;  // UINT64_MAX for RLIM_INFINITY
};

// The soft limit raising to `needed` would set: the current soft limit when it is already enough
// (a limit is never lowered), else `needed`. Error unavailable when the hard limit is below
// `needed`; the message names both numbers and how to raise the hard limit. Pure:
// the policy of ensure_fd_limit, testable without touching the process.
Result<uint64_t> plan_fd_limit(FdLimits current, uint64_t needed, const std::string& needed_for);

// This process's RLIMIT_NOFILE.
Result<FdLimits> current_fd_limits();

// Raises this process's soft RLIMIT_NOFILE to budget.total() when lower, as plan_fd_limit decides,
// and returns the soft limit in force afterwards. Errors: plan_fd_limit's, or unavailable when
// getrlimit/setrlimit fail.
Result<uint64_t> ensure_fd_limit(const FdBudget& budget);

}  // namespace privox
