// Fraud alert emails (fraud_mail.h).
#include "portal/fraud_mail.h"

#include <fmt/format.h>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "common/log.h"
#include "fraud/alerts.h"
#include "portal/auth.h"
#include "privacy/audit_record.h"
#include "store/settings.h"

namespace privox::portal {
namespace {

// One recipient of an alert's email: the outbox's name for them ('operator' or the manager's
// member id) and the address.
struct FraudMailTo {
  std::string recipient, address;
};

// The office managers the alert's email has not reached yet, each address read audited; erased
// members are skipped.
Status fraud_mail_managers(store::Session& tx, const privacy::Keyring& keys, const Clock& clock,
                           const fraud::Alert& alert, const std::unordered_set<std::string>& done,
                           std::vector<FraudMailTo>& out) {
  PRIVOX_ASSIGN(const store::Rows rows,
                tx.query("SELECT subject_id FROM portal_logins WHERE company_id = ? AND kind = 'member' AND role = ? "
                         "ORDER BY subject_id",
                         {alert.company_id, std::string(to_string(Role::office_manager))}));
  const privacy::AuditChain audit(keys, clock);
  for (const store::Row& r : rows) {
    if (done.contains(r.text(0))) continue;
    auto fields = accounts::open_member_fields(tx, keys, r.text(0), {accounts::member_field("email")});
    if (!fields.ok() && fields.error().code == ErrorCode::erased) continue;
    if (!fields.ok()) return fields.error();
    if (!fields->count("email")) continue;
    out.push_back({r.text(0), (*fields)["email"]});
    PRIVOX_TRY(audit.append(tx, {"fraud:mail", "fraud.alert_mail", r.text(0), "service",
                                 {{"alert", alert.id}, {"fields", {"email"}}}}));
  }
  return {};
}

std::string fraud_mail_text(const fraud::Alert& alert, const std::string& line_number, const std::string& url) {
  std::string figures;
  for (const auto& [name, value] : alert.figures) figures += fmt::format("  {}: {}\n", name, value);
  const std::string_view done = alert.action == fraud::Action::suspend    ? "The line's calls are refused until "
                                                                             "the alert is lifted."
                                : alert.action == fraud::Action::throttle ? "The line's new calls are limited until "
                                                                            "the alert is lifted."
                                                                          : "Nothing was blocked.";
  return fmt::format(
      "A fraud rule fired on line {} at {} UTC: {}.\n\n{}\n\nWhat the rule saw:\n{}\n"
      "If these calls were yours, lift the alert on the Fraud alerts page: {}/fraud.html\n"
      "If they were not, change the line's password first (Extensions page).\n",
      line_number, format_utc(alert.opened_at_us), fraud::rule_words(alert.rule), done, figures, url);
}

}  // namespace

namespace {

// Sends one alert's email to whoever it has not reached, recording each recipient after its send
// and the alert as mailed once all have it. The sends happen outside any transaction: a failure
// after some of them leaves those recorded, and the next sweep sends only the rest.
Status mail_one_fraud_alert(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                            notify::Mailer& mailer, const std::string& portal_url, const std::string& operator_address,
                            const fraud::Alert& alert) {
  std::vector<FraudMailTo> to;
  std::string number;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& tx) -> Status {
    to.clear();
    PRIVOX_ASSIGN(const std::unordered_set<std::string> done, fraud::mailed_recipients(tx, alert.id));
    PRIVOX_TRY(fraud_mail_managers(tx, keys, clock, alert, done, to));
    if (!done.contains("operator")) to.push_back({"operator", operator_address});
    PRIVOX_ASSIGN(const auto line, accounts::extension_by_id(tx, alert.line_id));
    number = line ? line->number : "(removed)";
    return {};
  }));
  const std::string text = fraud_mail_text(alert, number, portal_url);
  for (const FraudMailTo& who : to) {
    PRIVOX_TRY(mailer.send({who.address, fmt::format("Fraud alert on line {}", number), text, {}}));
    PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& tx) {
      return fraud::mark_mailed_to(tx, alert.id, who.recipient, clock.now_us());
    }));
  }
  return store::with_transaction(store, store::TxMode::write,
                                 [&](store::Session& tx) { return fraud::mark_mailed(tx, alert.id, clock.now_us()); });
}

}  // namespace

Result<int64_t> mail_fraud_alerts(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                  notify::Mailer& mailer, const std::string& portal_url) {
  std::vector<fraud::Alert> due;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(due, fraud::unmailed_alerts(s));
    return {};
  }));
  PRIVOX_ASSIGN(const std::string operator_address, store::Settings(store).text("fraud.alert_email"));
  int64_t mailed = 0;
  for (const fraud::Alert& alert : due) {
    const Status done = mail_one_fraud_alert(store, keys, clock, mailer, portal_url, operator_address, alert);
    if (!done.ok()) {
      log::warn("fraud", "alert.mail_failed", {{"alert", log::Id(alert.id)}, {"error", log::error_code(done.error())}});
      continue;
    }
    ++mailed;
  }
  return mailed;
}

}  // namespace privox::portal
