#pragma once
// A stand-in for the third-party payment provider, run as its own process (`privox tokenizer`):
// it is NOT part of privox proper and exists so that sign-up can be built and tested end to end
// without a real provider. It behaves as one does:
//   POST /v1/tokens        from the browser (CORS for one allowed origin): number, exp_month,
//                          exp_year, cvc -> token, brand, last4, expiry. The number must pass the
//                          Luhn check and be a known brand; the expiry must not have passed.
//   GET  /v1/tokens/{tok}  from privox, with "Authorization: Bearer <api key>" (compared in
//                          constant time) -> brand, last4, expiry.
//   POST /v1/charges       from privox, with the API key and an Idempotency-Key header (required):
//                          {token, amount (minor units, > 0), currency} -> 201 {id, amount,
//                          currency, status: "succeeded"}; a card that declines -> 402 with an
//                          error message in words. A key seen before with the same token, amount
//                          and currency answers exactly as the first time and charges nothing
//                          more; with other values it is refused (409, Idempotency-Key).
//                          Test card kDecliningCard always declines, as providers' test cards do.
//   POST /v1/refunds       from privox, with the API key and an Idempotency-Key header (required):
//                          {charge (a charge's id), amount (minor units, > 0), currency (the
//                          charge's)} -> 201 {id, charge, amount, currency, status: "succeeded"}.
//                          The refunds of one charge never add up to more than it charged (400 on
//                          "amount", saying what is left); an unknown charge is 404 on "charge". A
//                          key is idempotent as for charges (replayed, or 409 with other values).
//                          Every refusal is JSON {error: {message, field}}.
// The card number and CVC are never logged or stored; only token -> brand/last4/expiry is kept,
// in memory, with the charges made.
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

// A test card number (Luhn-valid visa) whose token the stand-in accepts but every charge of which
// is declined.
inline constexpr std::string_view kDecliningCard = "4000000000000002";

class Tokenizer {
 public:
  Tokenizer(std::string allow_origin, std::string api_key, const Clock& clock)
      : allow_origin_(std::move(allow_origin)), api_key_(std::move(api_key)), clock_(clock) {}

  // The tokenizer's routes.
  http::Router router();

 private:
  http::Response create(const http::Exchange& e);
  http::Response describe(const http::Exchange& e);
  http::Response charge(const http::Exchange& e);
  http::Response refund(const http::Exchange& e);
  bool authorised(const http::Exchange& e) const;
  http::Response preflight(const http::Exchange& e) const;
  void add_cors(http::Response& res) const;

  const std::string allow_origin_;
  const std::string api_key_;
  const Clock& clock_;
  Mutex mu_;
  struct Card {
    CardDetails details;
    bool declines = false;
  };
  // A charge as first answered, kept under its idempotency key.
  struct PastCharge {
    std::string fingerprint;  // token, amount, currency
    unsigned status = 0;
    std::string body;
  };
  std::map<std::string, Card> tokens_ GUARDED_BY(mu_);
  // A succeeded charge, by its id: what it took and how much of it was refunded since.
  struct MadeCharge {
    int64_t amount = 0, refunded = 0;
    std::string currency;
  };
  std::map<std::string, PastCharge> charges_ GUARDED_BY(mu_);
  std::map<std::string, PastCharge> refunds_ GUARDED_BY(mu_);  // succeeded refunds, by idempotency key
  std::map<std::string, MadeCharge> made_ GUARDED_BY(mu_);
  int64_t charges_made_ GUARDED_BY(mu_) = 0;
  int64_t refunds_made_ GUARDED_BY(mu_) = 0;

 public:
  // How many charges succeeded (for tests: a retried key adds none).
  int64_t charges_made_for_test() {
    MutexLock lock(mu_);
    return charges_made_;
  }
  // How many refunds were made (a retried key adds none), and how much of a charge was refunded.
  int64_t refunds_made_for_test() {
    MutexLock lock(mu_);
    return refunds_made_;
  }
  int64_t refunded_for_test(const std::string& charge_id) {
    MutexLock lock(mu_);
    const auto it = made_.find(charge_id);
    return it == made_.end() ? 0 : it->second.refunded;
  }
};

}  // namespace privox::portal
