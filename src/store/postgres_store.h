#pragma once
// The backend operators scale out on: several `privox serve` nodes share one PostgreSQL database
// per region. Connections come from a small pool and are replaced when they break, so a restarted
// server or a dropped link heals on the next transaction. Statements are sent with their
// parameters out of line (never spliced into SQL text), and binary data travels as bytea.

#include <memory>
#include <string>
#include <string_view>

#include "store/store.h"

namespace privox::store {

// True for postgresql:// and postgres:// URLs.
bool is_postgres_url(std::string_view url);

// Connects to `url` (postgresql://USER:PASS@HOST:PORT/DB[?options]) and checks the server answers.
Result<std::unique_ptr<Store>> open_postgres(const std::string& url);

}  // namespace privox::store
