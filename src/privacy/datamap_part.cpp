// The data map's part for privacy/: subject keys, the audit chain, and, on the store's behalf (it sits below the data map), its schema bookkeeping and settings tables (privacy/datamap.h).
#include "privacy/module.h"

#include <array>

namespace privox::privacy {
namespace {

using enum Purpose;

// clang-format off
constexpr std::array<StructuralColumn, 22> kStructural = {
  StructuralColumn{"subject_keys", "subject_id", "pseudonymous identifier of the key's subject"},
  StructuralColumn{"subject_keys", "wrapped_key", "the subject's data key, encrypted by the master key"},
  StructuralColumn{"subject_keys", "created_at_us", "when the key was made"},
  StructuralColumn{"audit_log", "seq", "position in the chain"},
  StructuralColumn{"audit_log", "id", "random identifier of the entry"},
  StructuralColumn{"audit_log", "at_us", "when the audited action happened"},
  StructuralColumn{"audit_log", "actor", "the staff account or tool that acted"},
  StructuralColumn{"audit_log", "action", "what was done, e.g. member.show"},
  StructuralColumn{"audit_log", "subject_id", "pseudonymous id of the person concerned; never their data"},
  StructuralColumn{"audit_log", "purpose", "the purpose the actor named"},
  StructuralColumn{"audit_log", "detail", "field names and outcomes; values of personal fields are never written"},
  StructuralColumn{"audit_log", "prev_hash", "the chain link"},
  StructuralColumn{"audit_log", "hash", "keyed hash of the entry"},
  StructuralColumn{"audit_head", "id", "always 1"},
  StructuralColumn{"audit_head", "seq", "the chain's last position"},
  StructuralColumn{"audit_head", "hash", "the chain's last hash"},
  StructuralColumn{"schema_migrations", "version", "schema bookkeeping"},
  StructuralColumn{"schema_migrations", "description", "schema bookkeeping"},
  StructuralColumn{"schema_migrations", "applied_at_us", "schema bookkeeping"},
  StructuralColumn{"settings", "key", "names an operator setting (store/settings.cpp)"},
  StructuralColumn{"settings", "value", "the operator's configuration: periods, limits, fees and the controller's business contact details"},
  StructuralColumn{"settings", "updated_at_us", "when the setting last changed"},
};

// clang-format on

}  // namespace

DataMapPart datamap_part() { return {"privacy", {}, kStructural}; }

}  // namespace privox::privacy
