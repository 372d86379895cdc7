// The data map's part for billing/: invoices and their charge attempts are a tenant's business
// records (the company, its seats, its rated usage in totals, what was charged and refunded), no field about a person (privacy/datamap.h).
#include "billing/module.h"

#include <array>

namespace privox::billing {
namespace {

using privacy::StructuralColumn;

// clang-format off
constexpr std::array<StructuralColumn, 43> kStructural = {
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
  StructuralColumn{"invoice_charges", "invoice_id", "the invoice an attempt charges"},
  StructuralColumn{"invoice_charges", "attempt", "the attempt's number, from 1"},
  StructuralColumn{"invoice_charges", "idempotency_key", "invoice-{id}-{attempt}, sent to the payment provider"},
  StructuralColumn{"invoice_charges", "state", "pending, succeeded, declined or failed"},
  StructuralColumn{"invoice_charges", "provider_reference", "the payment provider's charge id of a succeeded attempt"},
  StructuralColumn{"invoice_charges", "message", "the provider's reason for a decline, in words, about the card; blanked once the invoice is paid"},
  StructuralColumn{"invoice_charges", "amount_minor", "the amount charged, in the currency's minor units"},
  StructuralColumn{"invoice_charges", "currency", "an ISO 4217 code"},
  StructuralColumn{"invoice_charges", "created_at_us", "when the attempt began"},
  StructuralColumn{"invoice_charges", "at_us", "when its state last changed"},
  StructuralColumn{"invoice_charges", "next_attempt_at_us", "when the next attempt is due; none when paid or out of retries"},
  StructuralColumn{"invoice_charges", "card_token_sealed", "the payment provider's token of the card the attempt sent, sealed; kept only while pending, so that a retry re-sends it"},
  StructuralColumn{"invoice_charges", "credited_micros", "the credit notes' total the attempt's amount deducted"},
  StructuralColumn{"invoice_refunds", "credit_note_id", "the credit note refunded"},
  StructuralColumn{"invoice_refunds", "invoice_id", "the paid invoice the note corrects"},
  StructuralColumn{"invoice_refunds", "idempotency_key", "credit-{credit note id}, sent to the payment provider"},
  StructuralColumn{"invoice_refunds", "state", "pending, succeeded, failed or not_needed"},
  StructuralColumn{"invoice_refunds", "charge_reference", "the payment provider's id of the charge refunded"},
  StructuralColumn{"invoice_refunds", "provider_reference", "the payment provider's refund id"},
  StructuralColumn{"invoice_refunds", "message", "the provider's reason for refusing a refund, in words"},
  StructuralColumn{"invoice_refunds", "amount_minor", "the amount refunded, in the currency's minor units"},
  StructuralColumn{"invoice_refunds", "currency", "an ISO 4217 code"},
  StructuralColumn{"invoice_refunds", "created_at_us", "when the refund began"},
  StructuralColumn{"invoice_refunds", "at_us", "when its state last changed"},
  StructuralColumn{"invoice_refunds", "next_attempt_at_us", "when a pending refund is asked again"},
};
// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"billing", {}, kStructural}; }

}  // namespace privox::billing
