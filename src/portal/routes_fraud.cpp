// Fraud alerts (issue 17): a company's office managers see their company's alerts and lift them
// (a suspended line may call again); the operator's fraud staff (staff_fraud, staff_admin) see
// every company's, or one's with ?company=. Another company's alert is 404, as if it did not exist.
// An alert holds ids and counts, no personal data, so reading is not audited; lifting is
// (fraud.alert_lift, fraud/alerts.h).
#include <nlohmann/json.hpp>

#include "accounts/extensions.h"
#include "fraud/alerts.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

// The company whose alerts the caller may see: their own for an office manager, any (empty) for
// fraud staff; nullopt with the refusal for anyone else.
std::variant<std::string, Response> alert_scope(const Caller& c) {
  if (c.who.role == Role::office_manager) return c.who.company_id;
  if (c.who.role == Role::staff_fraud || c.who.role == Role::staff_admin) return std::string();
  return http::json_error(status::forbidden, "only the company's office managers and the operator's fraud staff see "
                                             "fraud alerts", "role");
}

nlohmann::json alert_json(store::Session& s, const fraud::Alert& alert) {
  nlohmann::json j = fraud::to_json(alert);
  auto line = accounts::extension_by_id(s, alert.line_id);
  j["line_number"] = line.ok() && *line ? (*line)->number : "";
  return j;
}

}  // namespace

Response fraud_alerts_list(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto scope = alert_scope(c);
  if (auto* refused = std::get_if<Response>(&scope)) return std::move(*refused);
  std::string company = std::get<std::string>(scope);
  if (company.empty()) company = e.query_param("company").value_or("");
  nlohmann::json items = nlohmann::json::array();
  const Status read = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::vector<fraud::Alert> all, fraud::list_alerts(s, company, false));
    for (const fraud::Alert& alert : all) items.push_back(alert_json(s, alert));
    return {};
  });
  if (!read.ok()) return error_response(read.error());
  return http::json_response(status::ok, {{"items", items}});
}

Response fraud_alert_lift(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto scope = alert_scope(c);
  if (auto* refused = std::get_if<Response>(&scope)) return std::move(*refused);
  auto lifted = fraud::Alerts(p.store, p.keys, p.clock)
                    .lift(std::string(e.param("id")), std::get<std::string>(scope), c.who.subject_id);
  if (!lifted.ok()) return error_response(lifted.error());
  nlohmann::json out;
  const Status read = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    out = alert_json(s, *lifted);
    return {};
  });
  if (!read.ok()) return error_response(read.error());
  return http::json_response(status::ok, out);
}

}  // namespace privox::portal::routes
