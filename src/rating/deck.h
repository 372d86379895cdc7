#pragma once
// Problem: an outbound call costs what the operator's rate deck says for the longest prefix of its
// destination that the deck prices, as that deck stood when the call began. A deck is a CSV file
// the operator's carrier or finance team produces, so it is untrusted input: it is read whole and
// refused whole, naming the line at fault, before anything is stored.
//
// A deck's line:   prefix,description,price_per_minute,connection_fee,increments,currency,valid_from
//   prefix          E.164 digits without '+', 1-15 of them ("44", "447", "1800")
//   description     free text (a country or network name); quoted as RFC 4180 when it holds a comma
//   price_per_minute, connection_fee
//                   decimal amounts of `currency`, at most 6 decimals, zero or more
//   increments      FIRST/NEXT in seconds ("60/60", "30/6", "1/1"): the first FIRST seconds are
//                   billed whole, then each started NEXT
//   currency        ISO 4217 ("GBP")
//   valid_from      YYYY-MM-DD (UTC midnight): calls that begin from then on use the line
// A first line naming the columns is skipped. Amounts are kept in micro-units (1e-6 of the
// currency) so that a price such as 0.0125 per minute is exact.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace privox::rating {

struct Rate {
  std::string prefix;
  std::string description;
  int64_t price_per_minute_micros = 0;
  int64_t connection_fee_micros = 0;
  int32_t first_increment_s = 60;
  int32_t next_increment_s = 60;
  std::string currency;
  int64_t valid_from_us = 0;
  size_t line = 0;  // where the deck gave it (0: not from a file), for errors that name it
};

inline constexpr size_t kMaxDeckLines = 1'000'000;
inline constexpr size_t kMaxDeckBytes = 64u << 20;

// The deck's rates, in file order. Errors: invalid on "deck" naming the line and what is wrong
// ("line 7: price_per_minute \"-1\" is negative"), including a prefix and valid_from given twice.
Result<std::vector<Rate>> parse_deck_csv(std::string_view csv);

// The seconds billed for a call of `duration_ms` under the rate's increments: 0 for a call never
// answered or of no length; else FIRST at least, then whole NEXT steps.
int64_t billed_seconds(const Rate& rate, int64_t duration_ms);
// The call's cost in micro-units: the connection fee plus the per-minute price for the billed
// seconds, rounded half up to a micro-unit; 0 for a call of no length.
int64_t cost_micros(const Rate& rate, int64_t duration_ms);

// A decimal amount ("0.0125") in micro-units; nullopt when it is not one (or has more than 6
// decimals, or is negative, or is absurdly large).
std::optional<int64_t> parse_amount_micros(std::string_view text);
// Micro-units as the currency's minor units (pence, cents), rounded half up, for invoices and
// format_money.
int64_t micros_to_minor(int64_t micros);

}  // namespace privox::rating
