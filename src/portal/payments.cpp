#include "portal/payments.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <optional>

#include "common/json.h"

namespace privox::portal {
namespace {

size_t append_body(char* data, size_t size, size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * count > size_t{64} * 1024) return 0;  // a provider's answer is small
  body->append(data, size * count);
  return size * count;
}

bool token_is_safe(const std::string& token) {
  if (token.empty() || token.size() > 200) return false;
  for (char c : token)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

// A definite refusal: 400 names the field at fault; 409 says the idempotency key was used before
// with other values (Stripe's answer too), which asking again cannot change, so it is not
// `unavailable` (that would be retried with the same key for ever). nullopt for other answers.
std::optional<Error> refusal_of(long status, const nlohmann::json& j, const char* default_field) {
  const auto said = [&](const char* pointer, const std::string& fallback) {
    return j.is_object() ? j.value(nlohmann::json::json_pointer(pointer), fallback) : fallback;
  };
  if (status == 409)
    return Error{ErrorCode::conflict, "Idempotency-Key",
                 "the payment provider refused the key: it was used before with another card, amount or currency"};
  if (status == 400 && j.is_object())
    return invalid(said("/error/field", default_field), said("/error/message", "refused by the payment provider"));
  return std::nullopt;
}

// The id of what a 200/201 answer created; unavailable for any other answer (it may have worked).
Result<std::string> created_id(long status, const nlohmann::json& j) {
  if ((status != 200 && status != 201) || !j.is_object() || !j.contains("id") || !j["id"].is_string())
    return make_error(ErrorCode::unavailable, fmt::format("the payment provider answered HTTP {}", status));
  return j["id"].get<std::string>();
}

class HttpPaymentProvider final : public PaymentProvider {
 public:
  HttpPaymentProvider(std::string base_url, std::string api_key)
      : base_url_(std::move(base_url)), api_key_(std::move(api_key)) {
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  }

  Result<CardDetails> describe(const std::string& token) override {
    if (!token_is_safe(token)) return invalid("payment_token", "is not a token the payment provider issued");
    std::string body;
    PRIVOX_ASSIGN(const long status, exchange(fmt::format("{}/v1/tokens/{}", base_url_, token), nullptr, {}, body));
    if (status == 404) return invalid("payment_token", "the payment provider does not know this token");
    if (status != 200)
      return make_error(ErrorCode::unavailable, fmt::format("the payment provider answered HTTP {}", status));
    const nlohmann::json j = json::parse_untrusted(body).value_or(nlohmann::json());
    if (!j.is_object() || !j.contains("brand") || !j.contains("last4") || !j.contains("expiry") ||
        !j["brand"].is_string() || !j["last4"].is_string() || !j["expiry"].is_string())
      return make_error(ErrorCode::unavailable, "the payment provider's answer lacks brand, last4 or expiry");
    return CardDetails{j["brand"].get<std::string>(), j["last4"].get<std::string>(), j["expiry"].get<std::string>()};
  }

  Result<Charge> charge(const ChargeRequest& request) override {
    if (!token_is_safe(request.token)) return invalid("payment_token", "is not a token the payment provider issued");
    const std::string payload = nlohmann::json{{"token", request.token},
                                               {"amount", request.amount_minor_units},
                                               {"currency", request.currency}}
                                    .dump();
    std::string body;
    PRIVOX_ASSIGN(const long status, exchange(fmt::format("{}/v1/charges", base_url_), &payload,
                                              "Idempotency-Key: " + request.idempotency_key, body));
    const nlohmann::json j = json::parse_untrusted(body).value_or(nlohmann::json());
    if (status == 402 && j.is_object())  // declined: the provider says why in words
      return Charge{"", true, j.value(nlohmann::json::json_pointer("/error/message"), std::string("the card was declined"))};
    if (status == 404) return invalid("payment_token", "the payment provider does not know this token");
    if (auto refused = refusal_of(status, j, "amount")) return *refused;
    PRIVOX_ASSIGN(std::string id, created_id(status, j));
    return Charge{std::move(id), false, ""};
  }

  Result<Refund> refund(const RefundRequest& request) override {
    if (!token_is_safe(request.charge_id)) return invalid("charge", "is not a charge the payment provider made");
    const std::string payload = nlohmann::json{{"charge", request.charge_id},
                                               {"amount", request.amount_minor_units},
                                               {"currency", request.currency}}
                                    .dump();
    std::string body;
    PRIVOX_ASSIGN(const long status, exchange(fmt::format("{}/v1/refunds", base_url_), &payload,
                                              "Idempotency-Key: " + request.idempotency_key, body));
    const nlohmann::json j = json::parse_untrusted(body).value_or(nlohmann::json());
    if (status == 404) return invalid("charge", "the payment provider does not know this charge");
    if (auto refused = refusal_of(status, j, "amount")) return *refused;
    PRIVOX_ASSIGN(std::string id, created_id(status, j));
    return Refund{std::move(id)};
  }

  std::string browser_origin() const override {
    const size_t scheme = base_url_.find("://");
    const size_t path = scheme == std::string::npos ? std::string::npos : base_url_.find('/', scheme + 3);
    return base_url_.substr(0, path);
  }

 private:
  // One HTTP exchange with the provider: a GET, or a POST of JSON `post` with one extra header.
  // The answer's status; unavailable when the provider cannot be reached.
  Result<long> exchange(const std::string& url, const std::string* post, const std::string& extra_header,
                        std::string& body) const {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return make_error(ErrorCode::internal, "cannot start an HTTP client");
    const std::string auth = "Authorization: Bearer " + api_key_;
    curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
    if (!extra_header.empty()) headers = curl_slist_append(headers, extra_header.c_str());
    if (post) headers = curl_slist_append(headers, "Content-Type: application/json");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers, curl_slist_free_all);
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
    if (post) curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, post->c_str());
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    const CURLcode rc = curl_easy_perform(curl.get());
    if (rc != CURLE_OK)
      return make_error(ErrorCode::unavailable,
                        fmt::format("the payment provider cannot be reached: {}", curl_easy_strerror(rc)));
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    return status;
  }

  std::string base_url_;
  const std::string api_key_;
};

}  // namespace

std::unique_ptr<PaymentProvider> make_http_payment_provider(std::string base_url, std::string api_key) {
  return std::make_unique<HttpPaymentProvider>(std::move(base_url), std::move(api_key));
}

Result<std::string> read_api_key_file(const std::string& path, const std::string& flag) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return invalid(flag, fmt::format("cannot read {}", path));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.erase(0, 1);
  if (line.size() < 16) return invalid(flag, fmt::format("{} must hold an API key of at least 16 characters", path));
  return line;
}

}  // namespace privox::portal
