#pragma once
// What privacy/ contributes to the registries the composition root assembles (app/registry.h): the
// schema of the tables it owns, its part of the data map and the settings it reads. Each is
// declared beside the code that uses it, in this folder.

#include <vector>

#include "privacy/datamap.h"
#include "privacy/erasure_part.h"
#include "store/schema.h"

namespace privox::privacy {

std::vector<store::SchemaPart> schema_parts();        // schema.cpp
DataMapPart datamap_part();                     // datamap_part.cpp
ErasureParticipantSpec erasure_participant();  // erasure.cpp

}  // namespace privox::privacy
