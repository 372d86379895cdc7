// The schema of ledgers/'s tables, the disclosure register and legal holds, as migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "ledgers/module.h"

namespace privox::ledgers {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {4,
       "ledgers",
       "disclosure register, legal holds",
       {
           // The disclosure register (ledgers/disclosures.h). categories: comma-separated data map
           // category names. trunk_id: the trunk a carrier's standing entry is for.
           R"(CREATE TABLE disclosures (
                id TEXT PRIMARY KEY,
                recipient TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('carrier', 'supplier', 'authority', 'buyer', 'region_transfer')),
                categories TEXT NOT NULL,
                legal_basis TEXT NOT NULL,
                reference TEXT NOT NULL,
                safeguard TEXT NOT NULL,
                trunk_id TEXT,
                disclosed_at_us {i64} NOT NULL,
                recorded_by TEXT NOT NULL))",
           "CREATE INDEX disclosures_at ON disclosures (disclosed_at_us)",
           "CREATE INDEX disclosures_trunk ON disclosures (trunk_id)",
           R"(CREATE TABLE disclosure_subjects (
                disclosure_id TEXT NOT NULL REFERENCES disclosures (id),
                subject_id TEXT NOT NULL,
                PRIMARY KEY (disclosure_id, subject_id)))",
           "CREATE INDEX disclosure_subjects_subject ON disclosure_subjects (subject_id)",
           // Legal holds (ledgers/legal_holds.h): never deleted; released_at_us is NULL while in force.
           R"(CREATE TABLE legal_holds (
                id TEXT PRIMARY KEY,
                subject_id TEXT NOT NULL,
                reason TEXT NOT NULL,
                reference TEXT NOT NULL,
                placed_at_us {i64} NOT NULL,
                placed_by TEXT NOT NULL,
                released_at_us {i64},
                released_by TEXT))",
           "CREATE INDEX legal_holds_subject ON legal_holds (subject_id)",
       }},
  };
}

}  // namespace privox::ledgers
