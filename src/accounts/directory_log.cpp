#include "accounts/directory_log.h"

namespace privox::accounts {
namespace {

// A kind this binary does not know (a newer node's) reads as a line: the reader then reloads a
// line that is not there, which drops nothing.
DirectoryItem directory_item_from(std::string_view text) {
  if (text == "trunk") return DirectoryItem::trunk;
  if (text == "ring_group") return DirectoryItem::ring_group;
  if (text == "receptionist") return DirectoryItem::receptionist;
  if (text == "music") return DirectoryItem::music;
  if (text == "conference") return DirectoryItem::conference;
  return DirectoryItem::extension;
}

}  // namespace

std::string_view to_string(DirectoryItem kind) {
  switch (kind) {
    case DirectoryItem::extension: return "extension";
    case DirectoryItem::trunk: return "trunk";
    case DirectoryItem::ring_group: return "ring_group";
    case DirectoryItem::receptionist: return "receptionist";
    case DirectoryItem::music: return "music";
    case DirectoryItem::conference: return "conference";
  }
  return "extension";
}

Status record_directory_change(store::Session& s, DirectoryItem kind, const std::string& id, std::string_view change,
                               int64_t now_us) {
  // First the counter's row: the UPDATE locks it until this transaction ends, so entries commit
  // in the order of their numbers even with several nodes provisioning at once.
  PRIVOX_ASSIGN(store::Rows head,
                s.query("UPDATE directory_log_head SET seq = seq + 1 WHERE id = 1 RETURNING seq"));
  if (head.empty()) return make_error(ErrorCode::corrupt, "directory_log_head has no row");
  const int64_t seq = head[0].i64(0);
  PRIVOX_TRY(s.exec("INSERT INTO directory_changes (seq, kind, item_id, change, changed_at_us) VALUES (?, ?, ?, ?, ?)",
                    {seq, std::string(to_string(kind)), id,
                     std::string(change), now_us}));
  if (seq > kDirectoryLogKept)
    PRIVOX_TRY(s.exec("DELETE FROM directory_changes WHERE seq <= ?", {seq - kDirectoryLogKept}));
  return s.notify(kDirectoryChannel);
}

Result<int64_t> directory_log_head(store::Session& s) {
  PRIVOX_ASSIGN(store::Rows head, s.query("SELECT seq FROM directory_log_head WHERE id = 1"));
  return head.empty() ? 0 : head[0].i64(0);
}

Result<DirectoryChanges> directory_changes_after(store::Session& s, int64_t after, size_t limit) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT seq, kind, item_id, change FROM directory_changes WHERE seq > ? "
                                          "ORDER BY seq LIMIT ?",
                                          {after, static_cast<int64_t>(limit)}));
  DirectoryChanges out;
  out.changes.reserve(rows.size());
  for (const store::Row& r : rows)
    out.changes.push_back({r.i64(0), directory_item_from(r.text(1)), r.text(2), r.text(3)});
  // Numbers run without holes, so a first entry past after + 1 means the ones between were pruned;
  // so does an empty answer while the counter is past `after`. A counter behind `after` means the
  // store is not the one the reader started on (restored from a backup): start again too.
  if (!out.changes.empty()) {
    out.gap = out.changes.front().seq != after + 1;
  } else {
    PRIVOX_ASSIGN(const int64_t head, directory_log_head(s));
    out.gap = head != after;
  }
  return out;
}

}  // namespace privox::accounts
