#include "portal/tokenizer.h"

#include <sodium.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/json.h"


namespace privox::portal {
namespace {

// 30 random lower-case letters (141 bits). No digits: privox refuses any field holding a
// Luhn-valid run of digits (P3), and a hex token now and then holds one by chance.
std::string new_token() {
  std::string token = "tok_";
  for (int i = 0; i < 30; ++i) token += static_cast<char>('a' + randombytes_uniform(26));
  return token;
}

using http::bhttp::status;
using http::bhttp::verb;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool starts_in(std::string_view digits, int lo, int hi, size_t width) {
  if (digits.size() < width) return false;
  const int prefix = std::stoi(std::string(digits.substr(0, width)));
  return prefix >= lo && prefix <= hi;
}

// A JSON string or number as text: browsers send exp_month as either.
std::optional<std::string> text_of(const nlohmann::json& body, const char* key) {
  if (!body.contains(key)) return std::nullopt;
  if (body[key].is_string()) return body[key].get<std::string>();
  if (body[key].is_number_integer()) return std::to_string(body[key].get<int64_t>());
  return std::nullopt;
}

}  // namespace

bool luhn_valid(std::string_view digits) {
  if (digits.size() < 13 || digits.size() > 19 || !all_digits(digits)) return false;
  int sum = 0;
  bool double_it = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (double_it && (d *= 2) > 9) d -= 9;
    sum += d;
    double_it = !double_it;
  }
  return sum % 10 == 0;
}

std::optional<std::string> card_brand(std::string_view d) {
  if (!all_digits(d)) return std::nullopt;
  if (starts_in(d, 34, 34, 2) || starts_in(d, 37, 37, 2)) return "amex";
  if (starts_in(d, 51, 55, 2) || starts_in(d, 2221, 2720, 4)) return "mastercard";
  if (starts_in(d, 6011, 6011, 4) || starts_in(d, 65, 65, 2) || starts_in(d, 644, 649, 3)) return "discover";
  if (starts_in(d, 3528, 3589, 4)) return "jcb";
  if (starts_in(d, 300, 305, 3) || starts_in(d, 36, 36, 2) || starts_in(d, 38, 39, 2)) return "diners";
  if (starts_in(d, 62, 62, 2)) return "unionpay";
  if (d.front() == '4') return "visa";
  return std::nullopt;
}

http::Router Tokenizer::router() {
  http::Router r;
  r.add(verb::post, "/v1/tokens", [this](const http::Exchange& e) { return create(e); });
  r.add(verb::options, "/v1/tokens", [this](const http::Exchange& e) { return preflight(e); });
  r.add(verb::get, "/v1/tokens/{token}", [this](const http::Exchange& e) { return describe(e); });
  r.add(verb::post, "/v1/charges", [this](const http::Exchange& e) { return charge(e); });
  r.add(verb::post, "/v1/refunds", [this](const http::Exchange& e) { return refund(e); });
  r.add(verb::get, "/healthz", [](const http::Exchange&) {
    return http::json_response(status::ok, {{"status", "ok"}, {"service", "tokenizer (payment provider stand-in)"}});
  });
  return r;
}

void Tokenizer::add_cors(http::Response& res) const {
  res.set("Access-Control-Allow-Origin", allow_origin_);
  res.set("Vary", "Origin");
}

http::Response Tokenizer::preflight(const http::Exchange& e) const {
  http::Response res{status::no_content, 11};
  if (e.header("Origin") == allow_origin_) {
    add_cors(res);
    res.set("Access-Control-Allow-Methods", "POST");
    res.set("Access-Control-Allow-Headers", "Content-Type");
    res.set("Access-Control-Max-Age", "600");
  }
  return res;
}

