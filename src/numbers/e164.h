#pragma once
// Whether a number can be dialled in E.164 as written: '+', a country code libphonenumber knows,
// and a national number of a length that country can have. This is what privox can route and
// match digit for digit (sip/proxy.cpp recognises its own SMS number by the dialled digits);
// whether the number is allocated today is for the carrier to say, so fictional ranges used in
// drama and tests pass.

#include <string>
#include <string_view>

#include "common/string_map.h"

namespace privox::numbers {

// `value` is exactly "+CC..." with digits only, and a possible number.
bool is_e164(std::string_view value);
// `value` is a possible number in international form, however it is spaced or punctuated for
// reading ("+44 20 7946 0000").
bool is_possible_international(std::string_view value);

// Where an E.164 number is, for the destination rules of outbound calls (rating/): its ISO 3166
// region ("GB", "US"), or "" when libphonenumber cannot place it; and whether its number type is
// premium rate (or shared cost, which carriers bill alike), the usual vehicle of revenue-share fraud.
struct Destination {
  std::string region;
  bool premium = false;
};
Destination destination_of(std::string_view e164);

// destination_of, remembered per number: libphonenumber's answer depends on the number alone, and
// finding it runs dozens of regular expressions (parsing, then the region and the number type), which
// were about a tenth of an outbound call's CPU on the SIP thread. Offices call the same numbers again
// and again, as sip/'s dialled-to-E.164 cache (MemoryDirectory::to_e164) already relies on.
// Bounded: past max_numbers it starts again empty. Not thread-safe: one per thread (the SIP worker's).
class DestinationMemo {
 public:
  static constexpr size_t kMaxNumbers = 100'000;
  explicit DestinationMemo(size_t max_numbers = kMaxNumbers) : max_numbers_(max_numbers) {}
  Destination of(std::string_view e164);
  size_t size() const { return known_.size(); }

 private:
  size_t max_numbers_;
  StringMap<Destination> known_;  // found by string_view: a number already placed costs no allocation
};

}  // namespace privox::numbers
