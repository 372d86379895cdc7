#pragma once
// Sign-up validation (P1-P3), driven by the data map: the mandatory fields, their formats and
// lengths come from privacy/datamap.cpp, so a field added there is validated here without a
// second list. The CLI and the portal both call this.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace privox::accounts {

// Field name (as in the data map) to value, as the person typed it.
using FieldValues = std::map<std::string, std::string, std::less<>>;

// Checks every member field against the data map and returns the values in their stored form
// (email lower-cased, phone in E.164, card brand lower-cased, text trimmed). `country` is the
// company's ISO 3166 code, used to read national phone numbers; `today` decides the age check.
Result<FieldValues> validate_member(const FieldValues& input, std::string_view country, const CivilDate& today);
// The same checks, reporting every field at fault at once, in the data map's order (a form shows
// them all together). Empty when all pass; then `checked`, if given, holds the stored forms.
std::vector<Error> member_field_errors(const FieldValues& input, std::string_view country, const CivilDate& today,
                                      FieldValues* checked = nullptr);

// The ISO 3166 code when libphonenumber knows the country, upper-cased.
Result<std::string> normalise_country(std::string_view country);

// Errors name the field; each check is public so the portal can check one field as it is typed.
Result<std::string> normalise_email(std::string_view email);
Result<std::string> normalise_phone(std::string_view phone, std::string_view country);
Result<std::string> normalise_text(std::string_view field, std::string_view text, size_t max_length,
                                   bool allow_newlines);

// A free-text value that must fit one line of at most `max` characters; the error names `field`.
Status check_one_line(std::string_view field, std::string_view value, size_t max);

// The id when it is a privox id (common/ids.h), else an error naming `field`.
Result<std::string> check_id(std::string_view field, std::string_view id);

// Refuses any value that holds a payment card number (P3), naming the field.
Status refuse_card_numbers(const FieldValues& input);

// Runs a write transaction whose body checks uniqueness itself, so that its errors name the field
// at fault. A constraint conflict that names no field means a concurrent writer (another node)
// got in between the body's checks and its insert: the body runs again and its checks then see
// the other row. Should that keep happening, the conflict is reported on `fallback_field`.
Status write_checked(store::Store& store, const std::function<Status(store::Session&)>& body,
                     std::string_view fallback_field);

}  // namespace privox::accounts
