#pragma once
// Process-wide counts of the store's trouble, for the metrics (cli/metrics.cpp): how often a
// transaction was retried or given up for an unavailable store, and how often a PostgreSQL link
// was found broken and a new one opened. Relaxed atomics: any thread, no lock.

#include <atomic>
#include <cstdint>

namespace privox::store {

struct StoreCounters {
  std::atomic<uint64_t> retries{0};           // with_transaction attempts after an `unavailable`
  std::atomic<uint64_t> unavailable{0};       // with_transaction calls that stayed `unavailable` to the end
  std::atomic<uint64_t> connections_opened{0};  // PostgreSQL connections opened (pool misses, reconnects)
  std::atomic<uint64_t> connections_lost{0};    // PostgreSQL links found broken (the pool is emptied)
  // New PostgreSQL links that reached another server than the link before: a multi-host URL's next
  // host after the last one was lost (a failover, with target_session_attrs=read-write).
  std::atomic<uint64_t> failovers{0};
};

StoreCounters& counters();

}  // namespace privox::store
