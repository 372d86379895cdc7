// libFuzzer target for rate decks (rating/deck.h), CSV an operator imports: whatever arrives,
// parse_deck_csv refuses it on field "deck", or every rate it returns keeps the deck's rules (a
// 1-15 digit prefix, amounts of zero or more, increments of 1 to 3600 s, a currency code, the line
// it came from), and pricing a day-long call with it neither overflows nor goes below the fee.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/rating/deck.cpp
//       src/common/clock.cpp src/common/money.cpp src/rating/deck_fuzz.cpp -lfmt -o deck_fuzz

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/money.h"
#include "rating/deck.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace privox;
  using namespace privox::rating;
  const std::string_view csv(reinterpret_cast<const char*>(data), size);
  const auto deck = parse_deck_csv(csv);
  if (!deck) {
    if (deck.error().field != "deck") std::abort();
    return 0;
  }
  for (const Rate& r : *deck) {
    if (r.prefix.empty() || r.prefix.size() > 15 || r.prefix.find_first_not_of("0123456789") != std::string::npos)
      std::abort();
    if (r.price_per_minute_micros < 0 || r.connection_fee_micros < 0) std::abort();
    if (r.first_increment_s < 1 || r.first_increment_s > 3600 || r.next_increment_s < 1 || r.next_increment_s > 3600)
      std::abort();
    if (!is_currency_code(r.currency) || r.line == 0) std::abort();
    const int64_t day = cost_micros(r, 86'400'000);
    if (day < r.connection_fee_micros) std::abort();
    if (cost_micros(r, 0) != 0) std::abort();
  }
  return 0;
}
