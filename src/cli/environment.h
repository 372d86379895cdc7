#pragma once
// What every verb that touches a data directory needs: the master key, the store and a clock.
// Layout of a data directory (mode 0700):
//   master.key   the master key (mode 0600); never copied into the store or its backups
//   privox.db    the SQLite store, with its -wal and -shm files beside it, unless --store names a
//                PostgreSQL database instead

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::cli {

struct DataDir {
  std::string root;
  std::string store_url;  // empty: the SQLite file in root
  std::string key_path() const { return root + "/master.key"; }
  std::string db_path() const { return root + "/privox.db"; }
};

// The store the data directory (or its --store URL) names.
Result<std::unique_ptr<store::Store>> open_store(const DataDir& dir);

struct Environment {
  DataDir dir;
  privacy::Keyring keys;
  std::unique_ptr<store::Store> store;
  ProcessClock clock;
};

// Creates the directory, master key and schema where missing. `changed` is false when the
// directory was already complete and current.
Status initialise(const DataDir& dir, bool* changed);
// Opens an initialised data directory and checks its schema is the one this binary expects.
Result<std::unique_ptr<Environment>> open_environment(const DataDir& dir);

// Field names become flags: birth_date is --birth-date.
std::string flag_for(std::string_view field);
// Prints "privox: error: --flag: message" on stderr and returns the exit code for the error:
// 2 invalid input, 3 not found, 4 conflict with stored data, 1 anything else.
int fail(const Error& e);

// "cli:<user>" for the audit chain.
std::string cli_actor();

}  // namespace privox::cli
