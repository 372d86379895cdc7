// `privox invoice issue|list|show|credit|charge`: the operator's invoices and credit notes, and
// charging them through the payment provider (billing/).

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

#include "accounts/validation.h"
#include "billing/charges.h"
#include "billing/invoices.h"
#include "billing/render.h"
#include "cli/verbs.h"
#include "notify/mailer.h"
#include "portal/payments.h"

namespace privox::cli {
namespace {

struct InvoiceOptions {
  std::string company, month, id, format = "json", out, reason, provider, api_key_file;
  std::optional<int64_t> amount;
  bool dry_run = false;
};

int print_json(const nlohmann::json& j) {
  std::cout << j.dump(2) << "\n";
  return 0;
}

int run_invoice_issue(const DataDir& where, const InvoiceOptions& o) {
  auto company = accounts::check_id("company", o.company);
  if (!company.ok()) return fail(company.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto& e = **env;
  auto inv = o.dry_run ? billing::compute_invoice(*e.store, e.keys, e.clock, *company, o.month, cli_actor())
                       : billing::issue_invoice(*e.store, e.keys, e.clock, *company, o.month, cli_actor());
  if (!inv.ok()) return fail(inv.error());
  return print_json(billing::to_json(*inv));
}

int run_invoice_list(const DataDir& where, const InvoiceOptions& o) {
  auto company = accounts::check_id("company", o.company);
  if (!company.ok()) return fail(company.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  nlohmann::json out = nlohmann::json::array();
  const Status read = store::with_transaction(*(*env)->store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::find_company(s, *company));
    PRIVOX_ASSIGN(const std::vector<billing::Invoice> all, billing::invoices_of_company(s, *company));
    for (const billing::Invoice& inv : all) out.push_back(billing::to_json(inv));
    return {};
  });
  if (!read.ok()) return fail(read.error());
  return print_json(out);
}

Status write_document(const std::string& body, const std::string& out) {
  if (out.empty() || out == "-") {
    std::cout << body;
    return {};
  }
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file << body;
  file.close();
  if (!file) return invalid("out", "cannot write " + out);
  return {};
}

int run_invoice_show(const DataDir& where, const InvoiceOptions& o) {
  auto id = accounts::check_id("id", o.id);
  if (!id.ok()) return fail(id.error());
  if (o.format == "pdf" && o.out.empty()) return fail(invalid("out", "a PDF needs --out FILE"));
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  std::optional<billing::Invoice> inv;
  billing::Parties parties;
  const Status read = store::with_transaction(*(*env)->store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(inv, billing::find_invoice(s, *id));
    if (!inv) return Error{ErrorCode::not_found, "id", "no invoice or credit note has this id"};
    PRIVOX_ASSIGN(parties, billing::the_parties(*(*env)->store, s, *inv));
    return {};
  });
  if (!read.ok()) return fail(read.error());
  if (o.format == "json") return print_json(billing::to_json(*inv));
  if (o.format == "html") {
    const Status wrote = write_document(billing::invoice_html(*inv, parties), o.out);
    return wrote.ok() ? 0 : fail(wrote.error());
  }
  auto pdf = billing::invoice_pdf(*inv, parties);
  if (!pdf.ok()) return fail(pdf.error());
  const Status wrote = write_document(*pdf, o.out);
  return wrote.ok() ? 0 : fail(wrote.error());
}

int run_invoice_credit(const DataDir& where, const InvoiceOptions& o) {
  auto id = accounts::check_id("id", o.id);
  if (!id.ok()) return fail(id.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto& e = **env;
  auto note = billing::issue_credit_note(*e.store, e.keys, e.clock, *id, o.reason, o.amount, cli_actor());
  if (!note.ok()) return fail(note.error());
  return print_json(billing::to_json(*note));
}

nlohmann::json charge_json(const billing::ChargeResult& r) {
  const billing::ChargeAttempt& a = r.attempt;
  return {{"invoice_id", a.invoice_id},
          {"attempt", a.attempt},
          {"idempotency_key", a.idempotency_key},
          {"state", a.state},
          {"status", r.status},
          {"amount_minor", a.amount_minor},
          {"currency", a.currency},
          {"reference", a.provider_reference},
          {"message", a.message},
          {"next_attempt_at", a.next_attempt_at_us ? format_utc(*a.next_attempt_at_us) : ""},
          {"payer_mailed", r.mailed}};
}

// Charges one invoice (ID) or every invoice due now. A decline is an outcome (exit 0, printed);
// the payer is emailed through the relay in mail.smtp_url.
int run_invoice_charge(const DataDir& where, const InvoiceOptions& o) {
  std::optional<std::string> id;
  if (!o.id.empty()) {
    auto checked = accounts::check_id("id", o.id);
    if (!checked.ok()) return fail(checked.error());
    id = *checked;
  }
  auto key = portal::read_api_key_file(o.api_key_file, "payment-api-key-file");
  if (!key.ok()) return fail(key.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto& e = **env;
  auto mailer = notify::mailer_from_settings(*e.store);
  if (!mailer.ok()) return fail(mailer.error());
  const auto provider = portal::make_http_payment_provider(o.provider, *key);
  billing::InvoiceCharger charger(*e.store, e.keys, e.clock, *provider, [&](const billing::PayerNotice& n) {
    return (*mailer)->send({n.to, n.subject, n.text, {}});
  });
  if (id) {
    auto one = charger.charge(*id, cli_actor());
    if (!one.ok()) return fail(one.error());
    return print_json(charge_json(*one));
  }
  auto run = charger.charge_due(cli_actor());
  if (!run.ok()) return fail(run.error());
  auto refunds = charger.refund_due(cli_actor());
  if (!refunds.ok()) return fail(refunds.error());
  return print_json({{"charged", run->charged},
                     {"succeeded", run->succeeded},
                     {"declined", run->declined},
                     {"failed", run->failed},
                     {"pending", run->pending},
                     {"key_conflicts", run->key_conflicts},
                     {"errors", run->errors},
                     {"refunds",
                      {{"refunds", refunds->refunds},
                       {"succeeded", refunds->succeeded},
                       {"failed", refunds->failed},
                       {"pending", refunds->pending},
                       {"not_needed", refunds->not_needed},
                       {"errors", refunds->errors}}}});
}

// Refunds one credit note of a paid invoice now (serve's job does it within a round). A refusal
// is an outcome (exit 0, state failed, printed).
int run_invoice_refund(const DataDir& where, const InvoiceOptions& o) {
  auto id = accounts::check_id("id", o.id);
  if (!id.ok()) return fail(id.error());
  auto key = portal::read_api_key_file(o.api_key_file, "payment-api-key-file");
  if (!key.ok()) return fail(key.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto& e = **env;
  const auto provider = portal::make_http_payment_provider(o.provider, *key);
  billing::InvoiceCharger charger(*e.store, e.keys, e.clock, *provider, nullptr);
  auto r = charger.refund(*id, cli_actor());
  if (!r.ok()) return fail(r.error());
  return print_json({{"credit_note_id", r->credit_note_id},
                     {"invoice_id", r->invoice_id},
                     {"idempotency_key", r->idempotency_key},
                     {"state", r->state},
                     {"amount_minor", r->amount_minor},
                     {"currency", r->currency},
                     {"reference", r->provider_reference},
                     {"message", r->message}});
}

}  // namespace

void add_billing_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* invoice = app.add_subcommand("invoice", "Invoices and credit notes")->require_subcommand(1);
  auto o = std::make_shared<InvoiceOptions>();

  auto* issue = invoice->add_subcommand("issue", "Issue a company's invoice for a month that has ended; prints it");
  add_data_dir(issue, where);
  issue->add_option("--company", o->company, "the company's id")->required();
  issue->add_option("--month", o->month, "the month invoiced, YYYY-MM (UTC)")->required();
  issue->add_flag("--dry-run", o->dry_run, "compute and print the invoice without issuing it (no number is used)");
  verbs.add(issue, [&where, o] { return run_invoice_issue(where, *o); });

  auto* list = invoice->add_subcommand("list", "A company's invoices and credit notes, by number (JSON)");
  add_data_dir(list, where);
  list->add_option("--company", o->company, "the company's id")->required();
  verbs.add(list, [&where, o] { return run_invoice_list(where, *o); });

  auto* show = invoice->add_subcommand("show", "One invoice or credit note as JSON, HTML or PDF");
  add_data_dir(show, where);
  show->add_option("--id", o->id, "the invoice's id")->required();
  show->add_option("--format", o->format, "json, html or pdf")
      ->check(CLI::IsMember({"json", "html", "pdf"}))
      ->capture_default_str();
  show->add_option("--out", o->out, "write the document to this file (html: standard output without it)");
  verbs.add(show, [&where, o] { return run_invoice_show(where, *o); });

  auto* credit = invoice->add_subcommand("credit", "Issue a credit note correcting an invoice; prints it");
  add_data_dir(credit, where);
  credit->add_option("--id", o->id, "the invoice's id")->required();
  credit->add_option("--reason", o->reason, "why (about the bill; name no person)")->required();
  credit->add_option("--amount", o->amount, "amount credited before tax, in millionths (default: all that is left)");
  verbs.add(credit, [&where, o] { return run_invoice_credit(where, *o); });

  auto* charge = invoice->add_subcommand(
      "charge", "Charge an issued invoice (ID) to its payer's card on file now, or every invoice due (no ID); prints "
                "the outcome. A decline emails the payer and schedules the next try (billing.charge_retry_days); with no ID, "
                "due refunds of credit notes are made too");
  add_data_dir(charge, where);
  charge->add_option("id", o->id, "the invoice's id (default: every invoice due now)");
  charge->add_option("--payment-provider", o->provider, "the payment provider's base URL, e.g. http://127.0.0.1:8081")
      ->required();
  charge->add_option("--payment-api-key-file", o->api_key_file, "file holding the provider's API key")->required();
  verbs.add(charge, [&where, o] { return run_invoice_charge(where, *o); });

  auto* refund = invoice->add_subcommand(
      "refund", "Refund a credit note issued against a paid invoice (ID) through the payment provider now; prints "
                "the outcome (serve's charging job does it by itself within billing.charge_interval_s)");
  add_data_dir(refund, where);
  refund->add_option("id", o->id, "the credit note's id")->required();
  refund->add_option("--payment-provider", o->provider, "the payment provider's base URL, e.g. http://127.0.0.1:8081")
      ->required();
  refund->add_option("--payment-api-key-file", o->api_key_file, "file holding the provider's API key")->required();
  verbs.add(refund, [&where, o] { return run_invoice_refund(where, *o); });
}

}  // namespace privox::cli
