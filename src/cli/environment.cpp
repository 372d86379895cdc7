#include "cli/environment.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "store/schema.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace privox::cli {

Result<std::unique_ptr<store::Store>> open_store(const DataDir& dir) {
  if (dir.store_url.empty()) return store::open_sqlite(dir.db_path());
  return store::open_postgres(dir.store_url);
}

Status initialise(const DataDir& dir, bool* changed) {
  *changed = false;
  std::error_code ec;
  if (std::filesystem::create_directories(dir.root, ec)) {
    *changed = true;
    std::filesystem::permissions(dir.root, std::filesystem::perms::owner_all, ec);
  }
  if (ec) return invalid("data-dir", fmt::format("cannot create {}: {}", dir.root, ec.message()));
  if (!std::filesystem::is_directory(dir.root)) return invalid("data-dir", fmt::format("{} is not a directory", dir.root));
  // Connect before creating a key, so a wrong --store leaves no key behind.
  PRIVOX_ASSIGN(auto store, open_store(dir));
  PRIVOX_ASSIGN(const int before, store->schema_version());
  bool key_created = false;
  PRIVOX_ASSIGN(privacy::Keyring keys, privacy::Keyring::create_or_load(dir.key_path(), &key_created));
  if (key_created && before > 0) {
    std::filesystem::remove(dir.key_path(), ec);
    return invalid("data-dir", fmt::format("{} holds a store but its master key file {} is missing; restore the key "
                                           "file (a new key could not read the data)",
                                           dir.root, dir.key_path()));
  }
  PRIVOX_TRY(store->migrate());
  if (before == store::latest_schema_version()) return {};
  *changed = true;
  ProcessClock clock;
  privacy::AuditChain audit(keys, clock);
  return store::with_transaction(*store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(audit.append(s, {cli_actor(), "store.migrate", "", "",
                                {{"from_version", before}, {"to_version", store::latest_schema_version()}}}));
    return {};
  });
}

Result<std::unique_ptr<Environment>> open_environment(const DataDir& dir) {
  const bool has_key = std::filesystem::exists(dir.key_path());
  bool has_store = std::filesystem::exists(dir.db_path());
  if (!has_key && !dir.store_url.empty()) {
    // Whether a PostgreSQL store was initialised only the store itself can say.
    PRIVOX_ASSIGN(auto store, open_store(dir));
    PRIVOX_ASSIGN(const int version, store->schema_version());
    has_store = version > 0;
  } else if (!dir.store_url.empty()) {
    has_store = true;  // check_schema below says whether it was initialised
  }
  if (!has_key && has_store)
    return invalid("data-dir", fmt::format("the master key file {} is missing; restore it from your key backup "
                                           "(the store cannot be read without it)",
                                           dir.key_path()));
  if (!has_key || !has_store)
    return invalid("data-dir", fmt::format("{} is not an initialised privox data directory; run `privox init "
                                           "--data-dir {}` first",
                                           dir.root, dir.root));
  PRIVOX_ASSIGN(privacy::Keyring keys, privacy::Keyring::load(dir.key_path()));
  PRIVOX_ASSIGN(auto store, open_store(dir));
  PRIVOX_TRY(store::check_schema(*store));
  return std::make_unique<Environment>(Environment{dir, std::move(keys), std::move(store), {}});
}

std::string flag_for(std::string_view field) {
  std::string flag = "--" + std::string(field);
  for (char& c : flag)
    if (c == '_') c = '-';
  return flag;
}

int fail(const Error& e) {
  const std::string where = e.field.empty() ? "" : flag_for(e.field) + ": ";
  std::fprintf(stderr, "privox: error: %s%s\n", where.c_str(), e.message.c_str());
  switch (e.code) {
    case ErrorCode::invalid_argument: return 2;
    case ErrorCode::not_found: return 3;
    case ErrorCode::conflict: return 4;
    default: return 1;
  }
}

std::string cli_actor() {
  const passwd* pw = ::getpwuid(::geteuid());
  return fmt::format("cli:{}", pw ? pw->pw_name : std::to_string(::geteuid()));
}

}  // namespace privox::cli
