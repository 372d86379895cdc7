#pragma once
// One path for every correction of a member's personal data (GDPR Art. 16), whoever makes it: the
// member herself in the portal, her office manager, the operator's staff, or the completion of a
// rectification request. Each correction re-seals the corrected fields (Accounts::correct_member)
// and, in the same transaction, records a rectification notice for every earlier disclosure in the
// register whose categories include a corrected field, so each recipient is told (Art. 19).
//
// Thread-safety: free function; the caller owns the transaction.

#include <nlohmann/json_fwd.hpp>

#include <string>

#include "accounts/validation.h"
#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::rights {

// Corrects the member's fields and records the notices, tied to the rectification request
// `request_id` (a correction made directly is recorded as a request completed at once:
// Requests::correct_directly). Returns {"corrected": [fields], "notices": [{id, disclosure_id,
// recipient, kind, fields}]}. Errors as Accounts::correct_member: they name the field at fault.
Result<nlohmann::json> correct_and_notify(store::Session& tx, store::Store& store, const privacy::Keyring& keys,
                                          const Clock& clock, const std::string& member_id,
                                          const accounts::FieldValues& corrections, const std::string& request_id,
                                          const std::string& actor);

}  // namespace privox::rights
