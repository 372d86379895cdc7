// accounts/'s part in erasing a member (privacy/erasure_part.h): their record, and their lines.
#include "accounts/accounts.h"
#include "accounts/module.h"

namespace privox::accounts {
namespace {

Result<std::vector<privacy::ErasureItem>> erase(const privacy::ErasureSubject& subject,
                                                const privacy::ErasureContext& context) {
  PRIVOX_ASSIGN(std::vector<std::string> held, mark_member_erased(context.tx, subject.member_id, context.now_us));
  std::vector<privacy::ErasureItem> items;
  items.reserve(held.size() + 1);
  for (const std::string& field : held)
    items.push_back({.item = "member field " + field,
                     .outcome = "erased",
                     .how = "the member's data key is destroyed, so every copy, backups included, is unreadable"});
  PRIVOX_ASSIGN(const int64_t unassigned, unassign_lines(context.tx, subject.member_id, context.now_us));
  if (unassigned > 0)
    items.push_back({.item = "phone lines",
                     .outcome = "kept",
                     .count = unassigned,
                     .exception = "the company's lines, not the member's: unassigned from the member, they stay with "
                                  "the company; their labels, which may have named the member, are cleared"});
  return items;
}

}  // namespace

privacy::ErasureParticipantSpec erasure_participant() { return {"accounts", erase}; }

}  // namespace privox::accounts
