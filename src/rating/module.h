#pragma once
// What rating/ contributes to the registries the composition root assembles (app/registry.h): the
// schema of the tables it owns and its part of the data map (which declares them free of personal
// data: prices, prefixes and companies' plans).

#include <vector>

#include "privacy/datamap.h"
#include "store/schema.h"

namespace privox::rating {

std::vector<store::SchemaPart> schema_parts();  // schema.cpp
privacy::DataMapPart datamap_part();           // datamap.cpp

}  // namespace privox::rating
