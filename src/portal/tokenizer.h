#pragma once
// A stand-in for the third-party payment provider, run as its own process (`privox tokenizer`):
// it is NOT part of privox proper and exists so that sign-up can be built and tested end to end
// without a real provider. It behaves as one does:
//   POST /v1/tokens        from the browser (CORS for one allowed origin): number, exp_month,
//                          exp_year, cvc -> token, brand, last4, expiry. The number must pass the
//                          Luhn check and be a known brand; the expiry must not have passed.
//   GET  /v1/tokens/{tok}  from privox, with "Authorization: Bearer <api key>" (compared in
//                          constant time) -> brand, last4, expiry.
// The card number and CVC are never logged or stored; only token -> brand/last4/expiry is kept,
// in memory.
//
// Thread-safety: the token table is guarded by a mutex; handlers may run on any thread.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "http/server.h"
#include "portal/payments.h"

namespace privox::portal {

// True when the digits pass the Luhn check (13 to 19 digits, nothing else).
bool luhn_valid(std::string_view digits);
// visa, mastercard, amex, discover, jcb, diners, unionpay; nullopt when unknown.
std::optional<std::string> card_brand(std::string_view digits);

class Tokenizer {
 public:
  Tokenizer(std::string allow_origin, std::string api_key, const Clock& clock)
      : allow_origin_(std::move(allow_origin)), api_key_(std::move(api_key)), clock_(clock) {}

  // The tokenizer's routes.
  http::Router router();

 private:
  http::Response create(const http::Exchange& e);
  http::Response describe(const http::Exchange& e);
  http::Response preflight(const http::Exchange& e) const;
  void add_cors(http::Response& res) const;

  const std::string allow_origin_;
  const std::string api_key_;
  const Clock& clock_;
  Mutex mu_;
  std::map<std::string, CardDetails> tokens_ GUARDED_BY(mu_);
};

}  // namespace privox::portal
