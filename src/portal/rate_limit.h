#pragma once
// Per-client rate limits of the portal's unauthenticated writes: sign-ups per client address and
// cookie-consent decisions per visitor's address (or member), so one source can neither fill the
// append-only consent ledger (it once took 260 undeletable rows a second) nor probe sign-up at
// will. Counts are kept in the store, so every node shares them, each under a keyed hash of its
// scope and client (IPv4 address, IPv6 /64; http::client_key), in fixed windows.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <cstdint>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "portal/auth_limits.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::portal {

// Counts one action of `scope` ("signup", "consent") by `who` (a client address, or a member id
// for a member's own consents) and says whether it is allowed: 0 when it is, else the seconds
// until the window in which it would be. A refused action is not counted. The count is taken in
// one write transaction under a row lock, so parallel actions are never all let through.
// Expired counts are purged as actions happen. Errors are the store's.
Result<int64_t> take_rate(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                          std::string_view scope, std::string_view who, const RateLimit& limit);

}  // namespace privox::portal
