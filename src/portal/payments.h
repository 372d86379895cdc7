#pragma once
// The payment provider's HTTP client (P3). The seam itself (PaymentProvider, CardDetails,
// ChargeRequest, Charge) is billing/payments.h, below both billing/ and portal/, so that invoices
// are charged through the same interface; its names are brought into portal:: here, where they
// were first declared, so that their users need not change.
//
// HttpPaymentProvider speaks to privox's own stand-in (`privox tokenizer`, tokenizer.h) over its
// small REST API. Thread-safety: callable from several handler threads at once.

#include <memory>
#include <string>

#include "billing/payments.h"
#include "common/result.h"

namespace privox::portal {

using billing::CardDetails;
using billing::Charge;
using billing::ChargeRequest;
using billing::PaymentProvider;
using billing::Refund;
using billing::RefundRequest;

// GET {base_url}/v1/tokens/{token}, POST {base_url}/v1/charges and POST {base_url}/v1/refunds
// (each with an Idempotency-Key), each with "Authorization: Bearer {api_key}". A 409 (the key was
// used before with other values) is a conflict on "Idempotency-Key", never `unavailable`.
std::unique_ptr<PaymentProvider> make_http_payment_provider(std::string base_url, std::string api_key);

// Reads an API key file: its first line, trimmed. invalid_argument on `flag` when unreadable or empty.
Result<std::string> read_api_key_file(const std::string& path, const std::string& flag);

}  // namespace privox::portal
