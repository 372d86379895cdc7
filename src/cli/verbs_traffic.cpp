// `privox cdr list`: traffic records for a named purpose, audited per subject.

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "accounts/validation.h"
#include "cli/verbs.h"
#include "traffic/cdr.h"

namespace privox::cli {
namespace {

struct CdrListOptions {
  std::string purpose;
  std::string format = "csv";
  std::string since;
  std::string company;
};

int run_cdr_list(const DataDir& where, const CdrListOptions& o) {
  traffic::CdrQuery query;
  query.purpose = *privacy::parse_purpose(o.purpose);
  if (!o.since.empty()) {
    const auto since = parse_time(o.since);
    if (!since) return fail(invalid("since", "'" + o.since + "' is not a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or epoch seconds)"));
    query.since_us = *since;
  }
  if (!o.company.empty()) {
    auto company = accounts::check_id("company", o.company);
    if (!company.ok()) return fail(company.error());
    query.company_id = *company;
  }
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto rows = traffic::list_records(*(*env)->store, (*env)->keys, (*env)->clock, query, cli_actor());
  if (!rows.ok()) return fail(rows.error());
  if (o.format == "json") std::cout << traffic::to_json(*rows).dump(2) << "\n";
  else std::cout << traffic::to_csv(*rows);
  return 0;
}

}  // namespace

void add_traffic_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* cdr = app.add_subcommand("cdr", "Traffic records (call detail records)")->require_subcommand(1);
  auto options = std::make_shared<CdrListOptions>();
  auto* list = cdr->add_subcommand("list", "Print traffic records for a named purpose (audited)");
  add_data_dir(list, where);
  list->add_option("--purpose", options->purpose, "why you need them")
      ->required()
      ->check(CLI::IsMember({"billing", "support", "fraud", "legal"}));
  list->add_option("--format", options->format, "csv (one record per line, after a header) or json")
      ->check(CLI::IsMember({"csv", "json"}))
      ->capture_default_str();
  list->add_option("--since", options->since, "only records started at or after this time (UTC)");
  list->add_option("--company", options->company, "only this company's records");
  verbs.add(list, [&where, options] { return run_cdr_list(where, *options); });
}

}  // namespace privox::cli
