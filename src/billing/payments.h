#pragma once
// The payment provider, as privox sees it (P3): the seam a real provider's client plugs into.
// Card details never reach privox: the sign-up page sends them straight to the provider, which
// answers with a token; privox receives only the token and asks the provider, server to server,
// what card it stands for (brand, last 4, expiry), and charges the token for invoices (billing/)
// and fees (portal/). It lives here, below both: billing/ charges invoices through it, and
// portal/payments.h holds the HTTP client of privox's own stand-in (`privox tokenizer`).
//
// Thread-safety: implementations must be callable from several threads at once.

#include <cstdint>
#include <string>

#include "common/result.h"

namespace privox::billing {

struct CardDetails {
  std::string brand;   // lower case: visa, mastercard, amex, ...
  std::string last4;   // four digits
  std::string expiry;  // YYYY-MM
};

// One charge of a card token on file (or just made in the browser) for an amount.
struct ChargeRequest {
  std::string token;
  int64_t amount_minor_units = 0;
  std::string currency;         // ISO 4217
  std::string idempotency_key;  // the same key never charges twice: the provider answers as the first time
};

// The provider's answer. A decline is an answer, not an error: nothing was charged.
struct Charge {
  std::string id;  // the provider's charge id, the payment reference; empty when declined
  bool declined = false;
  std::string decline_message;  // in words, for the payer
};

// A refund of (part of) a charge made before, e.g. when a credit note corrects a paid invoice.
struct RefundRequest {
  std::string charge_id;  // the provider's id of the charge refunded (Charge::id)
  int64_t amount_minor_units = 0;
  std::string currency;
  std::string idempotency_key;  // as for a charge: the same key never refunds twice
};

struct Refund {
  std::string id;  // the provider's refund id
};

class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;
  // The card the token stands for. invalid_argument on "payment_token" when the provider does not
  // know the token; unavailable when the provider cannot be reached or answers nonsense.
  virtual Result<CardDetails> describe(const std::string& token) = 0;
  // The origin the browser sends card details to (for the page and the CSP's connect-src); empty
  // when none.
  virtual std::string browser_origin() const = 0;
  // Charges the token. invalid_argument on "payment_token" when the provider does not know the
  // token, on "amount" or "currency" when it refuses them; unavailable when it cannot be reached
  // or answers nonsense (retrying with the same idempotency key is then safe); conflict on
  // "Idempotency-Key" when the provider saw the key before with another token, amount or currency
  // (nothing was charged by this request; asking again can only give the same answer).
  virtual Result<Charge> charge(const ChargeRequest& request) = 0;
  // Refunds part or all of a charge. invalid_argument on "charge" when the provider does not know
  // the charge, on "amount" when it is more than the charge has left to refund, on "currency";
  // conflict and unavailable as for charge(). This default is for a provider without refunds:
  // invalid_argument on "refund", which the caller records as a refund that failed.
  virtual Result<Refund> refund(const RefundRequest& request) {
    (void)request;
    return invalid("refund", "this payment provider does not take refunds");
  }
};

}  // namespace privox::billing
