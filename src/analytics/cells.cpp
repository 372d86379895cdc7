#include "analytics/cells.h"

#include <algorithm>

#include "store/settings.h"

namespace privox::analytics {

bool suppress_small_cells(std::vector<Cell>& cells, int64_t total_people, int64_t k) {
  int64_t suppressed_people = 0;
  for (Cell& c : cells) {
    c.suppressed = c.people < k;
    if (c.suppressed) suppressed_people += c.people;
  }
  const bool total_released = total_people >= k;
  // With the total released, the suppressed cells together are a cell of their own: it must count
  // no one or at least k. Suppress the smallest released cells until it does.
  while (total_released && suppressed_people > 0 && suppressed_people < k) {
    Cell* smallest = nullptr;
    for (Cell& c : cells)
      if (!c.suppressed && (!smallest || c.people < smallest->people)) smallest = &c;
    if (!smallest) break;
    smallest->suppressed = true;
    suppressed_people += smallest->people;
  }
  return total_released;
}

nlohmann::json to_json(const Cell& cell) {
  if (cell.suppressed) return {{"key", cell.key}, {"suppressed", true}};
  nlohmann::json out = {{"key", cell.key}, {"people", cell.people}};
  for (const auto& [name, value] : cell.measures.items()) out[name] = value;
  return out;
}

Result<int64_t> min_cell_size(store::Store& store) { return store::Settings(store).integer("analytics.min_cell_size"); }

}  // namespace privox::analytics
