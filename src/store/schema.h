#pragma once
// The schema, versioned in code. Every subsystem declares the tables it owns as migration parts
// beside its code (`<folder>/schema.cpp`, exported through its module.h), and only that folder's
// code holds SQL that names them (app/structure_test.cpp checks it). The composition root
// (app/registry.h) installs every part, in layer order; a version's migration is its parts joined
// in that order, so a table a lower layer owns exists before a higher layer's REFERENCES it.
//
// Each statement is written once in portable SQL with two type tokens that the backend expands:
//   {blob} binary data (SQLite BLOB, PostgreSQL BYTEA)
//   {i64}  64-bit integer (SQLite INTEGER, PostgreSQL BIGINT)
// A statement that starts with {sqlite} or {postgresql} runs on that backend only (triggers).
// Parts are append-only: a released version is never edited, a change is a part of a new version.
// Versions are one sequence across subsystems, without gaps.
//
// Thread-safety: install_schema() once, before any store is migrated; the rest is read-only.

#include <string>
#include <string_view>
#include <vector>

namespace privox::store {

struct SchemaPart {
  int version;
  std::string_view owner;  // the folder whose code owns the part's tables
  std::string_view description;
  std::vector<std::string> statements;
};

struct Migration {
  int version;
  std::string description;
  std::vector<std::string> statements;
};

// Installs every subsystem's parts, in layer order. Versions must run 1, 2, ... without a gap.
void install_schema(std::vector<SchemaPart> parts);
const std::vector<SchemaPart>& schema_parts();
// The installed parts joined into one migration per version, oldest first.
const std::vector<Migration>& migrations();
int latest_schema_version();

// The store's own part: the settings table (store/settings.h).
std::vector<SchemaPart> schema_parts_of_store();

// Expands the {blob} and {i64} type tokens for one backend.
std::string expand_types(bool postgresql, std::string sql);

}  // namespace privox::store
