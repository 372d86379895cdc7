#include "common/random.h"

#include <pthread.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>

namespace privox {
namespace {

// Bumped in a forked child, whose pools (a copy of the parent's) must not hand out what the parent
// hands out too.
std::atomic<uint64_t> fork_generation{0};

const bool at_fork_registered = [] {
  return pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1, std::memory_order_relaxed); }) == 0;
}();

struct Pool {
  std::array<uint8_t, kRandomPoolSize> bytes{};
  size_t used = kRandomPoolSize;  // empty until the first draw
  uint64_t generation = 0;
  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() { sodium_memzero(bytes.data(), bytes.size()); }
};

thread_local Pool pool;

}  // namespace

void random_bytes(void* out, size_t size) {
  if (size > kRandomPoolSize / 4 || !at_fork_registered) {
    randombytes_buf(out, size);
    return;
  }
  if (const uint64_t now = fork_generation.load(std::memory_order_relaxed); pool.generation != now) {
    pool.generation = now;
    pool.used = kRandomPoolSize;
  }
  auto* to = static_cast<uint8_t*>(out);
  while (size > 0) {
    if (pool.used == kRandomPoolSize) {
      randombytes_buf(pool.bytes.data(), pool.bytes.size());
      pool.used = 0;
    }
    const size_t n = std::min(size, kRandomPoolSize - pool.used);
    std::memcpy(to, pool.bytes.data() + pool.used, n);
    sodium_memzero(pool.bytes.data() + pool.used, n);
    pool.used += n;
    to += n;
    size -= n;
  }
}

}  // namespace privox
