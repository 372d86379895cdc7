#pragma once
// Invoices and credit notes (issue 17). An invoice bills a company for one calendar month (UTC):
//   - seats: the company's phone lines created before the month's end that it still holds when
//     the invoice is issued (a removed line leaves no row, so it is not billed; invoices are
//     issued after the month, so this is the month's end as far as the store can tell) x
//     billing.seat_price_micros;
//   - usage: the cost rating/ put on each answered outbound call of the company that began in the
//     month (traffic/), read through traffic/cdr.h under the billing purpose, so the read is one
//     audited `traffic.list` entry. A rated call in another currency than billing.currency is
//     refused, naming both: an invoice has one currency;
//   - tax: the subtotal x the rate billing.tax_rates gives the company's country (rounded half up
//     to the micro); a country without a rate is refused.
// Amounts are integer millionths of the currency, as rating/ prices calls.
//
// Numbers: invoices and credit notes share ONE gap-free sequence per operator. The issuing write
// transaction raises the counter row (billing_counters) and inserts the invoice together, so a
// number is used exactly when an invoice commits, on SQLite and PostgreSQL alike.
//
// Issued invoices are immutable: this header has no way to change one (and no SQL elsewhere may
// name the table, app/structure_test.cpp). A correction is a credit note that names the invoice,
// takes the next number, and credits at most what the invoice and earlier notes leave.
//
// Thread-safety: safe from any thread (all state in the store).

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::billing {

struct InvoiceLine {
  std::string description;
  int64_t quantity = 0;
  int64_t unit_micros = 0;
  int64_t amount_micros = 0;
};

struct Invoice {
  std::string id, company_id, period;  // period: YYYY-MM
  int64_t number = 0;                  // 0: not issued (a computed draft)
  int64_t issued_at_us = 0;
  std::string currency;
  std::vector<InvoiceLine> lines;
  int64_t subtotal_micros = 0, tax_rate_bp = 0, tax_micros = 0, total_micros = 0;
  std::string status;  // "draft" (computed, never stored) or "issued"
  std::string kind;    // "invoice" or "credit_note"
  std::string credits_invoice_id, reason, issued_by;
  // An issued invoice's charging (charges.h), as find_invoice and invoices_of_company read it;
  // none for a credit note or a draft.
  struct Payment {
    std::string status;  // due, pending, paid, declined, failed, unpaid (charges.h)
    int64_t attempts = 0;
    int64_t next_attempt_at_us = 0;  // 0: none scheduled
    int64_t at_us = 0;               // the latest attempt's
    std::string reference;           // paid: the provider's charge id
    std::string message;             // declined/failed: why, in words
    int64_t refunded_minor = 0;      // refunded since, for credit notes issued after it was paid
  };
  std::optional<Payment> payment;
  // A credit note's refund (charges.h, Refunds); none for an invoice, or while none was made.
  struct Refund {
    std::string status;  // pending, succeeded, failed, not_needed
    int64_t amount_minor = 0;
    std::string currency, reference, message;  // reference: the provider's refund id
    int64_t at_us = 0;
  };
  std::optional<Refund> refund;
};

// The invoice as JSON, for the CLI and the API: every field, the amounts in micros and as exact
// decimal text ("total": "18.216"), the number as text too ("number_text": "INV-000042"), and for
// an issued invoice "payment": {status, attempts, next_attempt_at, paid_at, reference, message,
// refunded}; a credit note has "refund": null, or {status, amount_minor, amount, reference,
// message, at}.
nlohmann::json to_json(const Invoice& invoice);

// "INV-000042" for an invoice, "CN-000043" for a credit note: the kind and the sequence's number.
std::string number_text(const Invoice& invoice);
// 12'500'000 -> "12.50", 16'000 -> "0.016": an exact decimal of the currency, at least two places.
std::string amount_text(int64_t micros);

// "GB:20,FR:20,US:0,IE:23.5": country -> basis points (20% = 2000). Errors: invalid on
// "billing.tax_rates" naming the item at fault (not CC:percent, a percent above 100 or with more
// than two decimals, a country twice).
Result<std::map<std::string, int64_t>> parse_tax_rates(std::string_view text);
// amount x bp / 10000, rounded half up; no overflow for any amount below 9.2e14 units.
int64_t tax_of(int64_t amount_micros, int64_t bp);

// [start, end) of a YYYY-MM month in UTC microseconds. invalid on "month" otherwise.
struct Period {
  int64_t start_us = 0, end_us = 0;
};
Result<Period> parse_month(std::string_view month);

// The invoice the company would get for `month` now, not stored (status "draft", number 0). The
// traffic read is audited under `actor`. Errors: invalid on "month" (malformed, or not yet
// ended); not_found on "company"; invalid on "company" when the tax rates have no rate for its
// country; invalid on "traffic" when a rated call is in another currency; store errors.
Result<Invoice> compute_invoice(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                const std::string& company_id, std::string_view month, const std::string& actor);

// Computes and issues the invoice: the next number, one row, one `billing.invoice_issue` audit
// entry, in one write transaction. The same errors as compute_invoice, and conflict on "month"
// when the company already has an invoice for it.
Result<Invoice> issue_invoice(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                              const std::string& company_id, std::string_view month, const std::string& actor);

// Issues a credit note against an invoice: `net_micros` before tax (nullopt: all that is left to
// credit), taxed at the invoice's rate, with the next number and a `billing.credit_note` audit
// entry. Errors: not_found on "id"; invalid on "id" when it names a credit note; invalid on
// "reason" (empty, over 500 characters, control characters); invalid on "amount" (not positive,
// or more than the invoice and earlier notes leave).
Result<Invoice> issue_credit_note(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                  const std::string& invoice_id, const std::string& reason,
                                  std::optional<int64_t> net_micros, const std::string& actor);

// Retention (retention/'s `invoices` job): deletes, in the caller's write transaction, the invoices
// issued before `cutoff_us` with their credit notes and charge attempts, at most `limit` invoices after the cursor
// (issued_at_us, id), oldest first. An invoice one of whose credit notes is not yet before the
// cutoff is kept, and seen, until that note is too: the note refers to it. This is the only path
// that removes an invoice.
struct InvoiceExpiry {
  int64_t seen = 0, deleted = 0;  // invoices looked at, and deleted with their notes
  int64_t cursor_us = 0;
  std::string cursor_id;
};
Result<InvoiceExpiry> delete_expired_invoices(store::Session& s, int64_t cutoff_us, int64_t after_us,
                                              const std::string& after_id, size_t limit);

// Reads, inside the caller's transaction: one invoice or credit note (nullopt if none has the id),
// and a company's, by number.
Result<std::optional<Invoice>> find_invoice(store::Session& s, const std::string& id);
Result<std::vector<Invoice>> invoices_of_company(store::Session& s, const std::string& company_id);

}  // namespace privox::billing
