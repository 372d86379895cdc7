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

// The office managers' addresses, each read audited; erased members are skipped.
Result<std::vector<std::string>> fraud_mail_managers(store::Session& tx, const privacy::Keyring& keys,
                                                     const Clock& clock, const fraud::Alert& alert) {
  PRIVOX_ASSIGN(const store::Rows rows,
                tx.query("SELECT subject_id FROM portal_logins WHERE company_id = ? AND kind = 'member' AND role = ? "
                         "ORDER BY subject_id",
                         {alert.company_id, std::string(to_string(Role::office_manager))}));
  std::vector<std::string> out;
  const privacy::AuditChain audit(keys, clock);
  for (const store::Row& r : rows) {
    auto fields = accounts::open_member_fields(tx, keys, r.text(0), {accounts::member_field("email")});
    if (!fields.ok() && fields.error().code == ErrorCode::erased) continue;
    if (!fields.ok()) return fields.error();
    if (!fields->count("email")) continue;
    out.push_back((*fields)["email"]);
    PRIVOX_TRY(audit.append(tx, {"fraud:mail", "fraud.alert_mail", r.text(0), "service",
                                 {{"alert", alert.id}, {"fields", {"email"}}}}));
  }
  return out;
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
    std::vector<std::string> to;
    std::string number;
    // The reads are audited in the transaction that marks the alert mailed: sent or not, tried once
    // per sweep.
    const Status done = store::with_transaction(store, store::TxMode::write, [&](store::Session& tx) -> Status {
      PRIVOX_ASSIGN(to, fraud_mail_managers(tx, keys, clock, alert));
      PRIVOX_ASSIGN(const auto line, accounts::extension_by_id(tx, alert.line_id));
      number = line ? line->number : "(removed)";
      to.push_back(operator_address);
      const std::string text = fraud_mail_text(alert, number, portal_url);
      for (const std::string& address : to) {
        Status sent = mailer.send({address, fmt::format("Fraud alert on line {}", number), text, {}});
        if (!sent.ok()) return sent;
      }
      return fraud::mark_mailed(tx, alert.id, clock.now_us());
    });
    if (!done.ok()) {
      log::warn("fraud", "alert.mail_failed", {{"alert", log::Id(alert.id)}, {"error", log::error_code(done.error())}});
      continue;
    }
    ++mailed;
  }
  return mailed;
}

}  // namespace privox::portal
