#pragma once
// Legal holds (P14): a hold names a member whose data must not be erased or anonymised while a
// legal matter (litigation, an authority's order) is open. Erasure (rights/) and the retention
// jobs (retention/) ask is_held() before they touch a subject and skip held ones; releasing the
// hold lets them proceed on their next run. Holds are never deleted: a released hold keeps its
// release time and who released it. Placing and releasing are audited.
//
// The reason and reference name the legal matter, not the person (the CLI says so); they are
// stored in clear.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::ledgers {

struct LegalHold {
  std::string id, subject_id, reason, reference, placed_by;
  int64_t placed_at_us = 0;
  std::optional<int64_t> released_at_us;
  std::string released_by;  // empty while in force
};

class LegalHolds {
 public:
  LegalHolds(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), clock_(clock), audit_(keys, clock) {}

  // Places a hold on a member; returns its id. Errors: `member` not_found; invalid `reason`
  // (empty or longer than 500); invalid `reference` (longer than 200). Several holds may cover
  // one member; each is released on its own.
  Result<std::string> place(const std::string& member_id, const std::string& reason, const std::string& reference,
                            const std::string& actor) const;
  // Errors: `id` not_found; conflict when the hold was already released.
  Status release(const std::string& hold_id, const std::string& actor) const;

  // Holds in force (and released ones too when asked), oldest first.
  Result<std::vector<LegalHold>> list(bool include_released = false) const;

  // True when a hold in force covers `subject_id`: a member id, or an extension id whose line is
  // assigned to a held member (traffic records are sealed under the line's key).
  static Result<bool> is_held(store::Session& s, const std::string& subject_id);
  // The reason (with its reference) of every hold in force on the member, oldest first; empty when
  // none is. Erasure refuses with these (erasure/erasure.h).
  static Result<std::vector<std::string>> reasons_for(store::Session& s, const std::string& member_id);
  // Every member under a hold in force, for jobs that sweep many subjects at once.
  static Result<std::vector<std::string>> held_members(store::Session& s);

 private:
  store::Store& store_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::ledgers
