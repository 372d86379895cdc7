#include "store/schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

namespace privox::store {
namespace {

struct Installed {
  std::vector<SchemaPart> parts;
  std::vector<Migration> migrations;
};

Installed& installed() {
  static Installed schema;
  return schema;
}

}  // namespace

void install_schema(std::vector<SchemaPart> parts) {
  Installed& schema = installed();
  schema = Installed{std::move(parts), {}};
  int latest = 0;
  for (const SchemaPart& part : schema.parts) latest = std::max(latest, part.version);
  for (int version = 1; version <= latest; ++version) {
    Migration m{version, "", {}};
    for (const SchemaPart& part : schema.parts) {
      if (part.version != version) continue;
      m.description += fmt::format("{}{}: {}", m.description.empty() ? "" : "; ", part.owner, part.description);
      m.statements.insert(m.statements.end(), part.statements.begin(), part.statements.end());
    }
    assert(!m.statements.empty() && "schema versions must run without a gap");
    schema.migrations.push_back(std::move(m));
  }
}

const std::vector<SchemaPart>& schema_parts() { return installed().parts; }

const std::vector<Migration>& migrations() {
  assert(!installed().migrations.empty() && "app::install_registries() was not called");
  return installed().migrations;
}

int latest_schema_version() { return migrations().back().version; }

std::string expand_types(bool postgresql, std::string sql) {
  // A statement only one backend can run (trigger syntax differs) becomes a no-op on the other.
  constexpr std::string_view kSqliteOnly = "{sqlite}", kPostgresqlOnly = "{postgresql}";
  if (sql.starts_with(kSqliteOnly)) {
    if (postgresql) return "SELECT 1";
    sql.erase(0, kSqliteOnly.size());
  } else if (sql.starts_with(kPostgresqlOnly)) {
    if (!postgresql) return "SELECT 1";
    sql.erase(0, kPostgresqlOnly.size());
  }
  auto replace_all = [&](std::string_view from, std::string_view to) {
    for (size_t pos = sql.find(from); pos != std::string::npos; pos = sql.find(from, pos + to.size()))
      sql.replace(pos, from.size(), to);
  };
  replace_all("{blob}", postgresql ? "BYTEA" : "BLOB");
  replace_all("{i64}", postgresql ? "BIGINT" : "INTEGER");
  return sql;
}

}  // namespace privox::store
