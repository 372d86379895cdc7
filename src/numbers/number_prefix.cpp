#include "numbers/number_prefix.h"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <set>

namespace privox::numbers {
namespace {

using i18n::phonenumbers::PhoneNumberUtil;

constexpr size_t kNationalDigitsKept = 3;
// Below this many national digits, keeping three would leave too few numbers behind the prefix.
constexpr size_t kShortestNationalWithDigitsKept = 7;
constexpr size_t kLongestExtension = 8;
constexpr size_t kLongestE164Digits = 15;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Country calling codes are prefix-free (ITU-T E.164), so the first one to match among 1, 2 and 3
// digits is the number's. The set comes from libphonenumber once; parsing every number with it
// (regular expressions) would cost more than the rest of an anonymisation run together.
const std::set<int>& calling_codes() {
  static const std::set<int> codes = [] {
    std::set<int> out;
    PhoneNumberUtil::GetInstance()->GetSupportedCallingCodes(&out);
    return out;
  }();
  return codes;
}

// The calling code's value; `code` is 1 to 3 digits, so no conversion can overflow or fail.
int calling_code(std::string_view code) {
  int value = 0;
  for (char c : code) value = value * 10 + (c - '0');
  return value;
}

}  // namespace

std::optional<std::string> number_prefix(std::string_view number, bool withheld) {
  if (withheld) return std::nullopt;
  std::string_view digits;
  if (number.size() > 1 && number.front() == '+' && all_digits(number.substr(1))) digits = number.substr(1);
  else if (all_digits(number) && number.size() > kLongestExtension) digits = number;
  else return std::nullopt;  // an extension, a SIP address or something no carrier should send
  if (digits.size() > kLongestE164Digits) return std::nullopt;

  for (size_t length = 1; length <= 3 && length < digits.size(); ++length) {
    if (!calling_codes().count(calling_code(digits.substr(0, length)))) continue;
    const size_t national = digits.size() - length;
    const size_t kept = length + (national >= kShortestNationalWithDigitsKept ? kNationalDigitsKept : 0);
    // Sized once and filled in place: appending pieces to a one-character string makes GCC 12 at
    // -O3 report a false -Wrestrict overlap inside basic_string.
    std::string prefix(1 + kept, '+');
    std::copy_n(digits.begin(), kept, prefix.begin() + 1);
    return prefix;
  }
  return std::nullopt;  // no such country code
}

std::string prefix_at_write(std::string_view number, bool withheld) {
  return number_prefix(number, withheld).value_or(std::string());
}

}  // namespace privox::numbers
