#include "store/clock_skew.h"

#include <fmt/format.h>

#include <cstdlib>

namespace privox::store {

Result<ClockOffset> measure_clock_offset(Store& store, const Clock& machine) {
  if (store.backend() != Backend::postgresql) return ClockOffset{};
  PRIVOX_ASSIGN(auto tx, store.begin(TxMode::read));
  // clock_timestamp(), not now(): now() is the transaction's start, and the round trip is timed
  // around this statement alone.
  const int64_t sent = machine.now_us();
  PRIVOX_ASSIGN(const Rows rows,
                tx->query("SELECT CAST(floor(extract(epoch FROM clock_timestamp()) * 1000000) AS BIGINT)"));
  const int64_t received = machine.now_us();
  const int64_t store_us = rows.at(0).i64(0);
  return ClockOffset{.offset_us = store_us - (sent + (received - sent) / 2), .uncertainty_us = (received - sent) / 2};
}

bool clock_skewed(const ClockOffset& offset, int64_t max_skew_us) {
  return std::llabs(offset.offset_us) - offset.uncertainty_us > max_skew_us;
}

std::string describe_skew(const ClockOffset& offset) {
  const double seconds = static_cast<double>(std::llabs(offset.offset_us)) / 1e6;
  // The store ahead means this machine is behind it.
  return fmt::format("{:.1f} s {}", seconds, offset.offset_us > 0 ? "behind" : "ahead of");
}

Status check_clock_skew(Store& store, const Clock& machine, int64_t max_skew_us) {
  PRIVOX_ASSIGN(const ClockOffset offset, measure_clock_offset(store, machine));
  if (!clock_skewed(offset, max_skew_us)) return {};
  return make_error(ErrorCode::conflict,
                    fmt::format("this machine's clock is {} the store's (measured to within {} ms), more than "
                                "sip.max_clock_skew_ms ({} ms) allows; set its time right (an NTP client such as "
                                "chrony or systemd-timesyncd) and start it again",
                                describe_skew(offset), offset.uncertainty_us / 1000, max_skew_us / 1000));
}

}  // namespace privox::store
