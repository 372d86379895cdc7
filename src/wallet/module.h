#pragma once
// What wallet/ contributes to the registries the composition root assembles (app/registry.h): the
// schema of the tables it owns (each company's international wallet, its ledger and its card top-ups), its part
// of the data map (a tenant's money, no field about a person) and its settings.

#include <vector>

#include "privacy/datamap.h"
#include "store/schema.h"
#include "store/settings.h"

namespace privox::wallet {

std::vector<store::SchemaPart> schema_parts();  // schema.cpp
privacy::DataMapPart datamap_part();           // datamap.cpp
std::span<const store::SettingSpec> settings();  // settings.cpp

}  // namespace privox::wallet
