#pragma once
// What billing/ contributes to the registries the composition root assembles (app/registry.h): the
// schema of the tables it owns (invoices and the operator's invoice counter), its part of the data
// map (business records of a tenant, no personal field), the settings it reads (seat price,
// currency, tax rates, how long invoices are kept) and its part in erasing a member (invoices are
// kept under the legal obligation to keep accounting records), and its part in an office manager's
// access export (her company's invoices).

#include <span>
#include <vector>

#include "privacy/datamap.h"
#include "privacy/erasure_part.h"
#include "privacy/export_part.h"
#include "store/schema.h"
#include "store/settings.h"

namespace privox::billing {

std::vector<store::SchemaPart> schema_parts();          // schema.cpp
privacy::DataMapPart datamap_part();                   // datamap.cpp
std::span<const store::SettingSpec> settings();       // settings.cpp
privacy::ErasureParticipantSpec erasure_participant();  // erasure.cpp
privacy::ExportParticipantSpec export_participant();    // export.cpp: an office manager's invoices

}  // namespace privox::billing
