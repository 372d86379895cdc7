#pragma once
// What callflow/ contributes to the registries the composition root assembles (app/registry.h):
// the schema of the tables it owns, its part of the data map, its part in erasing a member and in
// their access export, and what removing a line takes with it here. Each is declared beside the
// code that uses it, in this folder.

#include <vector>

#include "accounts/line_removal.h"
#include "privacy/datamap.h"
#include "privacy/erasure_part.h"
#include "privacy/export_part.h"
#include "store/schema.h"

namespace privox::callflow {

std::vector<store::SchemaPart> schema_parts();          // schema.cpp
privacy::DataMapPart datamap_part();                    // datamap.cpp
privacy::ErasureParticipantSpec erasure_participant();  // erasure.cpp
privacy::ExportParticipantSpec export_participant();    // erasure.cpp: the member's lines' forwarding
// A line removed: its forwarding and its conference room go and it leaves every ring group
// (erasure.cpp). Forwards, overflows and receptionist menu keys and timeouts that point at it
// stay: the proxy falls back, and target_number shows the id.
accounts::LineRemovalPartSpec line_removal_part();

}  // namespace privox::callflow
