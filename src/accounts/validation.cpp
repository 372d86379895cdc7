#include "accounts/validation.h"

#include <fmt/format.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "privacy/card_number.h"
#include "privacy/datamap.h"

namespace privox::accounts {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;
using privacy::FieldSpec;
using privacy::Format;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Well-formed UTF-8 without overlongs or surrogates.
bool valid_utf8(std::string_view s) {
  static constexpr std::array<uint32_t, 4> kMin = {0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = c;
    if (c >= 0x80) {
      if ((c >> 5) == 0x6) n = 1, cp = c & 0x1fu;
      else if ((c >> 4) == 0xe) n = 2, cp = c & 0x0fu;
      else if ((c >> 3) == 0x1e) n = 3, cp = c & 0x07u;
      else return false;
      if (i + n >= s.size()) return false;
      for (size_t k = 1; k <= n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc >> 6) != 0x2) return false;
        cp = (cp << 6) | (cc & 0x3fu);
      }
      if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    }
    i += n + 1;
  }
  return true;
}

bool is_atext(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

Result<std::string> check_token(std::string_view token) {
  if (token.size() < 4 || token.size() > 200)
    return invalid("payment_token", "must be the payment provider's token, 4 to 200 characters");
  for (char c : token)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("_-.:").find(c) == std::string_view::npos)
      return invalid("payment_token", fmt::format("holds '{}'; a provider token has only letters, digits and _ - . :",
                                                  c));
  return std::string(token);
}

Result<std::string> check_brand(std::string_view brand) {
  static constexpr std::array<std::string_view, 9> kBrands = {"visa",     "mastercard", "amex", "discover", "diners",
                                                              "jcb",      "unionpay",   "maestro", "other"};
  const std::string b = lower(trim(brand));
  if (std::find(kBrands.begin(), kBrands.end(), b) == kBrands.end())
    return invalid("card_brand", fmt::format("'{}' is not a card brand privox knows (visa, mastercard, amex, discover, "
                                             "diners, jcb, unionpay, maestro, other)",
                                             brand));
  return b;
}

