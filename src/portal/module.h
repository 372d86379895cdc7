#pragma once
// What portal/ contributes to the registries the composition root assembles (app/registry.h): the
// schema of the tables it owns, its part of the data map, the settings it reads and its part in
// erasing a member. Each is
// declared beside the code that uses it, in this folder.

#include <span>
#include <vector>

#include "privacy/datamap.h"
#include "privacy/erasure_part.h"
#include "store/schema.h"
#include "store/settings.h"

namespace privox::portal {

std::vector<store::SchemaPart> schema_parts();        // schema.cpp
privacy::DataMapPart datamap_part();                 // datamap.cpp
std::span<const store::SettingSpec> settings();     // settings.cpp
privacy::ErasureParticipantSpec erasure_participant();  // erasure.cpp
// The company's office managers' member ids, oldest login first, in the caller's transaction: the
// roles billing/ needs (who pays an invoice, whose export holds them), installed by the
// composition root (billing/charges.h). office_managers.cpp
Result<std::vector<std::string>> office_managers_of(store::Session& s, const std::string& company_id);

}  // namespace privox::portal
