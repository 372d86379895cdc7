// `privox rating import|decks|plan|destinations|price|rerate`: the operator's rate decks and companies' plans
// (rating/store.h). Imports and plan changes are audited; decks hold no personal data.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>

#include "accounts/validation.h"
#include "cli/verbs.h"
#include "common/clock.h"
#include "common/money.h"
#include "rating/store.h"
#include "traffic/rerate.h"

namespace privox::cli {
namespace {

struct RatingOptions {
  std::string name, file;      // import
  std::string company;         // plan
  std::string included;        // plan set: comma-separated prefixes, "" to remove the plan
  std::string number, at;      // price
  int64_t seconds = 60;        // price
  std::string from, to;        // rerate
  std::string countries;       // destinations set
  bool premium = false;        // destinations set
  bool high_risk = false;      // destinations set
  std::string prefix, description;  // high-risk add|remove
};

nlohmann::json deck_json(const rating::DeckInfo& d) {
  return {{"id", d.id},
          {"name", d.name},
          {"rates", d.rates},
          {"imported_at", format_utc(d.imported_at_us)},
          {"imported_by", d.imported_by}};
}

// Every deck and plan as they stand now.
Result<std::shared_ptr<const rating::RateTable>> current_table(Environment& env) {
  std::shared_ptr<const rating::RateTable> table;
  PRIVOX_TRY(store::with_transaction(*env.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(table, rating::load_table(s));
    return {};
  }));
  return table;
}

int run_import(const DataDir& where, const RatingOptions& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) return fail(invalid("file", "cannot read " + o.file));
  std::string csv;
  csv.resize(rating::kMaxDeckBytes + 1);
  in.read(csv.data(), static_cast<std::streamsize>(csv.size()));
  csv.resize(static_cast<size_t>(in.gcount()));
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto deck = rating::import_deck(*(*env)->store, (*env)->keys, (*env)->clock, o.name, csv, cli_actor());
  if (!deck.ok()) return fail(deck.error());
  std::cout << deck_json(*deck).dump(2) << "\n";
  return 0;
}

int run_decks(const DataDir& where) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto decks = rating::list_decks(*(*env)->store);
  if (!decks.ok()) return fail(decks.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : *decks) out.push_back(deck_json(d));
  std::cout << out.dump(2) << "\n";
  return 0;
}

