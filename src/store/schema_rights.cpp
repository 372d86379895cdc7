// Migration 5: the tables of this subsystem (see schema.h).
#include "store/schema.h"

namespace privox::store {

Migration rights_migration() {
  return {5, "rights", {}};
}

}  // namespace privox::store
