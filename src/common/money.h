#pragma once
// Money as people read it. Amounts travel in minor units (pence, cents) with an ISO 4217 code;
// wherever a person reads one (a notice, an email, a receipt, the portal) it is written here.
//
// Thread-safety: a pure function.

#include <cstdint>
#include <string>
#include <string_view>

namespace privox {

// "£10.00", "€10.00", "$10.00"; another currency as "10.00 CHF". Two decimals: the currencies
// privox bills in have them.
std::string format_money(int64_t minor_units, std::string_view currency);

// True for an ISO 4217 code's shape: three capital letters (GBP, EUR, USD).
bool is_currency_code(std::string_view code);

}  // namespace privox
