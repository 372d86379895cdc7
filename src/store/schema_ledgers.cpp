// Migration 4: the privacy engine's ledgers and the operator's settings (see schema.h).
#include "store/schema.h"

namespace privox::store {

Migration ledgers_migration() {
  return {4,
          "privacy ledgers: operator settings, consent ledger, optional data, disclosure register, legal holds",
          {
              // Only values that differ from their declared default (store/settings.cpp).
              R"(CREATE TABLE settings (
                   key TEXT PRIMARY KEY,
                   value TEXT NOT NULL,
                   updated_at_us {i64} NOT NULL))",
          }};
}

}  // namespace privox::store
