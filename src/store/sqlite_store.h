#pragma once
// The embedded default: one SQLite file (WAL mode, foreign keys on, synchronous=FULL so that a
// committed transaction survives a crash, secure_delete so that deleted bytes are zeroed).

#include <memory>
#include <string>

#include "store/store.h"

namespace privox::store {

// Opens (creating if needed) the database file at `path`. Thread-safe result; see Store.
Result<std::unique_ptr<Store>> open_sqlite(const std::string& path);

}  // namespace privox::store
