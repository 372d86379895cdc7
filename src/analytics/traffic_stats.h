#pragma once
// A k-anonymous traffic report (P8): calls and messages grouped by company, direction or day
// (UTC), each cell counting the distinct lines (extensions: a line stands for the person using
// it) that made or received them, and released only when that count reaches k (cells.h).
// Anonymised records no longer name a line, so they cannot show that a cell holds k people: they
// are counted in a released cell's calls and minutes, but never release a cell on their own.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <nlohmann/json_fwd.hpp>

#include <string>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::analytics {

enum class GroupBy { company, direction, day };

struct TrafficStatsQuery {
  GroupBy by = GroupBy::company;
  int64_t since_us = 0;              // calls started at or after
  int64_t until_us = INT64_MAX;      // and before
};

// {"by": "company", "k": 5, "people": n | "suppressed", "cells": [{"key", "people", "calls",
// "answered", "minutes"} or {"key", "suppressed": true}]}. Audited as "stats.calls" with counts.
// Errors: store errors only.
Result<nlohmann::json> traffic_stats(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                     const TrafficStatsQuery& query, const std::string& actor);

}  // namespace privox::analytics
