// The schema of billing/'s tables, invoices, their charge attempts and the operator's one invoice counter, as a migration
// part (store/schema.h). Released parts are never edited: a change is a part of a new version.
#include "billing/module.h"

namespace privox::billing {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {16,
       "billing",
       "invoices and credit notes, numbered in one gap-free sequence",
       {
           // The operator's invoice numbers: one row, whose last_number the issuing transaction
           // raises by one before it inserts the invoice. The UPDATE takes the row's write lock
           // (PostgreSQL) or runs under the database's write lock (SQLite), so concurrent issuers
           // queue and each sees the number the one before committed: no gap, no duplicate.
           R"(CREATE TABLE billing_counters (
             name TEXT PRIMARY KEY,
             last_number {i64} NOT NULL CHECK (last_number >= 0)))",
           "INSERT INTO billing_counters (name, last_number) VALUES ('invoice', 0)",
           // An issued invoice or credit note. Amounts in millionths of `currency`; a credit note's
           // amounts are positive and credit the invoice it names. `lines` is a JSON array of
           // {description, quantity, unit_micros, amount_micros}. A draft is never stored (it is
           // computed and shown, `privox invoice issue --dry-run`), so status is always 'issued'
           // here; the column says so to whoever reads the table. Rows are written once, when
           // issued, and never updated (billing/invoices.h has no update path); retention deletes
           // them after billing.retention_years.
           R"(CREATE TABLE invoices (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL,
             period TEXT NOT NULL,
             number {i64} NOT NULL UNIQUE,
             issued_at_us {i64} NOT NULL,
             currency TEXT NOT NULL,
             lines TEXT NOT NULL,
             subtotal_micros {i64} NOT NULL CHECK (subtotal_micros >= 0),
             tax_rate_bp {i64} NOT NULL CHECK (tax_rate_bp >= 0),
             tax_micros {i64} NOT NULL CHECK (tax_micros >= 0),
             total_micros {i64} NOT NULL CHECK (total_micros >= 0),
             status TEXT NOT NULL CHECK (status = 'issued'),
             kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
             credits_invoice_id TEXT REFERENCES invoices (id),
             reason TEXT NOT NULL DEFAULT '',
             issued_by TEXT NOT NULL))",
           // One invoice per company and month; credit notes are as many as corrections need.
           "CREATE UNIQUE INDEX invoices_one_per_period ON invoices (company_id, period) WHERE kind = 'invoice'",
           "CREATE INDEX invoices_by_company ON invoices (company_id, number)",
       }},
      {17,
       "billing",
       "charge attempts of issued invoices through the payment provider",
       {
           // One row per attempt to charge an invoice (charges.h has the state diagram). The row is
           // written as 'pending' with its idempotency key before the provider is asked, so a lost
           // answer is asked again with the same key and never charged twice. message is the
           // provider's reason for a decline, in words, blanked once the invoice is paid.
           // next_attempt_at_us: when the job tries again; NULL when paid or out of retries
           // (unpaid). Deleted with their invoice by retention.
           R"(CREATE TABLE invoice_charges (
             invoice_id TEXT NOT NULL REFERENCES invoices (id),
             attempt {i64} NOT NULL CHECK (attempt >= 1),
             idempotency_key TEXT NOT NULL UNIQUE,
             state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'declined', 'failed')),
             provider_reference TEXT NOT NULL DEFAULT '',
             message TEXT NOT NULL DEFAULT '',
             amount_minor {i64} NOT NULL CHECK (amount_minor > 0),
             currency TEXT NOT NULL,
             created_at_us {i64} NOT NULL,
             at_us {i64} NOT NULL,
             next_attempt_at_us {i64},
             PRIMARY KEY (invoice_id, attempt)))",
           "CREATE INDEX invoice_charges_due ON invoice_charges (next_attempt_at_us)",
       }},
      {18,
       "billing",
       "what a charge attempt sent, and refunds of credit notes on paid invoices",
       {
           // The card token an attempt sent, sealed (Keyring::seal_secret, purpose
           // "charge-token:{idempotency_key}"), so that a pending attempt's retry re-sends exactly
           // what its key was first sent with: the provider refuses a key reused with another card.
           // Kept only while the attempt is pending; NULL once it ends, and for attempts made
           // before this version (those re-send the payer's current card, as they did).
           "ALTER TABLE invoice_charges ADD COLUMN card_token_sealed {blob}",
           // The credit notes' total the attempt's amount already deducted: a note beyond it,
           // on a paid invoice, is refunded. Attempts made before this version deducted the notes
           // issued before they began.
           "ALTER TABLE invoice_charges ADD COLUMN credited_micros {i64} NOT NULL DEFAULT 0",
           R"(UPDATE invoice_charges SET credited_micros = (SELECT coalesce(sum(n.total_micros), 0) FROM invoices n
             WHERE n.credits_invoice_id = invoice_charges.invoice_id AND n.issued_at_us <= invoice_charges.created_at_us))",
           // One row per credit note issued against a paid invoice (charges.h): the refund of what
           // the note credits, through the provider with the key "credit-{credit note id}",
           // written as pending before the provider is asked, so that a lost answer is asked again
           // with the same key. not_needed: the charge had already deducted the note (amount 0).
           // charge_reference: the provider's id of the charge refunded. Deleted with their invoice
           // by retention.
           R"(CREATE TABLE invoice_refunds (
             credit_note_id TEXT PRIMARY KEY REFERENCES invoices (id),
             invoice_id TEXT NOT NULL REFERENCES invoices (id),
             idempotency_key TEXT NOT NULL UNIQUE,
             state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed', 'not_needed')),
             charge_reference TEXT NOT NULL,
             provider_reference TEXT NOT NULL DEFAULT '',
             message TEXT NOT NULL DEFAULT '',
             amount_minor {i64} NOT NULL CHECK (amount_minor >= 0),
             currency TEXT NOT NULL,
             created_at_us {i64} NOT NULL,
             at_us {i64} NOT NULL,
             next_attempt_at_us {i64}))",
           "CREATE INDEX invoice_refunds_by_invoice ON invoice_refunds (invoice_id)",
           "CREATE INDEX invoice_refunds_due ON invoice_refunds (next_attempt_at_us)",
       }},
  };
}

}  // namespace privox::billing
