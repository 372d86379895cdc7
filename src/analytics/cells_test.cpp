#include "analytics/cells.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace privox::analytics {
namespace {

std::vector<Cell> cells_of(std::initializer_list<int64_t> people) {
  std::vector<Cell> out;
  int i = 0;
  for (int64_t p : people) out.push_back({"c" + std::to_string(i++), p, {{"calls", p * 3}}, false});
  return out;
}

std::vector<bool> suppressed(const std::vector<Cell>& cells) {
  std::vector<bool> out;
  out.reserve(cells.size());
  for (const Cell& c : cells) out.push_back(c.suppressed);
  return out;
}

TEST(CellsTest, ACellOfKPeopleIsReleasedAndOneOfKMinusOneIsNot) {
  auto cells = cells_of({5, 4, 0});
  // Suppressed together the small cells count 4, fewer than k: the smallest released cell goes too.
  EXPECT_TRUE(suppress_small_cells(cells, 9, 5));
  EXPECT_EQ(suppressed(cells), (std::vector<bool>{true, true, true}));

  auto enough = cells_of({5, 5, 0});
  EXPECT_TRUE(suppress_small_cells(enough, 10, 5));
  EXPECT_EQ(suppressed(enough), (std::vector<bool>{false, false, true}));  // the empty cell: suppressed, no one hidden
  EXPECT_EQ(to_json(enough[0]), (nlohmann::json{{"key", "c0"}, {"people", 5}, {"calls", 15}}));
  EXPECT_EQ(to_json(enough[2]), (nlohmann::json{{"key", "c2"}, {"suppressed", true}}));
}

TEST(CellsTest, SecondarySuppressionStopsOnceTheHiddenGroupReachesK) {
  auto cells = cells_of({9, 6, 3, 1});
  EXPECT_TRUE(suppress_small_cells(cells, 19, 5));
  // 3 + 1 = 4 < 5, so the 6 goes too: the hidden cells now count 10.
  EXPECT_EQ(suppressed(cells), (std::vector<bool>{false, true, true, true}));

  auto hidden_enough = cells_of({9, 6, 3, 2});
  EXPECT_TRUE(suppress_small_cells(hidden_enough, 20, 5));
  EXPECT_EQ(suppressed(hidden_enough), (std::vector<bool>{false, false, true, true}));
}

TEST(CellsTest, ATotalUnderKIsNotReleased) {
  auto cells = cells_of({4});
  EXPECT_FALSE(suppress_small_cells(cells, 4, 5));
  EXPECT_TRUE(cells[0].suppressed);
  auto at_k = cells_of({5});
  EXPECT_TRUE(suppress_small_cells(at_k, 5, 5));
  EXPECT_FALSE(at_k[0].suppressed);
}

}  // namespace
}  // namespace privox::analytics
