#pragma once
// The data map in parts: each subsystem declares the columns of the tables it owns next to its
// other code, in privacy/datamap_<part>.cpp, and datamap.cpp joins them into personal_fields() and
// structural_columns(). Declaring a column in more than one part is a test failure.

#include <span>

#include "privacy/datamap.h"

namespace privox::privacy {

std::span<const FieldSpec> portal_personal_fields();        // datamap_portal.cpp: portal/ (accounts, sessions, analytics)
std::span<const StructuralColumn> portal_structural_columns();
std::span<const FieldSpec> ledger_personal_fields();        // datamap_ledgers.cpp: consent, optional data, disclosures, holds, settings
std::span<const StructuralColumn> ledger_structural_columns();
std::span<const FieldSpec> rights_personal_fields();        // datamap_rights.cpp: rights/
std::span<const StructuralColumn> rights_structural_columns();
std::span<const FieldSpec> retention_personal_fields();     // datamap_retention.cpp: retention/, analytics/
std::span<const StructuralColumn> retention_structural_columns();
std::span<const FieldSpec> notify_personal_fields();        // datamap_notify.cpp: notify/ (mail, campaigns, SMS)
std::span<const StructuralColumn> notify_structural_columns();

}  // namespace privox::privacy
