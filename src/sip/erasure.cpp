// sip/'s part in erasing a member (privacy/erasure_part.h): the stored registrations of their
// lines. A device holds its address and software (sealed under the line's key); it registers again
// to be reachable on the line, which stays with the company. Also its part in removing a line
// (accounts/line_removal.h): the line's registrations go with it.
#include "sip/module.h"

namespace privox::sip {
namespace {

Result<std::vector<privacy::ErasureItem>> erase(const privacy::ErasureSubject& subject,
                                                const privacy::ErasureContext& context) {
  std::vector<privacy::ErasureItem> items;
  if (subject.lines.empty()) return items;
  store::Params params;
  std::string sql = "DELETE FROM bindings WHERE extension_id IN (";
  for (size_t i = 0; i < subject.lines.size(); ++i) {
    sql += i ? ", ?" : "?";
    params.emplace_back(subject.lines[i]);
  }
  PRIVOX_ASSIGN(const int64_t deleted, context.tx.exec(sql + ")", params));
  if (deleted > 0)
    items.push_back({.item = "devices registered on the member's lines",
                     .outcome = "erased",
                     .count = deleted,
                     .how = "the stored registrations are deleted; a device registers again to be reachable"});
  return items;
}

Status remove_line_bindings(store::Session& tx, const std::string& line_id) {
  PRIVOX_TRY(tx.exec("DELETE FROM bindings WHERE extension_id = ?", {line_id}));
  return {};
}

}  // namespace

privacy::ErasureParticipantSpec erasure_participant() { return {"sip", erase}; }

accounts::LineRemovalPartSpec line_removal_part() { return {"sip", remove_line_bindings}; }

}  // namespace privox::sip