http::Response Tokenizer::create(const http::Exchange& e) {
  const std::string_view origin = e.header("Origin");
  auto answer = [&](http::Response res) {
    if (origin == allow_origin_) add_cors(res);
    return res;
  };
  if (!origin.empty() && origin != allow_origin_)
    return http::json_error(status::forbidden, "this origin may not create tokens", "Origin");
  const nlohmann::json body = json::parse_untrusted(e.request().body()).value_or(nlohmann::json());
  if (!body.is_object()) return answer(http::json_error(status::bad_request, "the body must be a JSON object"));
  std::string number;
  if (auto n = text_of(body, "number")) {
    for (char c : *n)
      if (c != ' ' && c != '-') number += c;
  }
  if (!luhn_valid(number)) return answer(http::json_error(status::bad_request, "is not a valid card number", "number"));
  const std::optional<std::string> brand = card_brand(number);
  if (!brand) return answer(http::json_error(status::bad_request, "is not a card brand we accept", "number"));
  const auto month_text = text_of(body, "exp_month"), year_text = text_of(body, "exp_year");
  const int month = month_text && all_digits(*month_text) && month_text->size() <= 2 ? std::stoi(*month_text) : 0;
  int year = year_text && all_digits(*year_text) && year_text->size() <= 4 ? std::stoi(*year_text) : 0;
  if (year > 0 && year < 100) year += 2000;
  if (month < 1 || month > 12) return answer(http::json_error(status::bad_request, "must be 1 to 12", "exp_month"));
  const CivilDate today = utc_date(clock_.now_us());
  if (year < today.year || year > today.year + 20 || (year == today.year && month < static_cast<int>(today.month)))
    return answer(http::json_error(status::bad_request, "the card has expired or the year is wrong", "exp_year"));
  const auto cvc = text_of(body, "cvc");
  const size_t cvc_len = *brand == "amex" ? 4 : 3;
  if (!cvc || !all_digits(*cvc) || cvc->size() != cvc_len)
    return answer(http::json_error(status::bad_request, fmt::format("must be {} digits", cvc_len), "cvc"));

  const std::string token = new_token();
  CardDetails card{*brand, number.substr(number.size() - 4), fmt::format("{:04}-{:02}", year, month)};
  {
    MutexLock lock(mu_);
    tokens_[token] = Card{card, number == kDecliningCard};
  }
  return answer(http::json_response(
      status::created, {{"token", token}, {"brand", card.brand}, {"last4", card.last4}, {"expiry", card.expiry}}));
}

