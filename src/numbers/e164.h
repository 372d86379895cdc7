#pragma once
// Whether a number can be dialled in E.164 as written: '+', a country code libphonenumber knows,
// and a national number of a length that country can have. This is what privox can route and
// match digit for digit (sip/proxy.cpp recognises its own SMS number by the dialled digits);
// whether the number is allocated today is for the carrier to say, so fictional ranges used in
// drama and tests pass.

#include <string_view>

namespace privox::numbers {

// `value` is exactly "+CC..." with digits only, and a possible number.
bool is_e164(std::string_view value);
// `value` is a possible number in international form, however it is spaced or punctuated for
// reading ("+44 20 7946 0000").
bool is_possible_international(std::string_view value);

}  // namespace privox::numbers
