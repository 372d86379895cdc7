#include "store/store.h"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "store/counters.h"
#include "store/schema.h"

namespace privox::store {

const char* to_string(Backend backend) {
  return backend == Backend::sqlite ? "sqlite" : "postgresql";
}

Status with_transaction(Store& store, TxMode mode, const std::function<Status(Session&)>& body) {
  constexpr int kAttempts = 5;
  Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt > 0) {
      counters().retries.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
    }
    auto tx = store.begin(mode);
    if (!tx.ok()) {
      last = tx.error();
    } else {
      last = body(**tx);
      if (last.ok()) last = (*tx)->commit();
    }
    // Only `unavailable` promises that nothing was written, so only it is safe to run again.
    if (last.ok() || last.error().code != ErrorCode::unavailable) return last;
  }
  counters().unavailable.fetch_add(1, std::memory_order_relaxed);
  return last;
}

Status check_schema(Store& store) {
  PRIVOX_ASSIGN(const int version, store.schema_version());
  if (version == latest_schema_version()) return {};
  if (version == 0)
    return make_error(ErrorCode::version_mismatch,
                      fmt::format("store {} is not initialised; run `privox init` first", store.location()));
  if (version < latest_schema_version())
    return make_error(ErrorCode::version_mismatch,
                      fmt::format("store {} has schema version {}, this privox needs {}; run `privox init` to "
                                  "migrate it",
                                  store.location(), version, latest_schema_version()));
  return make_error(ErrorCode::version_mismatch,
                    fmt::format("store {} has schema version {}, newer than this privox (which knows up to {}); "
                                "run a newer privox",
                                store.location(), version, latest_schema_version()));
}

}  // namespace privox::store
