#pragma once
// The schema, versioned in code. Each migration is a list of statements written once in portable
// SQL with two type tokens that the backend expands:
//   {blob} binary data (SQLite BLOB, PostgreSQL BYTEA)
//   {i64}  64-bit integer (SQLite INTEGER, PostgreSQL BIGINT)
// Migrations are append-only: a released version is never edited, a change is a new version.
//
// Tables, and who owns them:
//   companies      accounts/  tenants; region decides which regional store holds their data
//   members        accounts/  people; every personal column is encrypted under the member's key
//   subject_keys   privacy/   each subject's data key, wrapped by the master key
//   audit_log      privacy/   the hash-chained audit trail; subject ids only, never personal data
//   audit_head     privacy/   one row: the chain's last sequence number and hash
// privacy/datamap.cpp declares every column of these tables, personal or not.

#include <string>
#include <vector>

namespace privox::store {

struct Migration {
  int version;
  const char* description;
  std::vector<std::string> statements;
};

const std::vector<Migration>& migrations();
int latest_schema_version();

// Expands the {blob} and {i64} type tokens for one backend.
std::string expand_types(bool postgresql, std::string sql);

}  // namespace privox::store
