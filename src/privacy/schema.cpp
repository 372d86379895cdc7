// The schema of privacy/'s tables, subject keys and the audit chain, as migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "privacy/module.h"

namespace privox::privacy {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {1,
       "privacy",
       "subject keys and the audit chain",
       {
           R"(CREATE TABLE subject_keys (
             subject_id TEXT PRIMARY KEY,
             wrapped_key {blob} NOT NULL,
             created_at_us {i64} NOT NULL))",
           R"(CREATE TABLE audit_log (
             seq {i64} PRIMARY KEY,
             id TEXT NOT NULL UNIQUE,
             at_us {i64} NOT NULL,
             actor TEXT NOT NULL,
             action TEXT NOT NULL,
             subject_id TEXT,
             purpose TEXT,
             detail TEXT NOT NULL,
             prev_hash TEXT NOT NULL,
             hash TEXT NOT NULL))",
           R"(CREATE TABLE audit_head (
             id {i64} PRIMARY KEY CHECK (id = 1),
             seq {i64} NOT NULL,
             hash TEXT NOT NULL))",
           "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '')",
       }},
  };
}

}  // namespace privox::privacy
