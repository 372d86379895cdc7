// `privox wallet top-up|adjust|cap|show|ledger`: companies' international wallets (wallet/).

#include <iostream>
#include <nlohmann/json.hpp>

#include "accounts/validation.h"
#include "cli/verbs.h"
#include "wallet/wallet.h"

namespace privox::cli {
namespace {

struct WalletOptions {
  std::string company, amount, currency, note;
  size_t limit = 100;
};

int print(const nlohmann::json& j) {
  std::cout << j.dump(2) << "\n";
  return 0;
}

Result<int64_t> amount_of(const std::string& text, bool signed_allowed) {
  const std::optional<int64_t> micros = wallet::parse_signed_amount(text);
  if (!micros || (!signed_allowed && *micros < 0))
    return invalid("AMOUNT", "\"" + text + "\" is not an amount such as 25.00 (at most 6 decimals" +
                                 (signed_allowed ? ", - for a debit)" : ")"));
  return *micros;
}

int run_top_up(const DataDir& where, const WalletOptions& o, bool adjustment) {
  auto company = accounts::check_id("COMPANY", o.company);
  if (!company.ok()) return fail(company.error());
  auto amount = amount_of(o.amount, adjustment);
  if (!amount.ok()) return fail(amount.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto& e = **env;
  auto entry = adjustment ? wallet::adjust(*e.store, e.keys, e.clock, *company, *amount, o.note, cli_actor())
                          : wallet::top_up(*e.store, e.keys, e.clock, *company, *amount, o.currency, cli_actor());
  if (!entry.ok()) return fail(entry.error());
  return print(wallet::to_json(*entry));
}

int run_cap(const DataDir& where, const WalletOptions& o) {
  auto company = accounts::check_id("COMPANY", o.company);
  if (!company.ok()) return fail(company.error());
  std::optional<int64_t> cap;
  if (o.amount != "none") {
    auto amount = amount_of(o.amount, false);
    if (!amount.ok()) return fail(invalid("AMOUNT", "\"" + o.amount + "\" is not an amount such as 50.00, or none"));
    cap = *amount;
  }
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto& e = **env;
  if (Status s = wallet::set_cap(*e.store, e.keys, e.clock, *company, cap, cli_actor()); !s.ok())
    return fail(s.error());
  auto w = wallet::wallet_of(*e.store, e.clock, *company);
  if (!w.ok()) return fail(w.error());
  return print(wallet::to_json(*w));
}

int run_show(const DataDir& where, const WalletOptions& o, bool ledger) {
  auto company = accounts::check_id("COMPANY", o.company);
  if (!company.ok()) return fail(company.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto& e = **env;
  auto w = wallet::wallet_of(*e.store, e.clock, *company);  // not_found for an unknown company
  if (!w.ok()) return fail(w.error());
  if (!ledger) return print(wallet::to_json(*w));
  auto entries = wallet::ledger_of(*e.store, *company, o.limit);
  if (!entries.ok()) return fail(entries.error());
  nlohmann::json out = nlohmann::json::array();
  for (const wallet::LedgerEntry& entry : *entries) out.push_back(wallet::to_json(entry));
  return print(out);
}

}  // namespace

void add_wallet_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* wallet = app.add_subcommand("wallet", "Companies' prepaid international balances and daily spend caps")
                     ->require_subcommand(1);
  auto o = std::make_shared<WalletOptions>();

  auto* top_up = wallet->add_subcommand("top-up", "Add to a company's international balance; prints the ledger row");
  add_data_dir(top_up, where);
  top_up->add_option("COMPANY", o->company, "the company's id")->required();
  top_up->add_option("AMOUNT", o->amount, "a positive amount such as 25.00")->required();
  top_up->add_option("--currency", o->currency, "ISO 4217 code; needed on a wallet's first top-up, else its own");
  verbs.add(top_up, [&where, o] { return run_top_up(where, *o, false); });

  auto* adjust = wallet->add_subcommand("adjust", "Correct a company's balance (signed amount) with a reason");
  add_data_dir(adjust, where);
  adjust->add_option("COMPANY", o->company, "the company's id")->required();
  adjust->add_option("AMOUNT", o->amount, "a non-zero amount such as -2.50")->required();
  adjust->add_option("--note", o->note, "why (about the money; name no person)")->required();
  verbs.add(adjust, [&where, o] { return run_top_up(where, *o, true); });

  auto* cap = wallet->add_subcommand("cap", "Set a company's daily international spend cap (UTC day), or none");
  add_data_dir(cap, where);
  cap->add_option("COMPANY", o->company, "the company's id")->required();
  cap->add_option("AMOUNT", o->amount, "an amount such as 50.00, or none")->required();
  verbs.add(cap, [&where, o] { return run_cap(where, *o); });

  auto* show = wallet->add_subcommand("show", "A company's balance, cap and today's spend (JSON)");
  add_data_dir(show, where);
  show->add_option("COMPANY", o->company, "the company's id")->required();
  verbs.add(show, [&where, o] { return run_show(where, *o, false); });

  auto* ledger = wallet->add_subcommand("ledger", "A company's balance changes, newest first (JSON)");
  add_data_dir(ledger, where);
  ledger->add_option("COMPANY", o->company, "the company's id")->required();
  ledger->add_option("--limit", o->limit, "at most this many rows")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  verbs.add(ledger, [&where, o] { return run_show(where, *o, true); });
}

}  // namespace privox::cli
