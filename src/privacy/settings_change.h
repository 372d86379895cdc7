#pragma once
// Changing an operator setting (store/settings.h) on someone's behalf: the value is checked and
// stored with its audit entry in one transaction, so no setting changes without a trace. Settings
// are the operator's configuration, not personal data, so the value itself goes in the chain.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::privacy {

// Errors: `key` for an undeclared key; the key, naming what is wrong, for a value its spec refuses.
Status change_setting(store::Store& store, const Keyring& keys, const Clock& clock, std::string_view key,
                      std::string_view value, const std::string& actor);

}  // namespace privox::privacy
