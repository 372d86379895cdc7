#pragma once
// What anonymisation keeps of a telephone number (ePrivacy Art. 6): enough to say roughly where
// a call went, for traffic statistics and rating checks, and never enough to find the party.
//
//  - A public number in E.164 ("+442071234567", or a carrier's digits without the '+') keeps its
//    '+', country code and the first three digits of the national significant number
//    ("+44207"): an area or a mobile operator's range, which hundreds of thousands of numbers
//    share. A national number shorter than seven digits keeps the country code alone, so at least
//    four digits are always cut.
//  - An extension number (2 to 8 digits inside one company) keeps nothing: within the company it
//    would name the line.
//  - Anything else (a SIP address, "anonymous", garbage from a carrier) keeps nothing.
//  - A withheld caller keeps nothing: the caller asked that their number not be shown, and even a
//    prefix is part of it.
// "Keeps nothing" is nullopt, stored as NULL.

#include <optional>
#include <string>
#include <string_view>

namespace privox::numbers {

std::optional<std::string> number_prefix(std::string_view number, bool withheld = false);

// What the write path (traffic/store_sink.h) stores in traffic_records.source_prefix and
// destination_prefix while the record is still linked to its line: number_prefix(), or "" when it
// keeps nothing. The distinction matters to the traffic retention job: "" means "computed, nothing
// to keep", NULL means "written before prefixes were stored at write time", for which the job
// opens the sealed number. Anonymisation turns "" into NULL. Never fails.
std::string prefix_at_write(std::string_view number, bool withheld = false);

}  // namespace privox::numbers
