#include "retention/closures.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "accounts/validation.h"
#include "store/settings.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::retention {

Result<std::optional<Closure>> find_closure(store::Session& s, const std::string& member_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT closed_at_us, closed_by, erased_at_us FROM account_closures "
                                          "WHERE member_id = ?",
                                          {member_id}));
  if (rows.empty()) return std::optional<Closure>();
  const store::Row& r = rows[0];
  return std::optional<Closure>(Closure{member_id, r.i64(0), r.text(1), r.is_null(2) ? 0 : r.i64(2), false});
}

Result<Closure> close_account(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                              const std::string& member_id, const std::string& actor) {
  PRIVOX_ASSIGN(std::string id, accounts::check_id("id", member_id));
  const privacy::AuditChain audit(keys, clock);
  Closure closure;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(closure, close_account(s, audit, id, clock.now_us(), actor));
    return {};
  }));
  return closure;
}

Result<Closure> close_account(store::Session& s, const privacy::AuditChain& audit, const std::string& member_id,
                              int64_t now_us, const std::string& actor) {
  PRIVOX_ASSIGN(std::optional<accounts::MemberRow> member, accounts::find_member(s, member_id));
  if (!member) return Error{ErrorCode::not_found, "id", fmt::format("no member has id {}", member_id)};
  PRIVOX_ASSIGN(std::optional<Closure> existing, find_closure(s, member_id));
  if (existing) {
    existing->already_closed = true;
    return *existing;
  }
  if (member->erased)
    return Error{ErrorCode::erased, "id",
                 fmt::format("member {} was already erased; there is no account to close", member_id)};
  Closure closure{member_id, now_us, actor, 0, false};
  PRIVOX_TRY(s.exec("INSERT INTO account_closures (member_id, closed_at_us, closed_by) VALUES (?, ?, ?)",
                    {member_id, closure.closed_at_us, actor}));
  PRIVOX_TRY(audit.append(s, {actor, "member.close", member_id, "", nlohmann::json::object()}));
  return closure;
}

Result<accounts::CompanyClosure> CompanyClosures::schedule(const std::string& company_id, const std::string& actor,
                                                           std::optional<int64_t> notice_days) {
  PRIVOX_ASSIGN(const std::string id, accounts::check_id("company", company_id));
  accounts::CompanyClosure closure;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::lock_company(s, id));
    int64_t days = notice_days.value_or(0);
    if (!notice_days) {
      PRIVOX_ASSIGN(days, store::Settings(store_).integer(s, "retention.company_closure_notice_days"));
    }
    if (days < 0) return invalid("notice_days", "must be 0 or more");
    const int64_t now = clock_.now_us();
    PRIVOX_ASSIGN(closure, accounts::schedule_company_closure(s, id, now, days * 86'400'000'000, actor));
    PRIVOX_TRY(audit_.append(s, {actor, "company.closure_schedule", "", "",
                                 {{"company_id", id}, {"notice_days", days},
                                  {"service_ends_at", format_utc(closure.service_ends_at_us)}}}));
    return {};
  }));
  return closure;
}

Status CompanyClosures::cancel(const std::string& company_id, const std::string& actor) {
  PRIVOX_ASSIGN(const std::string id, accounts::check_id("company", company_id));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::lock_company(s, id));
    PRIVOX_TRY(accounts::cancel_company_closure(s, id));
    PRIVOX_TRY(audit_.append(s, {actor, "company.closure_cancel", "", "", {{"company_id", id}}}));
    return {};
  });
}

Result<accounts::CompanyClosure> CompanyClosures::get(const std::string& company_id) {
  PRIVOX_ASSIGN(const std::string id, accounts::check_id("company", company_id));
  accounts::CompanyClosure closure;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(closure, accounts::company_closure(s, id));
    return {};
  }));
  return closure;
}

}  // namespace privox::retention
