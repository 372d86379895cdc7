#pragma once
// An invoice or credit note as a document: HTML (every value escaped) for the portal and as PDF
// (cairo's PDF surface, one A4 page per 30 lines) for download and the CLI. Both show the operator
// (the controller.* settings), the company, the number, the dates, the lines, the tax and the
// total, the amounts exact in the invoice's currency.
//
// Thread-safety: the functions are pure but for the_parties, which reads the store.

#include <string>

#include "accounts/accounts.h"
#include "billing/invoices.h"
#include "common/result.h"
#include "store/store.h"

namespace privox::billing {

struct Parties {
  std::string operator_name, operator_address, operator_email;
  accounts::Company company;
};

// The operator's details from its settings and the invoice's company, inside the caller's
// transaction. Errors: not_found on "company" when the company is gone; store errors.
Result<Parties> the_parties(store::Store& store, store::Session& s, const Invoice& invoice);

// A whole HTML document (UTF-8, no script, no external resource).
std::string invoice_html(const Invoice& invoice, const Parties& parties);
// A PDF document. `internal` when cairo fails to draw it.
Result<std::string> invoice_pdf(const Invoice& invoice, const Parties& parties);

}  // namespace privox::billing
