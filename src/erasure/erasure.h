#pragma once
// The one way to erase a member (P13 erasure, P14 closed accounts, and the operator's `privox
// member erase`): every entry point calls erase_member, so a legal hold stops them all.
//
// In one write transaction it
//   1. refuses while a legal hold is in force (conflict on field "legal_hold", naming each hold's
//      reason and reference);
//   2. runs every participant the subsystems installed (privacy/erasure_part.h), in order: each
//      erases, anonymises or keeps what its subsystem holds of the member and reports it;
//   3. destroys the member's data key, so every copy of their sealed fields, backups included,
//      is unreadable (crypto-shredding), and appends one audit entry "member.erase";
// then it asks the store to purge the deleted bytes from its files. A member who was already
// erased is reported as such and nothing changes.
//
// Thread-safety: free function; safe from any thread.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/erasure_part.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::erasure {

struct Outcome {
  std::vector<privacy::ErasureItem> items;  // every participant's report, in order
  bool already_erased = false;
  int64_t erased_at_us = 0;
  bool files_purged = false;  // false when another process kept the write-ahead log open
};

// `why` says what asked for the erasure ("operator", "rights request <id>", "closed account"), for
// the audit entry. Errors: `id` invalid or not_found; conflict on "legal_hold"; a participant's
// error (nothing is erased then).
Result<Outcome> erase_member(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                             const std::string& member_id, const std::string& actor, const std::string& why);

// {"items": [...], "member_key": "destroyed", "erased_at": ..., "store_files_purged": ...}; an
// already erased member gives {"already_erased": true, "erased_at": ...}.
nlohmann::json to_json(const Outcome& outcome);

}  // namespace privox::erasure
