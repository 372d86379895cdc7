// `privox fraud alerts|lift|rules`: the operator's view of the fraud rules (fraud/): the alerts
// they opened, lifting one (audited), and the rules' thresholds and actions in force.

#include <nlohmann/json.hpp>

#include <iostream>

#include "accounts/validation.h"
#include "cli/verbs.h"
#include "fraud/alerts.h"
#include "fraud/module.h"
#include "store/settings.h"

namespace privox::cli {
namespace {

struct FraudOptions {
  std::string company, alert;
  bool open_only = false;
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

int run_fraud_rules(const DataDir& where) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  const store::Settings settings(*(*env)->store);
  for (const store::SettingSpec& spec : fraud::settings()) {
    auto value = settings.text(spec.key);
    if (!value.ok()) return fail(value.error());
    std::cout << spec.key << " = " << *value << "    # " << spec.meaning << "\n";
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

  auto* rules = fraud->add_subcommand("rules", "The rules' thresholds and actions in force (change them with "
                                               "`privox settings set`)");
  add_data_dir(rules, where);
  verbs.add(rules, [&where] { return run_fraud_rules(where); });
}

}  // namespace privox::cli
