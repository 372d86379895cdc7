// Fraud alerts in the store, and the audit entries of opening and lifting them.
#include "fraud/alerts.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "privacy/audit_record.h"

namespace privox::fraud {
namespace {

constexpr std::array<std::pair<Rule, std::string_view>, 8> kRuleNames = {{
    {Rule::line_velocity, "line_velocity"},
    {Rule::company_velocity, "company_velocity"},
    {Rule::line_concurrency, "line_concurrency"},
    {Rule::company_concurrency, "company_concurrency"},
    {Rule::international_spend, "international_spend"},
    {Rule::off_hours, "off_hours"},
    {Rule::short_calls, "short_calls"},
    {Rule::many_sources, "many_sources"},
}};
constexpr std::array<std::pair<Action, std::string_view>, 3> kActionNames = {{
    {Action::alert, "alert"},
    {Action::throttle, "throttle"},
    {Action::suspend, "suspend"},
}};

constexpr std::string_view kAlertColumns =
    "id, company_id, line_id, rule, action, opened_at_us, figures, state, lifted_at_us, lifted_by, mailed_at_us";

Figures parse_figures(const std::string& text) {
  Figures out;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [name, value] : j.items())
    if (value.is_number_integer()) out.emplace_back(name, value.get<int64_t>());
  return out;
}

Alert alert_from_row(const store::Row& r) {
  Alert a;
  a.id = r.text(0);
  a.company_id = r.text(1);
  a.line_id = r.text(2);
  a.rule = parse_rule(r.text(3)).value_or(Rule::line_velocity);
  a.action = parse_action(r.text(4)).value_or(Action::alert);
  a.opened_at_us = r.i64(5);
  a.figures = parse_figures(r.text(6));
  a.open = r.text(7) == "open";
  a.lifted_at_us = r.i64(8);
  a.lifted_by = r.text(9);
  a.mailed_at_us = r.i64(10);
  return a;
}

Result<std::vector<Alert>> alerts_where(store::Session& s, std::string_view where, const store::Params& params,
                                        std::string_view order) {
  PRIVOX_ASSIGN(const store::Rows rows,
                s.query(fmt::format("SELECT {} FROM fraud_alerts {} ORDER BY {}", kAlertColumns, where, order), params));
  std::vector<Alert> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(alert_from_row(r));
  return out;
}

bool well_formed_alert_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == '-'; });
}

}  // namespace

std::string_view to_string(Rule rule) {
  for (const auto& [r, name] : kRuleNames)
    if (r == rule) return name;
  return "unknown";
}

std::string_view to_string(Action action) {
  for (const auto& [a, name] : kActionNames)
    if (a == action) return name;
  return "unknown";
}

std::optional<Rule> parse_rule(std::string_view text) {
  for (const auto& [r, name] : kRuleNames)
    if (name == text) return r;
  return std::nullopt;
}

std::optional<Action> parse_action(std::string_view text) {
  for (const auto& [a, name] : kActionNames)
    if (name == text) return a;
  return std::nullopt;
}

std::string_view rule_words(Rule rule) {
  switch (rule) {
    case Rule::line_velocity: return "calls per minute of one line";
    case Rule::company_velocity: return "calls per minute of the company's lines";
    case Rule::line_concurrency: return "calls at once on one line";
    case Rule::company_concurrency: return "calls at once on the company's lines";
    case Rule::international_spend: return "international spend far above the company's usual";
    case Rule::off_hours: return "international calls out of business hours";
    case Rule::short_calls: return "many short calls to many destinations";
    case Rule::many_sources: return "one line registered from many addresses";
  }
  return "unknown";
}

std::string figures_json(const Figures& figures) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : figures) j[name] = value;
  return j.dump();
}

nlohmann::json to_json(const Alert& alert) {
  return {{"id", alert.id},
          {"company_id", alert.company_id},
          {"line_id", alert.line_id},
          {"rule", to_string(alert.rule)},
          {"rule_words", rule_words(alert.rule)},
          {"action", to_string(alert.action)},
          {"state", alert.open ? "open" : "lifted"},
          {"opened_at", format_utc(alert.opened_at_us)},
          {"lifted_at", alert.lifted_at_us > 0 ? format_utc(alert.lifted_at_us) : ""},
          {"figures", nlohmann::json::parse(figures_json(alert.figures))}};
}

