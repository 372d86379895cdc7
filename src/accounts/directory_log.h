#pragma once
// The provisioning change log: every change to what the SIP directory holds of a line or a trunk
// (a line added, its password reset, its member unassigned; a trunk added) is recorded here by
// the transaction that makes the change, which also notifies kDirectoryChannel
// (store::Session::notify). Every serving node's directory loader (sip/directory_loader.h) then
// reads just the lines and trunks that changed, within a second, instead of reloading everything.
//
// Entries are numbered by one counter whose row the recording transaction updates first, so
// recording transactions take turns and commit in the order of their numbers: a reader that has
// seen every entry up to N never later finds one below N appear. The log keeps the latest
// kDirectoryLogKept entries; a reader further behind than that (a node stopped for a long time)
// is told so (`gap`) and loads everything again.
//
// Thread-safety: free functions working in the caller's transaction.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace privox::accounts {

inline constexpr std::string_view kDirectoryChannel = "privox_directory";
inline constexpr int64_t kDirectoryLogKept = 10'000;

// ring_group: a ring group of callflow/groups.h (its id); receptionist: a virtual receptionist or
// one of its menus (callflow/receptionist.h; the receptionist's or the menu's id); music: a
// company's music on hold (callflow/music.h; the company's id); conference: a conference room
// (callflow/conference.h; the room's id); a line's forwarding or do-not-disturb changing is
// recorded as a change of the line (extension).
enum class DirectoryItem { extension, trunk, ring_group, receptionist, music, conference };
// "extension", "trunk", "ring_group", "receptionist", "music" or "conference": the kind as stored
// in the log.
std::string_view to_string(DirectoryItem kind);

struct DirectoryChange {
  int64_t seq = 0;
  DirectoryItem kind = DirectoryItem::extension;
  std::string item_id;  // the extension's, trunk's, ring group's, receptionist's, menu's, company's or room's id
  std::string change;   // "added", "password_reset", "member_unassigned", ...: for logs
};

// Records that the line or trunk `id` changed, in the caller's write transaction, and notifies
// kDirectoryChannel at its commit.
Status record_directory_change(store::Session& s, DirectoryItem kind, const std::string& id, std::string_view change,
                               int64_t now_us);

// The number of the latest entry (0: none yet). Read in the transaction that loads the whole
// directory, it is where that reader's log starts.
Result<int64_t> directory_log_head(store::Session& s);

struct DirectoryChanges {
  std::vector<DirectoryChange> changes;  // oldest first
  // Entries after `after` were dropped from the log before this reader saw them: load everything.
  bool gap = false;
};
// The entries after `after`, at most `limit` of them (ask again from the last one's seq).
Result<DirectoryChanges> directory_changes_after(store::Session& s, int64_t after, size_t limit);

}  // namespace privox::accounts
