// Migration 6: the tables of this subsystem (see schema.h).
#include "store/schema.h"

namespace privox::store {

Migration retention_migration() {
  return {6, "retention", {}};
}

}  // namespace privox::store
