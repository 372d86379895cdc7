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

// The notice as structured data (controller contact from settings, then one section per category:
// fields, purposes, legal basis, retention, recipients, rights), for the portal page and the API.
Result<nlohmann::json> privacy_notice(store::Store& store);

// The record of processing activities (GDPR Art. 30), for `privox ropa`: text and JSON.
Result<nlohmann::json> record_of_processing(store::Store& store);
std::string record_of_processing_text(const nlohmann::json& ropa);

}  // namespace privox::ledgers
