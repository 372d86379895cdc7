#pragma once
// The audit chain (P6, P15). Every access to personal data by staff, every change to it and every
// privacy-relevant operation appends one entry, in the same transaction as the action itself, so
// no action commits without its entry. Entries are append-only and hash-chained: each stores the
// previous entry's hash and a keyed BLAKE2b hash of its own canonical form (sorted-key JSON of
// every column but `hash`), so altering, removing or reordering any entry is detected by verify().
// Entries name subjects by id only and never hold personal data, so erasing a subject never
// breaks the chain.
//
// Thread-safety: stateless apart from the keyring and clock; safe from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::privacy {

struct AuditRecord;  // privacy/audit_record.h, which the code that builds or reads one includes
struct AuditEntry;

struct AuditVerifyReport {
  bool ok = false;
  int64_t entries = 0;
  int64_t first_bad_seq = 0;  // when !ok
  std::string problem;        // when !ok
};

// A point of the chain to publish outside privox (a ticket, an email to the auditor, a transparency
// log): the chain's length then and the hash of its last entry. A self-consistent chain whose tail
// was cut off and whose head row was rewound passes verify() on its own; it no longer holds the
// anchor at its position, which verify() with the anchor detects.
struct AuditAnchor {
  int64_t length = 0;
  std::string hash;  // lower-case hex; empty for the empty chain
};
// "LENGTH:HASH", what `privox audit anchor` prints and `audit verify --anchor` takes.
std::string format_anchor(const AuditAnchor& anchor);
// `invalid_argument` (field "anchor") naming what is wrong with the text.
Result<AuditAnchor> parse_anchor(std::string_view text);

// One audit_log row as stored.
struct AuditLogRow {
  int64_t seq = 0;
  std::string id;
  int64_t at_us = 0;
  std::string actor, action, subject_id, purpose, detail, prev_hash, hash;
};

// Checks a chain fed to it row by row, in seq order, wherever the rows come from: the live store
// (AuditChain::verify) or a snapshot that is not a store yet (a PostgreSQL dump being restored).
// Not thread-safe; one chain per instance.
class AuditChainCheck {
 public:
  explicit AuditChainCheck(const Keyring& keys, std::optional<AuditAnchor> anchor = std::nullopt)
      : keys_(keys), anchor_(std::move(anchor)) {}
  // False once a problem was found; later rows are then ignored.
  bool add(const AuditLogRow& row);
  // After the last row: the report, with the head row's claims (audit_head) and the anchor checked.
  AuditVerifyReport finish(int64_t head_seq, const std::string& head_hash);

 private:
  bool failed(int64_t seq, std::string problem);

  const Keyring& keys_;
  const std::optional<AuditAnchor> anchor_;
  AuditVerifyReport report_;
  bool broken_ = false;
  std::string prev_hash_;
  int64_t expected_seq_ = 1;
};

// The entries about these subjects (a person and their lines), in chain order: those whose
// subject_id is one of them, and the reads of several subjects' traffic (`traffic.list`, whose
// detail names each subject read). For an access export, so each entry's detail is cut down to
// what concerns these subjects: a `subjects` map keeps only their own ids and counts, and any
// other id-like value names none but theirs. Errors are store errors.
Result<std::vector<AuditEntry>> entries_about(store::Session& s, const std::vector<std::string>& subject_ids);

class AuditChain {
 public:
  AuditChain(const Keyring& keys, const Clock& clock) : keys_(keys), clock_(clock) {}

  // Appends within the caller's write transaction. Returns the entry's sequence number.
  Result<int64_t> append(store::Session& tx, const AuditRecord& record) const;

  // Walks the whole chain in order. With an anchor, the chain must also still hold it: the entry at
  // the anchor's length exists and has the anchor's hash.
  Result<AuditVerifyReport> verify(store::Store& store, const std::optional<AuditAnchor>& anchor = std::nullopt) const;

  // The chain's head as its head row records it, read in the caller's transaction (what `privox
  // audit anchor` prints; verify() says whether the entries agree). Errors are store errors.
  static Result<AuditAnchor> head(store::Session& s);

 private:
  const Keyring& keys_;
  const Clock& clock_;
};

}  // namespace privox::privacy
