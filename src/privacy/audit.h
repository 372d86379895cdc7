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

  // Walks the whole chain in order.
  Result<AuditVerifyReport> verify(store::Store& store) const;

 private:
  const Keyring& keys_;
  const Clock& clock_;
};

}  // namespace privox::privacy
