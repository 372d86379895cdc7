// `privox invoice issue|list|show|credit`: the operator's invoices and credit notes (billing/).

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

#include "accounts/validation.h"
#include "billing/invoices.h"
#include "billing/render.h"
#include "cli/verbs.h"

namespace privox::cli {
namespace {

struct InvoiceOptions {
  std::string company, month, id, format = "json", out, reason;
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
}

}  // namespace privox::cli
