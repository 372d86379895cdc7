#include "common/fd_limit.h"

#include <sys/resource.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace privox {
namespace {

uint64_t from_rlim(rlim_t value) {
  return value == RLIM_INFINITY ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(value);
}

}  // namespace

uint64_t FdBudget::total() const {
  uint64_t sum = headroom_;
  for (const Part& p : parts_) sum += p.count;
  return sum;
}

std::string FdBudget::describe() const {
  std::string out;
  for (const Part& p : parts_) out += fmt::format("{} {} + ", p.count, p.what);
  return out + fmt::format("{} for files, the store and listeners", headroom_);
}

Result<uint64_t> plan_fd_limit(FdLimits current, uint64_t needed, const std::string& needed_for) {
  if (current.soft >= needed) return current.soft;
  if (current.hard < needed)
    return Error{ErrorCode::unavailable, "",
                 fmt::format("privox needs {} file descriptors ({}) but this process may open at most {} (the hard "
                             "limit of RLIMIT_NOFILE); raise it (ulimit -Hn {} as root, LimitNOFILE={} in a systemd "
                             "unit, nofile in /etc/security/limits.conf) or lower the connection caps",
                             needed, needed_for, current.hard, needed, needed)};
  return needed;
}

Result<FdLimits> current_fd_limits() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return Error{ErrorCode::unavailable, "",
                 fmt::format("cannot read the file descriptor limit: {}", std::strerror(errno))};
  return FdLimits{from_rlim(limit.rlim_cur), from_rlim(limit.rlim_max)};
}

Result<uint64_t> ensure_fd_limit(const FdBudget& budget) {
  PRIVOX_ASSIGN(const FdLimits current, current_fd_limits());
  PRIVOX_ASSIGN(const uint64_t soft, plan_fd_limit(current, budget.total(), budget.describe()));
  if (soft == current.soft) return soft;
  rlimit raised{};
  raised.rlim_cur = static_cast<rlim_t>(soft);
  raised.rlim_max = current.hard == std::numeric_limits<uint64_t>::max() ? RLIM_INFINITY
                                                                          : static_cast<rlim_t>(current.hard);
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0)
    return Error{ErrorCode::unavailable, "",
                 fmt::format("cannot raise the file descriptor limit from {} to {} ({}): {}", current.soft, soft,
                             budget.describe(), std::strerror(errno))};
  return soft;
}

}  // namespace privox
