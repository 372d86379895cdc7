#pragma once
// What fraud/ contributes to the registries the composition root assembles (app/registry.h): the
// schema of its one table (fraud_alerts), its part of the data map (no personal field: an alert
// names a company, a line and counts) and the settings it reads (each rule's thresholds and
// action, the scan and refresh intervals, the operator's alert address).

#include <span>
#include <vector>

#include "privacy/datamap.h"
#include "store/schema.h"
#include "store/settings.h"

namespace privox::fraud {

std::vector<store::SchemaPart> schema_parts();     // schema.cpp
privacy::DataMapPart datamap_part();              // datamap.cpp
std::span<const store::SettingSpec> settings();  // settings.cpp

}  // namespace privox::fraud
