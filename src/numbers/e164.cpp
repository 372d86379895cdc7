#include "numbers/e164.h"

#include <phonenumbers/phonenumberutil.h>

#include <string>

namespace privox::numbers {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr size_t kLongestWritten = 64;

}  // namespace

bool is_possible_international(std::string_view value) {
  if (!value.starts_with('+') || value.size() > kLongestWritten) return false;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  // "ZZ": no default region, so only international form parses.
  if (util->Parse(std::string(value), "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) return false;
  // Local-only lengths (dialled within an area without its code) cannot be reached from outside.
  return util->IsPossibleNumberWithReason(number) == PhoneNumberUtil::IS_POSSIBLE;
}

bool is_e164(std::string_view value) {
  // E.164 allows at most 15 digits after the '+'.
  if (value.size() < 2 || value.size() > 16 || value.substr(1).find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  return is_possible_international(value);
}

Destination destination_of(std::string_view e164) {
  Destination out;
  if (!e164.starts_with('+') || e164.size() > kLongestWritten) return out;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util->Parse(std::string(e164), "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) return out;
  util->GetRegionCodeForNumber(number, &out.region);
  if (out.region == "ZZ") out.region.clear();
  const PhoneNumberUtil::PhoneNumberType type = util->GetNumberType(number);
  out.premium = type == PhoneNumberUtil::PREMIUM_RATE || type == PhoneNumberUtil::SHARED_COST;
  return out;
}

Destination DestinationMemo::of(std::string_view e164) {
  if (const auto it = known_.find(e164); it != known_.end()) return it->second;
  if (known_.size() >= max_numbers_) known_.clear();
  return known_.emplace(e164, destination_of(e164)).first->second;
}

}  // namespace privox::numbers
