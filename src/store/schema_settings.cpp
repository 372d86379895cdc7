// The store's own table, the operator's settings, as a migration part (schema.h).
#include "store/schema.h"

namespace privox::store {

std::vector<SchemaPart> schema_parts_of_store() {
  return {
      {4,
       "store",
       "the operator's settings",
       {
           // Only values that differ from their declared default (store/settings.cpp).
           R"(CREATE TABLE settings (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                updated_at_us {i64} NOT NULL))",
       }},
  };
}

}  // namespace privox::store
