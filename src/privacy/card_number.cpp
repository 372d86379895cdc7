#include "privacy/card_number.h"

#include <string>

namespace privox::privacy {
namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice && (d *= 2) > 9) d -= 9;
    sum += d;
    twice = !twice;
  }
  return !digits.empty() && sum % 10 == 0;
}

bool contains_card_number(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) {
      ++i;
      continue;
    }
    const bool phone_form = i > 0 && text[i - 1] == '+';
    std::string digits;
    size_t j = i;
    // A run continues across spaces, dashes and dots that sit between two digits: people group card
    // numbers every way they can.
    while (j < text.size()) {
      if (is_digit(text[j])) {
        digits.push_back(text[j++]);
        continue;
      }
      size_t k = j;
      while (k < text.size() && (text[k] == ' ' || text[k] == '-' || text[k] == '.')) ++k;
      if (k == j || k == text.size() || !is_digit(text[k])) break;
      j = k;
    }
    if (!phone_form && digits.size() >= 13 && digits.size() <= 19 && luhn_valid(digits)) return true;
    i = j;
  }
  return false;
}

}  // namespace privox::privacy
