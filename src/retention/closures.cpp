#include "retention/closures.h"

#include <nlohmann/json.hpp>
#include <fmt/format.h>

#include "accounts/accounts.h"
#include "accounts/validation.h"
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
    PRIVOX_ASSIGN(std::optional<accounts::MemberRow> member, accounts::find_member(s, id));
    if (!member) return Error{ErrorCode::not_found, "id", fmt::format("no member has id {}", id)};
    PRIVOX_ASSIGN(std::optional<Closure> existing, find_closure(s, id));
    if (existing) {
      closure = *existing;
      closure.already_closed = true;
      return {};
    }
    if (member->erased)
      return Error{ErrorCode::erased, "id", fmt::format("member {} was already erased; there is no account to close", id)};
    closure = {id, clock.now_us(), actor, 0, false};
    PRIVOX_TRY(s.exec("INSERT INTO account_closures (member_id, closed_at_us, closed_by) VALUES (?, ?, ?)",
                      {id, closure.closed_at_us, actor}));
    PRIVOX_TRY(audit.append(s, {actor, "member.close", id, "", nlohmann::json::object()}));
    return {};
  }));
  return closure;
}

}  // namespace privox::retention
