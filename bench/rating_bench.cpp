// What pricing an ended call costs the SIP worker (rating/rate_table.h): the longest-prefix look-up
// and the cost, on a deck of 50,000 prefixes of realistic lengths (2 to 8 digits, three versions of
// some), for destinations spread over the deck. The goal is 1,000,000 records a second per
// core; CGRateS, the open-source anchor, claims "50k+ requests per second" for a whole rating
// request over its API, so the ratio here is against that published figure, not a same-run
// measurement of CGRateS (which is not packaged for Debian).
//   bench/run-rating.sh
#include <benchmark/benchmark.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "rating/rate_table.h"

namespace {

using namespace privox;
using namespace privox::rating;

constexpr int64_t kJan = 1'767'225'600'000'000;  // 2026-01-01
constexpr int64_t kDay = 86'400'000'000;

struct Deck {
  Deck() {
    std::mt19937_64 random(42);
    std::vector<Rate> rates;
    std::set<std::string> distinct;
    while (distinct.size() < 50'000) {
      const size_t length = 2 + random() % 7;
      std::string prefix(1, static_cast<char>('1' + random() % 9));
      while (prefix.size() < length) prefix += static_cast<char>('0' + random() % 10);
      if (!distinct.insert(prefix).second) continue;
      const int versions = random() % 10 == 0 ? 3 : 1;
      for (int v = 0; v < versions; ++v)
        rates.push_back(Rate{prefix, "", static_cast<int64_t>(random() % 500'000), 0, 60, 60, "GBP",
                             kJan + v * 30 * kDay, 0});
      prefixes.push_back(prefix);
    }
    size = distinct.size();
    table = RateTable::build({{"deck", std::move(rates)}}, {{"company", {"44"}}});
    for (size_t i = 0; i < 4096; ++i) {
      std::string number = "+" + prefixes[random() % prefixes.size()];
      while (number.size() < 12) number += static_cast<char>('0' + random() % 10);
      numbers.push_back(std::move(number));
    }
  }
  std::vector<std::string> prefixes, numbers;
  size_t size = 0;
  std::shared_ptr<const RateTable> table;
};

const Deck& deck() {
  static const Deck d;
  return d;
}

void BM_PriceACall(benchmark::State& state) {
  const Deck& d = deck();
  size_t i = 0;
  int64_t total = 0;
  for (auto _ : state) {
    const Priced p = d.table->price("company", d.numbers[i++ & 4095], kJan + 45 * kDay, 95'000);
    total += p.cost_micros;
  }
  benchmark::DoNotOptimize(total);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["deck_prefixes"] = static_cast<double>(d.size);
}
BENCHMARK(BM_PriceACall);

void BM_BuildTheTable(benchmark::State& state) {
  const Deck& d = deck();
  std::vector<Rate> rates;
  for (const std::string& p : d.prefixes) rates.push_back(Rate{p, "", 1000, 0, 60, 60, "GBP", kJan, 0});
  for (auto _ : state) benchmark::DoNotOptimize(RateTable::build({{"deck", rates}}, {}));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rates.size()));
}
BENCHMARK(BM_BuildTheTable)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
