#pragma once
// The privacy notice and the record of processing, generated from the data map (datamap.h) and the
// operator's settings (controller contact details): privox writes its own notices, so what they say
// is what the code does. notice_version() identifies the text a person was shown; it changes
// whenever the data map does, and consent records carry it (consent.h).

#include <nlohmann/json_fwd.hpp>

#include <string>

#include "common/result.h"
#include "store/store.h"

namespace privox::ledgers {

// "n-<first 12 hex of the SHA-256 of the generated notice>", stable while the data map and
// the notice template are unchanged.
std::string notice_version();

// The notice as structured data, for `privox notice` and the portal's page (GET /privacy-notice), in
// two layers. Every text under the human keys below is written for the person the data is about:
// labels and descriptions from the data map, enums and periods in words, never a column name or an
// identifier (ledgers/notice_test.cpp checks).
//   controller          name, address, email, phone; "" for a detail still at its default
//   controller_missing  the details not yet set; controller_warning, a sentence, while the name or
//                       email is among them
//   summary             the first layer: per category (title, what, why, basis, how_long as
//                       {period, items}, who_sees) and per purpose (title, what_for, uses, basis,
//                       consent_only)
//   categories          the second layer, the full table: per category its fields, each with the
//                       identifiers machines read (field, purposes, legal_basis, mandatory; and
//                       description, for auditors) and the same facts in words (label, about_you,
//                       required, why, basis, retention, on_erasure, protection)
//   recipients          who may receive data (kind, who)
//   rights              right (its id), title, what, how (in the portal first), where (its page)
//   version             notice_version()
// Errors are the store's.
Result<nlohmann::json> privacy_notice(store::Store& store);

// The notice as text for a terminal: the first layer, then with `details` the full table.
std::string privacy_notice_text(const nlohmann::json& notice, bool details);

// The record of processing activities (GDPR Art. 30), for `privox ropa`: text and JSON.
Result<nlohmann::json> record_of_processing(store::Store& store);
std::string record_of_processing_text(const nlohmann::json& ropa);

}  // namespace privox::ledgers
