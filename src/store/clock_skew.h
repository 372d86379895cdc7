#pragma once
// How far this node's clock is from the store's. Nodes sharing a store compare times written on
// different machines (a heartbeat, a binding's expiry, a record's start), so a node whose clock is
// wrong would have its live calls closed as a dead node's, or close another's; serve refuses to
// start beyond sip.max_clock_skew_ms, and a running node keeps measuring (sip/service.cpp).
//
// PostgreSQL reads its server's clock (clock_timestamp()); an SQLite store is a file on this
// machine, read by this node alone, so its clock is this machine's and the offset is 0.

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace privox::store {

struct ClockOffset {
  int64_t offset_us = 0;       // the store's clock minus this machine's: positive when the store is ahead
  int64_t uncertainty_us = 0;  // half the round trip the reading took
};

// One reading against `machine` (common/clock.h's MachineClock in serve).
Result<ClockOffset> measure_clock_offset(Store& store, const Clock& machine);

// Whether the offset is beyond `max_skew_us` however the uncertainty falls: a slow round trip
// alone never makes a node skewed.
bool clock_skewed(const ClockOffset& offset, int64_t max_skew_us);

// "12.4 s behind" / "3.0 s ahead of": this machine's clock against the store's.
std::string describe_skew(const ClockOffset& offset);

// serve's start: a conflict naming the skew and what to do when the clock is beyond `max_skew_us`.
Status check_clock_skew(Store& store, const Clock& machine, int64_t max_skew_us);

}  // namespace privox::store
