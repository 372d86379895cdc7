#include "common/money.h"

#include <fmt/format.h>

namespace privox {

std::string format_money(int64_t minor_units, std::string_view currency) {
  const char* sign = minor_units < 0 ? "-" : "";
  const int64_t magnitude = minor_units < 0 ? -minor_units : minor_units;
  const std::string amount = fmt::format("{}{}.{:02}", sign, magnitude / 100, magnitude % 100);
  if (currency == "GBP") return "\u00a3" + amount;
  if (currency == "EUR") return "\u20ac" + amount;
  if (currency == "USD") return "$" + amount;
  return fmt::format("{} {}", amount, currency);
}

bool is_currency_code(std::string_view code) {
  return code.size() == 3 && code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string_view::npos;
}

}  // namespace privox
