#pragma once
// Account closure (P14): a member's account is closed now and their personal data erased after
// the operator's grace period (setting retention.closed_account_grace_days), when the
// closed-accounts retention job (retention/retention.h) erases them through the one erasure path
// (erasure/erasure.h), unless a legal hold names them.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::retention {

struct Closure {
  std::string member_id;
  int64_t closed_at_us = 0;
  std::string closed_by;
  int64_t erased_at_us = 0;  // 0: not erased yet
  bool already_closed = false;  // close_account found it closed and changed nothing
};

// Closes the member's account with an audit entry "member.close", in one transaction. Closing an
// account that is already closed changes nothing and returns the first closure (already_closed).
// Errors: invalid_argument (field "id") for a malformed id, not_found for an unknown member,
// erased for a member who was already erased.
Result<Closure> close_account(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                              const std::string& member_id, const std::string& actor);

// The closure of one member; nullopt when their account is open.
Result<std::optional<Closure>> find_closure(store::Session& s, const std::string& member_id);

}  // namespace privox::retention
