#pragma once
// What notify/ contributes to the registries the composition root assembles (app/registry.h): the
// schema of the tables it owns, its part of the data map and the settings it reads. Each is
// declared beside the code that uses it, in this folder.

#include <span>
#include <vector>

#include "privacy/datamap.h"
#include "store/schema.h"
#include "store/settings.h"

namespace privox::notify {

std::vector<store::SchemaPart> schema_parts();        // schema.cpp
privacy::DataMapPart datamap_part();                 // datamap.cpp
std::span<const store::SettingSpec> settings();     // settings.cpp

}  // namespace privox::notify
