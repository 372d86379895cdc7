// callflow/'s parts in what happens to a member's lines: erasing the member (privacy/erasure_part.h),
// their access export (privacy/export_part.h), and a line removed (accounts/line_removal.h).
//
// A line's forwarding is the line's, its external numbers sealed under the line's key, which
// outlives the member (the line stays with the company). So erasing the member deletes their
// lines' forwarding rows, numbers and all; a copy in a backup stays sealed under the line's key
// and goes with it. Each line whose forwarding went is a directory change, so every node's proxy
// stops forwarding its calls within a second. The member's lines' own conference rooms go too,
// each a directory change of its own.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "accounts/directory_log.h"
#include "accounts/extensions.h"
#include "callflow/conference.h"
#include "callflow/forwarding.h"
#include "callflow/module.h"
#include "common/clock.h"

namespace privox::callflow {
namespace {

// The lines among `lines` that have forwarding, deleted; how many.
Result<int64_t> delete_forwarding_of(store::Session& tx, const std::vector<std::string>& lines, int64_t now_us) {
  int64_t deleted = 0;
  for (const std::string& line : lines) {
    PRIVOX_ASSIGN(const int64_t n, tx.exec("DELETE FROM line_forwarding WHERE line_id = ?", {line}));
    if (n == 0) continue;
    deleted += n;
    PRIVOX_TRY(accounts::record_directory_change(tx, accounts::DirectoryItem::extension, line, "forwarding", now_us));
  }
  return deleted;
}

Result<std::vector<privacy::ErasureItem>> erase_forwarding(const privacy::ErasureSubject& subject,
                                                           const privacy::ErasureContext& context) {
  std::vector<privacy::ErasureItem> items;
  PRIVOX_ASSIGN(const int64_t deleted, delete_forwarding_of(context.tx, subject.lines, context.now_us));
  if (deleted > 0)
    items.push_back({.item = "call forwarding and do-not-disturb of the member's lines",
                     .outcome = "erased",
                     .count = deleted,
                     .how = "rows deleted"});
  PRIVOX_ASSIGN(const int64_t rooms, remove_line_rooms(context.tx, subject.lines, context.now_us));
  if (rooms > 0)
    items.push_back({.item = "conference rooms of the member's lines",
                     .outcome = "erased",
                     .count = rooms,
                     .how = "rows deleted"});
  return items;
}

nlohmann::json target_json(store::Session& tx, const std::optional<Target>& target) {
  if (!target) return nullptr;
  auto number = target_number(tx, *target);
  return {{"kind", to_string(target->kind)}, {"number", number.ok() ? *number : target->ref}};
}

// forwarding.json: each of the member's lines that has any, its external numbers opened.
Result<std::vector<privacy::ExportFilePart>> export_forwarding(const privacy::ExportSubject& subject,
                                                               const privacy::ExportContext& context) {
  PRIVOX_ASSIGN(const std::vector<accounts::Extension> lines,
                accounts::extensions_of_member(context.tx, subject.member_id));
  nlohmann::json out = nlohmann::json::array();
  for (const accounts::Extension& line : lines) {
    PRIVOX_ASSIGN(const std::optional<Forwarding> f, forwarding_of(context.tx, context.keys, line.id));
    if (!f) continue;
    out.push_back({{"line_id", line.id},
                   {"line_number", line.number},
                   {"dnd", f->dnd},
                   {"always", target_json(context.tx, f->always)},
                   {"busy", target_json(context.tx, f->busy)},
                   {"no_answer", target_json(context.tx, f->no_answer)},
                   {"unregistered", target_json(context.tx, f->unregistered)},
                   {"no_answer_seconds", f->no_answer_seconds}});
  }
  if (out.empty()) return std::vector<privacy::ExportFilePart>{};
  return std::vector<privacy::ExportFilePart>{{"forwarding.json", out.dump(2)}};
}

// The line's forwarding and its conference room go and it leaves every group, each group and room
// changed recorded for the SIP directory. The seam passes no clock, and the change's time is for
// logs only: the system clock.
Status remove_line_from_callflow(store::Session& tx, const std::string& line_id) {
  const int64_t now = SystemClock().now_us();
  PRIVOX_TRY(tx.exec("DELETE FROM line_forwarding WHERE line_id = ?", {line_id}));
  PRIVOX_TRY(remove_line_rooms(tx, {line_id}, now));
  PRIVOX_ASSIGN(
      const store::Rows groups,
      tx.query("SELECT DISTINCT group_id FROM ring_group_members WHERE line_id = ? ORDER BY group_id", {line_id}));
  PRIVOX_TRY(tx.exec("DELETE FROM ring_group_members WHERE line_id = ?", {line_id}));
  for (const store::Row& g : groups)
    PRIVOX_TRY(
        accounts::record_directory_change(tx, accounts::DirectoryItem::ring_group, g.text(0), "member_removed", now));
  return {};
}

}  // namespace

privacy::ErasureParticipantSpec erasure_participant() { return {"callflow", erase_forwarding}; }
privacy::ExportParticipantSpec export_participant() { return {"callflow", export_forwarding}; }
accounts::LineRemovalPartSpec line_removal_part() { return {"callflow", remove_line_from_callflow}; }

}  // namespace privox::callflow
