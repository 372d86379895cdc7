#pragma once
// P3: privox never takes a payment card number. Card details go from the browser straight to the
// payment provider; privox keeps only the provider's token, brand, last four digits and expiry.
// Every input that reaches privox is scanned with this check, and one that holds a card number
// is refused whole.

#include <string_view>

namespace privox::privacy {

// True when `text` holds a run of 13 to 19 digits, optionally grouped by spaces, dashes or dots,
// that passes the Luhn check. A run that follows '+' is an international phone number, not a card.
bool contains_card_number(std::string_view text);

bool luhn_valid(std::string_view digits);

}  // namespace privox::privacy
