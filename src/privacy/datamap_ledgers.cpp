// The data map's part for the privacy ledgers and the operator's settings (see datamap_parts.h).
#include <array>

#include "privacy/datamap_parts.h"

namespace privox::privacy {
namespace {

// clang-format off
constexpr std::array<StructuralColumn, 3> kStructural = {{
  {"settings", "key", "names an operator setting (store/settings.cpp)"},
  {"settings", "value", "the operator's configuration: periods, limits, fees and the controller's business contact details"},
  {"settings", "updated_at_us", "when the setting last changed"},
}};
// clang-format on

}  // namespace

std::span<const FieldSpec> ledger_personal_fields() { return {}; }
std::span<const StructuralColumn> ledger_structural_columns() { return kStructural; }

}  // namespace privox::privacy
