#include "ledgers/legal_holds.h"

#include <fmt/format.h>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "privacy/audit_record.h"

namespace privox::ledgers {
namespace {

constexpr size_t kMaxReason = 500;
constexpr size_t kMaxHoldReference = 200;

LegalHold hold_from_row(const store::Row& r) {
  LegalHold h;
  h.id = r.text(0);
  h.subject_id = r.text(1);
  h.reason = r.text(2);
  h.reference = r.text(3);
  h.placed_at_us = r.i64(4);
  h.placed_by = r.text(5);
  if (!r.is_null(6)) h.released_at_us = r.i64(6);
  h.released_by = r.text_or(7, "");
  return h;
}

constexpr std::string_view kHoldColumns =
    "id, subject_id, reason, reference, placed_at_us, placed_by, released_at_us, released_by";

}  // namespace

Result<std::string> LegalHolds::place(const std::string& member_id, const std::string& reason,
                                      const std::string& reference, const std::string& actor) const {
  if (reason.empty()) return invalid("reason", "is required: name the legal matter the hold serves");
  PRIVOX_TRY(accounts::check_one_line("reason", reason, kMaxReason));
  PRIVOX_TRY(accounts::check_one_line("reference", reference, kMaxHoldReference));
  const std::string id = new_id(clock_.now_us());
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    PRIVOX_ASSIGN(std::optional<accounts::MemberRow> member, accounts::find_member(tx, member_id));
    if (!member) return Error{ErrorCode::not_found, "member", fmt::format("no member has id '{}'", member_id)};
    PRIVOX_TRY(tx.exec("INSERT INTO legal_holds (id, subject_id, reason, reference, placed_at_us, placed_by) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       {id, member_id, reason, reference, clock_.now_us(), actor}));
    PRIVOX_TRY(audit_.append(tx, {actor, "legal_hold.place", member_id, "legal", {{"hold_id", id}}}));
    return {};
  }));
  return id;
}

Status LegalHolds::release(const std::string& hold_id, const std::string& actor) const {
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    // The UPDATE first: it takes the row lock, so two releases cannot both succeed.
    PRIVOX_ASSIGN(const int64_t changed,
                  tx.exec("UPDATE legal_holds SET released_at_us = ?, released_by = ? WHERE id = ? AND "
                          "released_at_us IS NULL",
                          {clock_.now_us(), actor, hold_id}));
    PRIVOX_ASSIGN(store::Rows rows, tx.query("SELECT subject_id FROM legal_holds WHERE id = ?", {hold_id}));
    if (rows.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no legal hold has id '{}'", hold_id)};
    if (changed == 0)
      return Error{ErrorCode::conflict, "id", fmt::format("legal hold '{}' was already released", hold_id)};
    PRIVOX_TRY(audit_.append(tx, {actor, "legal_hold.release", rows[0].text(0), "legal", {{"hold_id", hold_id}}}));
    return {};
  });
}

Result<std::vector<LegalHold>> LegalHolds::list(bool include_released) const {
  std::vector<LegalHold> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows,
                  s.query(fmt::format("SELECT {} FROM legal_holds {} ORDER BY placed_at_us, id", kHoldColumns,
                                      include_released ? "" : "WHERE released_at_us IS NULL")));
    for (const store::Row& r : rows) out.push_back(hold_from_row(r));
    return {};
  }));
  return out;
}

Result<bool> LegalHolds::is_held(store::Session& s, const std::string& subject_id) {
  std::string member_id = subject_id;
  PRIVOX_ASSIGN(std::optional<std::string> assigned, accounts::member_of_line(s, subject_id));
  if (assigned) member_id = *assigned;
  PRIVOX_ASSIGN(std::vector<std::string> reasons, reasons_for(s, member_id));
  return !reasons.empty();
}

Result<std::vector<std::string>> LegalHolds::reasons_for(store::Session& s, const std::string& member_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT reason, reference FROM legal_holds WHERE released_at_us IS NULL "
                                          "AND subject_id = ? ORDER BY placed_at_us, id",
                                          {member_id}));
  std::vector<std::string> out;
  for (const store::Row& r : rows)
    out.push_back(r.text(1).empty() ? r.text(0) : fmt::format("{} (ref. {})", r.text(0), r.text(1)));
  return out;
}

Result<std::vector<std::string>> LegalHolds::held_members(store::Session& s) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT DISTINCT subject_id FROM legal_holds WHERE released_at_us IS NULL "
                                          "ORDER BY subject_id"));
  std::vector<std::string> out;
  for (const store::Row& r : rows) out.push_back(r.text(0));
  return out;
}

}  // namespace privox::ledgers