int run_plan(const DataDir& where, const RatingOptions& o, bool set) {
  auto company = accounts::check_id("company", o.company);
  if (!company.ok()) return fail(company.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  if (set) {
    const Status s =
        rating::set_plan(*(*env)->store, (*env)->keys, (*env)->clock, *company, rating::split_prefixes(o.included), cli_actor());
    if (!s.ok()) return fail(s.error());
  }
  auto plan = rating::plan_of(*(*env)->store, *company);
  if (!plan.ok()) return fail(plan.error());
  std::cout << nlohmann::json{{"company_id", *company}, {"included", *plan}}.dump(2) << "\n";
  return 0;
}

int run_destinations(const DataDir& where, const RatingOptions& o, bool set) {
  auto company = accounts::check_id("company", o.company);
  if (!company.ok()) return fail(company.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  if (set) {
    const Status s = rating::set_destinations(*(*env)->store, (*env)->keys, (*env)->clock, *company,
                                              {rating::split_prefixes(o.countries), o.premium, o.high_risk},
                                              cli_actor());
    if (!s.ok()) return fail(s.error());
  }
  auto allowed = rating::destinations_of(*(*env)->store, *company);
  if (!allowed.ok()) return fail(allowed.error());
  std::cout << nlohmann::json{{"company_id", *company},
                              {"countries", allowed->countries},
                              {"premium", allowed->premium},
                              {"high_risk", allowed->high_risk}}
                   .dump(2)
            << "\n";
  return 0;
}

// The operator's high-risk prefixes: `add`, `remove`, or (neither) the list as JSON.
int run_high_risk(const DataDir& where, const RatingOptions& o, std::string_view action) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  Environment& e = **env;
  Status changed;
  if (action == "add") changed = rating::add_high_risk(*e.store, e.keys, e.clock, o.prefix, o.description, cli_actor());
  if (action == "remove") changed = rating::remove_high_risk(*e.store, e.keys, e.clock, o.prefix, cli_actor());
  if (!changed.ok()) return fail(changed.error());
  auto listed = rating::list_high_risk(*e.store);
  if (!listed.ok()) return fail(listed.error());
  nlohmann::json out = nlohmann::json::array();
  for (const rating::HighRiskPrefix& p : *listed)
    out.push_back({{"prefix", p.prefix},
                   {"description", p.description},
                   {"added_at", format_utc(p.added_at_us)},
                   {"added_by", p.added_by}});
  std::cout << out.dump(2) << "\n";
  return 0;
}

// What a call to a number would cost: the operator's check of a deck (no call is made or stored).
int run_price(const DataDir& where, const RatingOptions& o) {
  std::optional<int64_t> at = o.at.empty() ? std::nullopt : parse_time(o.at);
  if (!o.at.empty() && !at) return fail(invalid("at", "is not a date or time (YYYY-MM-DD or ISO 8601)"));
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto table = current_table(**env);
  if (!table.ok()) return fail(table.error());
  const rating::Priced p =
      (*table)->price(o.company, o.number, at.value_or((*env)->clock.now_us()), o.seconds * 1000);
  nlohmann::json out{{"included", p.included}};
  if (p.rate) {
    out["prefix"] = p.rate->prefix;
    out["description"] = p.rate->description;
    out["deck_id"] = std::string(p.deck_id);
    out["cost_micros"] = p.cost_micros;
    out["cost"] = format_money(rating::micros_to_minor(p.cost_micros), p.rate->currency);
    out["billed_seconds"] = rating::billed_seconds(*p.rate, o.seconds * 1000);
  } else if (!p.included) {
    std::cerr << "privox: no rate for that number at that time\n";
    return 1;
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

// Prices a period's answered outbound calls again from the decks as they stand now (each call as
// of its start): after a deck was corrected. Audited; reads destinations for billing.
int run_rerate(const DataDir& where, const RatingOptions& o) {
  const auto from = parse_time(o.from);
  const auto to = parse_time(o.to);
  if (!from) return fail(invalid("from", "is not a date or time (YYYY-MM-DD or ISO 8601)"));
  if (!to) return fail(invalid("to", "is not a date or time (YYYY-MM-DD or ISO 8601)"));
  std::string company;
  if (!o.company.empty()) {
    auto checked = accounts::check_id("company", o.company);
    if (!checked.ok()) return fail(checked.error());
    company = *checked;
  }
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto table = current_table(**env);
  if (!table.ok()) return fail(table.error());
  auto report = traffic::rerate(*(*env)->store, (*env)->keys, (*env)->clock, **table, *from, *to, company, cli_actor());
  if (!report.ok()) return fail(report.error());
  std::cout << nlohmann::json{{"records", report->records},
                              {"changed", report->changed},
                              {"unrated", report->unrated}}
                   .dump(2)
            << "\n";
  return 0;
}

}  // namespace

void add_rating_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* rating = app.add_subcommand("rating", "Rate decks and companies' plans (prices for outbound calls)")
                     ->require_subcommand(1);
  auto o = std::make_shared<RatingOptions>();
  auto* import = rating->add_subcommand("import", "Import a rate deck (CSV), all or nothing (audited)");
  add_data_dir(import, where);
  import->add_option("--name", o->name, "the deck's name, such as the carrier's price list")->required();
  import->add_option("--file", o->file,
                     "CSV: prefix,description,price_per_minute,connection_fee,increments,currency,valid_from")
      ->required();
  verbs.add(import, [&where, o] { return run_import(where, *o); });
  auto* decks = rating->add_subcommand("decks", "List the imported decks as JSON");
  add_data_dir(decks, where);
  verbs.add(decks, [&where] { return run_decks(where); });
  auto* plan = rating->add_subcommand("plan", "A company's plan: the destinations it calls at no charge")
                   ->require_subcommand(1);
  auto* plan_set = plan->add_subcommand("set", "Set the prefixes the company's plan includes (audited)");
  add_data_dir(plan_set, where);
  plan_set->add_option("--company", o->company, "company id")->required();
  plan_set->add_option("--included", o->included, "comma-separated E.164 prefixes, such as 44; empty removes the plan")
      ->required();
  verbs.add(plan_set, [&where, o] { return run_plan(where, *o, true); });
  auto* plan_show = plan->add_subcommand("show", "Print the company's plan");
  add_data_dir(plan_show, where);
  plan_show->add_option("--company", o->company, "company id")->required();
  verbs.add(plan_show, [&where, o] { return run_plan(where, *o, false); });
  auto* price = rating->add_subcommand("price", "What a call to a number would cost (nothing is called or stored)");
  add_data_dir(price, where);
  price->add_option("--number", o->number, "E.164 number")->required();
  price->add_option("--seconds", o->seconds, "the call's length in seconds (default 60)")->check(CLI::Range(0, 86400));
  price->add_option("--at", o->at, "when the call begins (default now)");
  price->add_option("--company", o->company, "whose plan applies (default none)");
  verbs.add(price, [&where, o] { return run_price(where, *o); });
  auto* destinations = rating->add_subcommand("destinations", "Where a company's lines may call beyond its own country")
                           ->require_subcommand(1);
  auto* destinations_set = destinations->add_subcommand("set", "Set the countries allowed beyond its own (audited)");
  add_data_dir(destinations_set, where);
  destinations_set->add_option("--company", o->company, "company id")->required();
  destinations_set->add_option("--countries", o->countries,
                               "comma-separated ISO 3166 codes such as FR,DE, * for anywhere, empty for its own only")
      ->required();
  destinations_set->add_flag("--premium", o->premium, "allow premium-rate numbers too (off unless given)");
  destinations_set->add_flag("--high-risk", o->high_risk,
                             "allow the operator's high-risk prefixes too (`rating high-risk`; off unless given)");
  verbs.add(destinations_set, [&where, o] { return run_destinations(where, *o, true); });
  auto* destinations_show = destinations->add_subcommand("show", "Print where the company's lines may call");
  add_data_dir(destinations_show, where);
  destinations_show->add_option("--company", o->company, "company id")->required();
  verbs.add(destinations_show, [&where, o] { return run_destinations(where, *o, false); });
  auto* high_risk = rating->add_subcommand("high-risk", "The operator's high-risk prefixes, refused to every company "
                                                       "not let call them")
                        ->require_subcommand(1);
  auto* risk_add = high_risk->add_subcommand("add", "List a prefix as high-risk (audited); prints the list");
  add_data_dir(risk_add, where);
  risk_add->add_option("--prefix", o->prefix, "E.164 prefix, such as 882 or +2392")->required();
  risk_add->add_option("--description", o->description, "why, such as 'international networks'")->required();
  verbs.add(risk_add, [&where, o] { return run_high_risk(where, *o, "add"); });
  auto* risk_remove = high_risk->add_subcommand("remove", "Take a prefix off the list (audited); prints the list");
  add_data_dir(risk_remove, where);
  risk_remove->add_option("--prefix", o->prefix, "E.164 prefix")->required();
  verbs.add(risk_remove, [&where, o] { return run_high_risk(where, *o, "remove"); });
  auto* risk_list = high_risk->add_subcommand("list", "Print the list as JSON");
  add_data_dir(risk_list, where);
  verbs.add(risk_list, [&where, o] { return run_high_risk(where, *o, "list"); });
  auto* rerate = rating->add_subcommand("rerate", "Price a period's answered outbound calls again (audited)");
  add_data_dir(rerate, where);
  rerate->add_option("--from", o->from, "calls that began at or after (YYYY-MM-DD or ISO 8601)")->required();
  rerate->add_option("--to", o->to, "calls that began before")->required();
  rerate->add_option("--company", o->company, "only this company's calls");
  verbs.add(rerate, [&where, o] { return run_rerate(where, *o); });
}

}  // namespace privox::cli