Result<std::string> check_last4(std::string_view last4) {
  if (last4.size() != 4 || !std::all_of(last4.begin(), last4.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return invalid("card_last4", "must be exactly the last four digits of the card");
  return std::string(last4);
}

Result<std::string> check_expiry(std::string_view expiry, const CivilDate& today) {
  const auto date = parse_date(std::string(expiry) + "-01");
  if (expiry.size() != 7 || !date) return invalid("card_expiry", fmt::format("'{}' is not a month in the form YYYY-MM", expiry));
  if (date->year < today.year || (date->year == today.year && date->month < today.month))
    return invalid("card_expiry", fmt::format("the card expired in {}", expiry));
  return std::string(expiry);
}

Result<std::string> check_birth_date(std::string_view text, const CivilDate& today) {
  const auto date = parse_date(text);
  if (!date) return invalid("birth_date", fmt::format("'{}' is not a date in the form YYYY-MM-DD", text));
  if (*date > today) return invalid("birth_date", fmt::format("{} is in the future", text));
  const int age = years_between(*date, today);
  if (age < 18)
    return invalid("birth_date", fmt::format("members must be 18 or over; this date of birth makes them {}", age));
  if (age > 150) return invalid("birth_date", fmt::format("{} is not a plausible date of birth", text));
  return format_date(*date);
}

Result<std::string> check_field(const FieldSpec& f, std::string_view value, std::string_view country,
                                const CivilDate& today) {
  switch (f.format) {
    case Format::text: return normalise_text(f.name, value, f.max_length, f.name == "address");
    case Format::email: return normalise_email(value);
    case Format::phone: return normalise_phone(value, country);
    case Format::date: return check_birth_date(value, today);
    case Format::token: return check_token(value);
    case Format::card_brand: return check_brand(value);
    case Format::card_last4: return check_last4(value);
    case Format::card_expiry: return check_expiry(value, today);
    case Format::recorded: break;
  }
  return invalid(std::string(f.name), "has no validator");
}

}  // namespace

Result<std::string> normalise_text(std::string_view field, std::string_view text, size_t max_length,
                                   bool allow_newlines) {
  const std::string_view t = trim(text);
  if (t.empty()) return invalid(std::string(field), "must not be empty");
  if (t.size() > max_length) return invalid(std::string(field), fmt::format("is longer than {} bytes", max_length));
  if (!valid_utf8(t)) return invalid(std::string(field), "is not valid UTF-8 text");
  for (char c : t)
    if ((static_cast<unsigned char>(c) < 0x20 && !(allow_newlines && c == '\n')) || c == 0x7f)
      return invalid(std::string(field), "holds a control character");
  return std::string(t);
}

Result<std::string> normalise_email(std::string_view email) {
  const std::string e = lower(trim(email));
  const size_t at = e.find('@');
  if (e.size() > 254 || at == std::string::npos || at == 0 || at > 64 || e.find('@', at + 1) != std::string::npos)
    return invalid("email", fmt::format("'{}' is not an email address", email));
  const std::string_view local(e.data(), at), domain(e.data() + at + 1, e.size() - at - 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos ||
      !std::all_of(local.begin(), local.end(), [](char c) { return c == '.' || is_atext(c); }))
    return invalid("email", fmt::format("'{}' has an invalid part before the @", email));
  size_t labels = 0, start = 0;
  for (;;) {
    const size_t dot = domain.find('.', start);
    const std::string_view label = domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    const bool good = !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
                      std::all_of(label.begin(), label.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
    if (!good) return invalid("email", fmt::format("'{}' has an invalid domain", email));
    ++labels;
    if (dot == std::string_view::npos) {
      if (labels < 2 || label.size() < 2 || !std::all_of(label.begin(), label.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }))
        return invalid("email", fmt::format("'{}' has no valid top-level domain", email));
      break;
    }
    start = dot + 1;
  }
  return e;
}

Result<std::string> normalise_country(std::string_view country) {
  std::string c = lower(trim(country));
  std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  std::set<std::string> regions;
  PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
  if (c.size() != 2 || !regions.count(c))
    return invalid("country", fmt::format("'{}' is not an ISO 3166 country code privox can dial (e.g. GB, US, DE)", country));
  return c;
}

Result<std::string> normalise_phone(std::string_view phone, std::string_view country) {
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (phone.size() > 64 || util->Parse(std::string(phone), std::string(country), &number) != PhoneNumberUtil::NO_PARSING_ERROR)
    return invalid("phone", fmt::format("'{}' is not a phone number", phone));
  if (!util->IsValidNumber(number))
    return invalid("phone", fmt::format("'{}' is not a valid phone number in {} (or in international form, +CC...)",
                                        phone, country));
  std::string e164;
  util->Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

Result<std::string> check_id(std::string_view field, std::string_view id) {
  if (!is_valid_id(id)) return invalid(std::string(field), fmt::format("'{}' is not a privox id", id));
  return std::string(id);
}

Status refuse_card_numbers(const FieldValues& input) {
  for (const auto& [field, value] : input)
    if (privacy::contains_card_number(value))
      return invalid(field, "holds a payment card number; privox never takes card numbers: send card details to the "
                            "payment provider and give privox its token, brand and last four digits");
  return {};
}

Status write_checked(store::Store& store, const std::function<Status(store::Session&)>& body,
                     std::string_view fallback_field) {
  constexpr int kAttempts = 3;
  Status status;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    status = store::with_transaction(store, store::TxMode::write, body);
    if (status.ok() || status.error().code != ErrorCode::conflict || !status.error().field.empty()) return status;
  }
  return Error{ErrorCode::conflict, std::string(fallback_field), status.error().message};
}

Status check_one_line(std::string_view field, std::string_view value, size_t max) {
  if (value.size() > max) return invalid(std::string(field), fmt::format("is longer than {} characters", max));
  if (value.find_first_of("\r\n") != std::string_view::npos) return invalid(std::string(field), "must be one line");
  return {};
}

std::vector<Error> member_field_errors(const FieldValues& input, std::string_view country, const CivilDate& today,
                                      FieldValues* checked) {
  std::vector<Error> errors;
  for (const auto& [field, value] : input) {
    if (!member_field(field))
      errors.push_back(Error{ErrorCode::invalid_argument, field,
                             "is not a field privox collects for members (see `privox datamap`)"});
    else if (Status s = refuse_card_numbers({{field, value}}); !s.ok())
      errors.push_back(s.error());
  }
  if (!errors.empty()) return errors;  // a card number anywhere stops the rest being read at all
  FieldValues out;
  for (const FieldSpec* field : member_fields()) {
    const FieldSpec& f = *field;
    const auto it = input.find(f.name);
    if (it == input.end() || trim(it->second).empty()) {
      if (f.mandatory)
        errors.push_back(Error{ErrorCode::invalid_argument, std::string(f.name), fmt::format("is required: {}", f.description)});
      continue;
    }
    Result<std::string> value = check_field(f, it->second, country, today);
    if (!value.ok()) {
      errors.push_back(value.error());
      continue;
    }
    out.emplace(f.name, std::move(*value));
  }
  // The provider reports brand and last four together; one without the other is a mistake.
  const bool brand = out.count("card_brand"), last4 = out.count("card_last4");
  if (errors.empty() && brand != last4)
    errors.push_back(Error{ErrorCode::invalid_argument, brand ? "card_last4" : "card_brand",
                           "card brand and last four digits must be given together"});
  if (checked) *checked = std::move(out);
  return errors;
}

Result<FieldValues> validate_member(const FieldValues& input, std::string_view country, const CivilDate& today) {
  FieldValues out;
  std::vector<Error> errors = member_field_errors(input, country, today, &out);
  if (!errors.empty()) return std::move(errors.front());
  return out;
}

}  // namespace privox::accounts
