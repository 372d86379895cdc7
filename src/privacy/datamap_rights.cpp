// The data map's part for the tables of this subsystem (see datamap_parts.h).
#include "privacy/datamap_parts.h"

namespace privox::privacy {

std::span<const FieldSpec> rights_personal_fields() { return {}; }
std::span<const StructuralColumn> rights_structural_columns() { return {}; }

}  // namespace privox::privacy
