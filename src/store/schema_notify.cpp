// Migration 7: the tables of this subsystem (see schema.h).
#include "store/schema.h"

namespace privox::store {

Migration notify_migration() {
  return {7, "notify", {}};
}

}  // namespace privox::store
