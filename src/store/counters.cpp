#include "store/counters.h"

namespace privox::store {

StoreCounters& counters() {
  static StoreCounters instance;  // process-wide, like the connections it counts
  return instance;
}

}  // namespace privox::store
