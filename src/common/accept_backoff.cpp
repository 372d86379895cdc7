#include "common/accept_backoff.h"

#include <algorithm>
#include <cerrno>

namespace privox {

bool AcceptBackoff::is_resource_exhaustion(int errno_value) {
  return errno_value == EMFILE || errno_value == ENFILE || errno_value == ENOBUFS || errno_value == ENOMEM;
}

AcceptBackoff::Step AcceptBackoff::failed(int errno_value, int64_t now_us) {
  Step step;
  if (is_resource_exhaustion(errno_value)) {
    wait_us_ = wait_us_ == 0 ? options_.first_wait_us : std::min(wait_us_ * 2, options_.max_wait_us);
    step.wait_us = wait_us_;
  }
  // The first failure is always logged; INT64_MIN stands for "never logged".
  if (last_log_us_ == INT64_MIN || now_us - last_log_us_ >= options_.log_interval_us) {
    step.log = true;
    step.suppressed = suppressed_;
    suppressed_ = 0;
    last_log_us_ = now_us;
  } else {
    ++suppressed_;
  }
  return step;
}

}  // namespace privox
