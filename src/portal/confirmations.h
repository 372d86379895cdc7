#pragma once
// One-time links emailed to an address, proving that whoever follows the link reads that mailbox:
// a sign-up's (the account is made only then), a member's change of email (the address changes
// only then), an office manager's invitation (the invitee's account is made only then) and a
// forgotten password's reset (the password changes only then). Answering "this email is taken" at once told anyone which addresses have accounts
// (issue 10, item 10); with a link, sign-up and the change of email answer the same whether the
// address is free or taken, and only the mailbox learns which it was.
//
// The link carries a random 256-bit token in its fragment (never sent to a server in a Referer or
// a log). The store keeps only a keyed hash of the token and the pending request sealed
// (XChaCha20-Poly1305) under a key derived from the token itself, so neither a copy of the store
// nor the operator can open or complete a pending request without the email. A pending request
// expires after its ttl_us (kConfirmationTtlUs unless its kind needs another) and is purged as
// others are made; following its link ends it.
//
// Thread-safety: free functions; all state is in the store.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::portal {

inline constexpr int64_t kConfirmationTtlUs = 24LL * 3600 * 1'000'000;
inline constexpr int64_t kInviteTtlUs = 7LL * 24 * 3600 * 1'000'000;
// A reset link is worth a password, so it lives only as long as reading one's mail takes.
inline constexpr int64_t kPasswordResetTtlUs = 30LL * 60 * 1'000'000;

enum class ConfirmationKind { signup, email, invite, reset };
std::string_view to_string(ConfirmationKind kind);

struct PendingConfirmation {
  ConfirmationKind kind = ConfirmationKind::signup;
  // email: the member whose address changes; invite: the invitation (portal/invites.h); reset: the
  // login whose password changes; empty for a sign-up.
  std::string subject_id;
  nlohmann::json payload;
  int64_t ttl_us = kConfirmationTtlUs;  // when creating: how long the link works
};

// Inside the caller's write transaction: stores `pending` sealed under a new token and returns the
// token, for the link. Purges expired confirmations first.
Result<std::string> create_confirmation(store::Session& tx, const privacy::Keyring& keys, const Clock& clock,
                                        const PendingConfirmation& pending);

// Inside the caller's write transaction: the pending request of a token, removed so the link works
// once. not_found (field "token") for a token that is unknown, used or expired.
Result<PendingConfirmation> take_confirmation(store::Session& tx, const privacy::Keyring& keys, const Clock& clock,
                                              std::string_view token);

// The kind of a pending token, without taking it; nullopt when there is none (or it expired).
Result<std::optional<ConfirmationKind>> confirmation_kind(store::Session& s, const privacy::Keyring& keys,
                                                          const Clock& clock, std::string_view token);
// The pending request of a token, opened but not taken (the invitation page checks the form
// against it before the link is used up); nullopt when there is none (or it expired).
Result<std::optional<PendingConfirmation>> peek_confirmation(store::Session& s, const privacy::Keyring& keys,
                                                             const Clock& clock, std::string_view token);

// Removes a member's pending changes (erasure).
Status delete_confirmations_of(store::Session& tx, const std::string& subject_id);

}  // namespace privox::portal
