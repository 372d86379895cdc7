// The data map's part for billing/: invoices are a tenant's business records (the company, its
// seats, its rated usage in totals), no field about a person (privacy/datamap.h).
#include "billing/module.h"

#include <array>

namespace privox::billing {
namespace {

using privacy::StructuralColumn;

// clang-format off
constexpr std::array<StructuralColumn, 18> kStructural = {
  StructuralColumn{"billing_counters", "name", "which sequence the row numbers (the operator's invoices)"},
  StructuralColumn{"billing_counters", "last_number", "the last number issued in the sequence"},
  StructuralColumn{"invoices", "id", "random identifier of an invoice or credit note"},
  StructuralColumn{"invoices", "company_id", "the tenant invoiced; a business, not a person"},
  StructuralColumn{"invoices", "period", "the month invoiced (YYYY-MM)"},
  StructuralColumn{"invoices", "number", "the invoice's number in the operator's sequence"},
  StructuralColumn{"invoices", "issued_at_us", "when it was issued"},
  StructuralColumn{"invoices", "currency", "an ISO 4217 code"},
  StructuralColumn{"invoices", "lines", "what is charged: seat count and price, usage totals per currency; no number called, no line or person named"},
  StructuralColumn{"invoices", "subtotal_micros", "an amount, in millionths of the currency"},
  StructuralColumn{"invoices", "tax_rate_bp", "the tax rate applied, in hundredths of a percent"},
  StructuralColumn{"invoices", "tax_micros", "an amount, in millionths of the currency"},
  StructuralColumn{"invoices", "total_micros", "an amount, in millionths of the currency"},
  StructuralColumn{"invoices", "status", "always issued: drafts are computed, never stored"},
  StructuralColumn{"invoices", "kind", "invoice or credit note"},
  StructuralColumn{"invoices", "credits_invoice_id", "the invoice a credit note corrects"},
  StructuralColumn{"invoices", "reason", "the operator's reason for a credit note, about the bill; staff are told not to name people in it"},
  StructuralColumn{"invoices", "issued_by", "the operator account that issued it (staff id or cli:), as the audit log names actors"},
};
// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"billing", {}, kStructural}; }

}  // namespace privox::billing
