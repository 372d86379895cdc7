#pragma once
// A member's personal fields shown for one named purpose (P6): the data map decides which fields
// the purpose may use, and for marketing the consent ledger decides, person by person, whether
// email and phone may be used at all (P11). Every view is audited ("member.show", with the names
// of the fields shown, never their values) in the transaction that reads them.
//
// Thread-safety: free function; safe from any thread.

#include <nlohmann/json_fwd.hpp>

#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/datamap.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::consent {

// {"id", "company_id", "status", "created_at", "purpose", "fields": {...},
//  "withheld_for_purpose": [...]}; an erased member has "erased_at" and "message" instead of fields.
// Errors: `id` invalid or not_found.
Result<nlohmann::json> show_member(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                   const std::string& id, privacy::Purpose purpose, const std::string& actor);

}  // namespace privox::consent
