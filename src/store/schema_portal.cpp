// Migration 3: the tables of this subsystem (see schema.h).
#include "store/schema.h"

namespace privox::store {

Migration portal_migration() {
  return {3, "portal", {}};
}

}  // namespace privox::store
