#pragma once
// k-anonymous release of counts (P8): every released cell counts at least k distinct people
// (setting analytics.min_cell_size, default 5); a smaller cell is suppressed, shown as suppressed
// and never as a number. Because a total is released too, suppression goes on (smallest released
// cells first) until the suppressed cells together count no one or at least k people: otherwise
// the total minus the released cells would give away a group of fewer than k.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "store/store.h"

namespace privox::analytics {

struct Cell {
  std::string key;      // e.g. a company id, "inbound", "2026-11-26", a survey choice
  int64_t people = 0;   // distinct people the cell counts
  nlohmann::json measures = nlohmann::json::object();  // further counts, released with the cell
  bool suppressed = false;
};

// Marks the cells that may not be released, as described above. `total_people` is the count of
// distinct people over all cells (a person may be in several cells, so it is not their sum).
// Returns whether the total itself may be released (it counts at least k people).
bool suppress_small_cells(std::vector<Cell>& cells, int64_t total_people, int64_t k);

// {"key": ..., "people": n, ...measures} for a released cell, {"key": ..., "suppressed": true}
// for a suppressed one.
nlohmann::json to_json(const Cell& cell);

// The operator's k (analytics.min_cell_size).
Result<int64_t> min_cell_size(store::Store& store);

}  // namespace privox::analytics