Result<std::optional<Alert>> open_alert(store::Session& tx, const privacy::AuditChain& audit, const NewAlert& alert,
                                        int64_t now_us, const std::string& actor) {
  PRIVOX_ASSIGN(const store::Rows open,
                tx.query("SELECT id FROM fraud_alerts WHERE state = 'open' AND line_id = ? AND rule = ?",
                         {alert.line_id, std::string(to_string(alert.rule))}));
  if (!open.empty()) return std::optional<Alert>{};
  Alert a;
  a.id = new_id(now_us);
  a.company_id = alert.company_id;
  a.line_id = alert.line_id;
  a.rule = alert.rule;
  a.action = alert.action;
  a.opened_at_us = now_us;
  a.figures = alert.figures;
  PRIVOX_TRY(tx.exec(fmt::format("INSERT INTO fraud_alerts ({}) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', 0, '', 0)",
                                 kAlertColumns),
                     {a.id, a.company_id, a.line_id, std::string(to_string(a.rule)), std::string(to_string(a.action)),
                      now_us, figures_json(a.figures)}));
  nlohmann::json detail = nlohmann::json::parse(figures_json(a.figures));
  detail["alert"] = a.id;
  detail["rule"] = to_string(a.rule);
  detail["action"] = to_string(a.action);
  PRIVOX_TRY(audit.append(tx, {actor, "fraud.alert_open", a.line_id, "fraud", std::move(detail)}));
  return std::optional<Alert>{std::move(a)};
}

Result<std::vector<Alert>> list_alerts(store::Session& s, const std::string& company_id, bool open_only) {
  std::string where;
  store::Params params;
  if (!company_id.empty()) {
    where = "WHERE company_id = ?";
    params.emplace_back(company_id);
  }
  if (open_only) where += where.empty() ? "WHERE state = 'open'" : " AND state = 'open'";
  return alerts_where(s, where, params, "opened_at_us DESC, id DESC");
}

Result<std::optional<Alert>> find_alert(store::Session& s, const std::string& id) {
  PRIVOX_ASSIGN(std::vector<Alert> found, alerts_where(s, "WHERE id = ?", {id}, "id"));
  if (found.empty()) return std::optional<Alert>{};
  return std::optional<Alert>{std::move(found.front())};
}

Result<Blocks> blocked_lines(store::Session& s) {
  PRIVOX_ASSIGN(const store::Rows rows,
                s.query("SELECT line_id, action FROM fraud_alerts WHERE state = 'open' AND action <> 'alert'"));
  Blocks out;
  for (const store::Row& r : rows)
    (r.text(1) == "suspend" ? out.suspended : out.throttled).insert(r.text(0));
  for (const std::string& line : out.suspended) out.throttled.erase(line);
  return out;
}

Result<std::vector<Alert>> unmailed_alerts(store::Session& s) {
  return alerts_where(s, "WHERE mailed_at_us = 0", {}, "opened_at_us, id");
}

Status mark_mailed(store::Session& tx, const std::string& id, int64_t now_us) {
  PRIVOX_TRY(tx.exec("UPDATE fraud_alerts SET mailed_at_us = ? WHERE id = ?", {now_us, id}));
  return {};
}

Result<std::unordered_set<std::string>> mailed_recipients(store::Session& s, const std::string& alert_id) {
  PRIVOX_ASSIGN(const store::Rows rows, s.query("SELECT recipient FROM fraud_alert_mails WHERE alert_id = ?", {alert_id}));
  std::unordered_set<std::string> out;
  for (const store::Row& r : rows) out.insert(r.text(0));
  return out;
}

Status mark_mailed_to(store::Session& tx, const std::string& alert_id, const std::string& recipient, int64_t now_us) {
  PRIVOX_TRY(tx.exec("INSERT INTO fraud_alert_mails (alert_id, recipient, sent_at_us) VALUES (?, ?, ?)",
                     {alert_id, recipient, now_us}));
  return {};
}

Result<std::vector<Alert>> Alerts::list(const std::string& company_id, bool open_only) {
  std::vector<Alert> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(out, list_alerts(s, company_id, open_only));
    return {};
  }));
  return out;
}

Result<Alert> Alerts::lift(const std::string& alert_id, const std::string& company_id, const std::string& actor) {
  if (!well_formed_alert_id(alert_id)) return invalid("alert", "an alert id (letters a-f, digits and '-')");
  Alert lifted;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    PRIVOX_ASSIGN(std::optional<Alert> found, find_alert(tx, alert_id));
    if (!found || (!company_id.empty() && found->company_id != company_id))
      return Error{ErrorCode::not_found, "alert", "no such alert"};
    if (!found->open) return Error{ErrorCode::conflict, "alert", "the alert was already lifted"};
    const int64_t now = clock_.now_us();
    PRIVOX_ASSIGN(const int64_t changed,
                  tx.exec("UPDATE fraud_alerts SET state = 'lifted', lifted_at_us = ?, lifted_by = ? "
                          "WHERE id = ? AND state = 'open'",
                          {now, actor, alert_id}));
    if (changed != 1) return Error{ErrorCode::conflict, "alert", "the alert was already lifted"};
    PRIVOX_TRY(audit_.append(tx, {actor, "fraud.alert_lift", found->line_id, "fraud",
                                  {{"alert", alert_id},
                                   {"rule", to_string(found->rule)},
                                   {"action", to_string(found->action)}}}));
    lifted = std::move(*found);
    lifted.open = false;
    lifted.lifted_at_us = now;
    lifted.lifted_by = actor;
    return {};
  }));
  return lifted;
}

}  // namespace privox::fraud
