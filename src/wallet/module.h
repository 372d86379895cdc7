#pragma once
// What wallet/ contributes to the registries the composition root assembles (app/registry.h): the
// schema of the tables it owns (each company's international wallet and its ledger) and its part
// of the data map (a tenant's money, no field about a person).

#include <vector>

#include "privacy/datamap.h"
#include "store/schema.h"

namespace privox::wallet {

std::vector<store::SchemaPart> schema_parts();  // schema.cpp
privacy::DataMapPart datamap_part();           // datamap.cpp

}  // namespace privox::wallet