bool Tokenizer::authorised(const http::Exchange& e) const {
  const std::string expected = "Bearer " + api_key_;
  const std::string_view presented = e.header("Authorization");
  return presented.size() == expected.size() &&
         sodium_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

http::Response Tokenizer::describe(const http::Exchange& e) {
  if (!authorised(e)) return http::json_error(status::unauthorized, "a valid API key is required", "Authorization");
  MutexLock lock(mu_);
  const auto it = tokens_.find(std::string(e.param("token")));
  if (it == tokens_.end()) return http::json_error(status::not_found, "no such token", "token");
  const CardDetails& card = it->second.details;
  return http::json_response(status::ok, {{"brand", card.brand}, {"last4", card.last4}, {"expiry", card.expiry}});
}

http::Response Tokenizer::charge(const http::Exchange& e) {
  if (!authorised(e)) return http::json_error(status::unauthorized, "a valid API key is required", "Authorization");
  const std::string key(e.header("Idempotency-Key"));
  if (key.empty() || key.size() > 255)
    return http::json_error(status::bad_request, "is required (1 to 255 characters)", "Idempotency-Key");
  const nlohmann::json body = json::parse_untrusted(e.request().body()).value_or(nlohmann::json());
  if (!body.is_object()) return http::json_error(status::bad_request, "the body must be a JSON object");
  const auto token = text_of(body, "token"), currency = text_of(body, "currency");
  if (!token) return http::json_error(status::bad_request, "is required", "token");
  if (!body.contains("amount") || !body["amount"].is_number_integer() || body["amount"].get<int64_t>() <= 0)
    return http::json_error(status::bad_request, "must be a positive whole number of minor units", "amount");
  if (!currency || currency->size() != 3) return http::json_error(status::bad_request, "must be an ISO 4217 code", "currency");
  const int64_t amount = body["amount"].get<int64_t>();
  const std::string fingerprint = fmt::format("{}|{}|{}", *token, amount, *currency);

  MutexLock lock(mu_);
  if (const auto past = charges_.find(key); past != charges_.end()) {
    if (past->second.fingerprint != fingerprint)
      return http::json_error(status::conflict, "was used before for another charge", "Idempotency-Key");
    http::Response again{static_cast<status>(past->second.status), 11};
    again.set(http::bhttp::field::content_type, "application/json");
    again.set("Idempotent-Replayed", "true");
    again.body() = past->second.body;
    again.prepare_payload();
    return again;
  }
  const auto card = tokens_.find(*token);
  if (card == tokens_.end()) return http::json_error(status::not_found, "no such token", "token");
  const std::string id = "ch_" + new_token().substr(4);
  http::Response res = card->second.declines
                           ? http::json_error(status::payment_required, "your card was declined by its bank", "token")
                           : http::json_response(status::created, {{"id", id},
                                                                   {"amount", amount},
                                                                   {"currency", *currency},
                                                                   {"status", "succeeded"}});
  if (!card->second.declines) {
    ++charges_made_;
    made_[id] = MadeCharge{amount, 0, *currency};
  }
  charges_[key] = PastCharge{fingerprint, res.result_int(), res.body()};
  return res;
}

http::Response Tokenizer::refund(const http::Exchange& e) {
  if (!authorised(e)) return http::json_error(status::unauthorized, "a valid API key is required", "Authorization");
  const std::string key(e.header("Idempotency-Key"));
  if (key.empty() || key.size() > 255)
    return http::json_error(status::bad_request, "is required (1 to 255 characters)", "Idempotency-Key");
  const nlohmann::json body = json::parse_untrusted(e.request().body()).value_or(nlohmann::json());
  if (!body.is_object()) return http::json_error(status::bad_request, "the body must be a JSON object");
  const auto charge_id = text_of(body, "charge"), currency = text_of(body, "currency");
  if (!charge_id || charge_id->empty()) return http::json_error(status::bad_request, "is required", "charge");
  if (!body.contains("amount") || !body["amount"].is_number_integer() || body["amount"].get<int64_t>() <= 0)
    return http::json_error(status::bad_request, "must be a positive whole number of minor units", "amount");
  if (!currency || currency->size() != 3) return http::json_error(status::bad_request, "must be an ISO 4217 code", "currency");
  const int64_t amount = body["amount"].get<int64_t>();
  const std::string fingerprint = fmt::format("{}|{}|{}", *charge_id, amount, *currency);

  MutexLock lock(mu_);
  if (const auto past = refunds_.find(key); past != refunds_.end()) {
    if (past->second.fingerprint != fingerprint)
      return http::json_error(status::conflict, "was used before for another refund", "Idempotency-Key");
    http::Response again = http::json_response(status::created, nlohmann::json::parse(past->second.body));
    again.set("Idempotent-Replayed", "true");
    return again;
  }
  const auto made = made_.find(*charge_id);
  if (made == made_.end()) return http::json_error(status::not_found, "no such charge", "charge");
  MadeCharge& c = made->second;
  if (*currency != c.currency)
    return http::json_error(status::bad_request, fmt::format("must be the charge's currency, {}", c.currency), "currency");
  if (amount > c.amount - c.refunded)
    return http::json_error(status::bad_request,
                            fmt::format("is more than the charge has left to refund ({} of {})", c.amount - c.refunded,
                                        c.amount),
                            "amount");
  c.refunded += amount;
  ++refunds_made_;
  const nlohmann::json answer = {{"id", "re_" + new_token().substr(4)},
                                 {"charge", *charge_id},
                                 {"amount", amount},
                                 {"currency", *currency},
                                 {"status", "succeeded"}};
  refunds_[key] = PastCharge{fingerprint, 201, answer.dump()};
  return http::json_response(status::created, answer);
}

}  // namespace privox::portal
