// `privox fraud alerts|lift|rules`: the operator's view of the fraud rules (fraud/): the alerts
// they opened, lifting one (audited), and the rules' thresholds and actions in force, globally or
// for one company with its own overrides (set and cleared, audited).

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "accounts/validation.h"
#include "cli/verbs.h"
#include "fraud/alerts.h"
#include "fraud/module.h"
#include "fraud/overrides.h"
#include "store/settings.h"

namespace privox::cli {
namespace {

struct FraudOptions {
  std::string company, alert;
  bool open_only = false;
  std::vector<std::string> set, clear;  // fraud rules --company: KEY=VALUE overrides, KEYs cleared
};

int run_fraud_alerts(const DataDir& where, const FraudOptions& o) {
  std::string company;
  if (!o.company.empty()) {
    auto checked = accounts::check_id("company", o.company);
    if (!checked.ok()) return fail(checked.error());
    company = *checked;
  }
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto alerts = fraud::Alerts(*(*env)->store, (*env)->keys, (*env)->clock).list(company, o.open_only);
  if (!alerts.ok()) return fail(alerts.error());
  nlohmann::json out = nlohmann::json::array();
  for (const fraud::Alert& a : *alerts) out.push_back(fraud::to_json(a));
  std::cout << out.dump(2) << "\n";
  return 0;
}

int run_fraud_lift(const DataDir& where, const FraudOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto lifted = fraud::Alerts(*(*env)->store, (*env)->keys, (*env)->clock).lift(o.alert, "", cli_actor());
  if (!lifted.ok()) return fail(lifted.error());
  std::cout << fraud::to_json(*lifted).dump(2) << "\n";
  return 0;
}

// The company's overrides first set, then cleared (each audited); nothing changes after the first
// that fails.
Status change_fraud_overrides(fraud::CompanyLimits& limits, const FraudOptions& o) {
  for (const std::string& pair : o.set) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos) return invalid("set", fmt::format("'{}' is not KEY=VALUE", pair));
    PRIVOX_TRY(limits.set(o.company, pair.substr(0, eq), pair.substr(eq + 1), cli_actor()));
  }
  for (const std::string& key : o.clear) PRIVOX_TRY(limits.clear(o.company, key, cli_actor()));
  return {};
}

int run_fraud_rules(const DataDir& where, const FraudOptions& o) {
  if (o.company.empty() && (!o.set.empty() || !o.clear.empty()))
    return fail(invalid("company", "--set and --clear change one company's rules: give --company"));
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  fraud::Values own;
  if (!o.company.empty()) {
    fraud::CompanyLimits limits(*(*env)->store, (*env)->keys, (*env)->clock);
    if (Status s = change_fraud_overrides(limits, o); !s.ok()) return fail(s.error());
    auto listed = limits.list(o.company);
    if (!listed.ok()) return fail(listed.error());
    own = std::move(listed).value();
  }
  const store::Settings settings(*(*env)->store);
  for (const store::SettingSpec& spec : fraud::settings()) {
    auto value = settings.text(spec.key);
    if (!value.ok()) return fail(value.error());
    const auto mine = own.find(spec.key);
    std::cout << spec.key << " = " << (mine == own.end() ? *value : mine->second)
              << (mine == own.end() ? "" : " (this company's own)") << "    # " << spec.meaning << "\n";
  }
  return 0;
}

}  // namespace

void add_fraud_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* fraud = app.add_subcommand("fraud", "Fraud rules: alerts, lifting a suspension, the rules in force")
                    ->require_subcommand(1);
  auto o = std::make_shared<FraudOptions>();

  auto* alerts = fraud->add_subcommand("alerts", "The fraud alerts, newest first (JSON)");
  add_data_dir(alerts, where);
  alerts->add_option("--company", o->company, "only this company's");
  alerts->add_flag("--open", o->open_only, "only those not lifted");
  verbs.add(alerts, [&where, o] { return run_fraud_alerts(where, *o); });

  auto* lift = fraud->add_subcommand("lift", "Lift an alert: a line it suspended or throttled may call again (audited)");
  add_data_dir(lift, where);
  lift->add_option("alert", o->alert, "the alert's id")->required();
  verbs.add(lift, [&where, o] { return run_fraud_lift(where, *o); });

  auto* rules = fraud->add_subcommand("rules", "The rules' thresholds and actions in force (change the global ones "
                                               "with `privox settings set`, a company's own with --set)");
  add_data_dir(rules, where);
  rules->add_option("--company", o->company, "the values in force for this company, its own marked");
  rules->add_option("--set", o->set, "KEY=VALUE: the company's own value of a fraud.* threshold or action (audited)");
  rules->add_option("--clear", o->clear, "KEY: the company follows the global setting again (audited)");
  verbs.add(rules, [&where, o] { return run_fraud_rules(where, *o); });
}

}  // namespace privox::cli
