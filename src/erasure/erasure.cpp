#include "erasure/erasure.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <optional>

#include "accounts/accounts.h"
#include "accounts/validation.h"
#include "ledgers/legal_holds.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::erasure {

Result<Outcome> erase_member(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                             const std::string& member_id, const std::string& actor, const std::string& why) {
  PRIVOX_ASSIGN(const std::string id, accounts::check_id("id", member_id));
  const privacy::AuditChain audit(keys, clock);
  Outcome outcome;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& tx) -> Status {
    outcome = {};
    PRIVOX_ASSIGN(std::optional<accounts::MemberRow> member, accounts::find_member(tx, id));
    if (!member) return Error{ErrorCode::not_found, "id", fmt::format("no member has id {}", id)};
    if (member->erased) {
      outcome.already_erased = true;
      outcome.erased_at_us = member->erased_at_us;
      return {};
    }
    PRIVOX_ASSIGN(std::vector<std::string> holds, ledgers::LegalHolds::reasons_for(tx, id));
    if (!holds.empty())
      return Error{ErrorCode::conflict, "legal_hold",
                   fmt::format("member {} is under a legal hold and cannot be erased while it is in force: {}", id,
                               fmt::join(holds, "; "))};
    outcome.erased_at_us = clock.now_us();
    privacy::ErasureSubject subject{id, member->company_id, {}};
    PRIVOX_ASSIGN(subject.lines, accounts::lines_of_member(tx, id));
    const privacy::ErasureContext context{store, tx, keys, outcome.erased_at_us, actor};
    for (const privacy::ErasureParticipantSpec& participant : privacy::erasure_participants()) {
      PRIVOX_ASSIGN(std::vector<privacy::ErasureItem> items, participant.erase(subject, context));
      outcome.items.insert(outcome.items.end(), items.begin(), items.end());
    }
    // Last, when nothing needs it any more: what stays is sealed under the lines' keys or holds ids.
    PRIVOX_ASSIGN(const bool destroyed, privacy::subject_keys::destroy(tx, id));
    keys.forget_unwrapped(id);
    PRIVOX_TRY(audit.append(tx, {actor, "member.erase", id, "",
                                 {{"why", why}, {"key_destroyed", destroyed}, {"items", outcome.items.size()}}}));
    return {};
  }));
  if (!outcome.already_erased) outcome.files_purged = store.purge_deleted().ok();
  return outcome;
}

nlohmann::json to_json(const Outcome& outcome) {
  if (outcome.already_erased) return {{"already_erased", true}, {"erased_at", format_utc(outcome.erased_at_us)}};
  nlohmann::json items = nlohmann::json::array();
  for (const privacy::ErasureItem& item : outcome.items) items.push_back(privacy::to_json(item));
  return {{"items", std::move(items)},
          {"member_key", "destroyed"},
          {"erased_at", format_utc(outcome.erased_at_us)},
          {"store_files_purged", outcome.files_purged}};
}

}  // namespace privox::erasure
