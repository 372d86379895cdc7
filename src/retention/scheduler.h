#pragma once
// Runs every retention job every `interval` inside `privox serve`, on one node at a time: each
// round takes the store's job lock (Store::try_lock_job(kJobLockName)) and skips the round when
// another node or a CLI run holds it. Errors are logged and the next round tries again. What a
// node keeps on its own disk (the rights copies under its data directory) is no other node's to
// clear: its sweeps run every round on every node, before the lock is asked for.
//
// Thread-safety: start() and stop() from one thread (serve's); the rounds run on a thread of
// the scheduler's own. stop() waits for a batch in progress to commit, not for the whole run.

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/clock.h"
#include "common/worker.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::retention {

class Scheduler {
 public:
  Scheduler(store::Store& store, const privacy::Keyring& keys, const Clock& clock, int64_t interval_us);
  ~Scheduler();  // stops
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Adds a sweep of this node's own files, run at the start of every round. Before start().
  void add_node_sweep(std::function<void()> sweep) { node_sweeps_.push_back(std::move(sweep)); }

  // The first round starts after `first_delay_us`, so that serve comes up first.
  void start(int64_t first_delay_us = 60'000'000);
  void stop();
  // Rounds that ran (took the lock and finished without error); for tests.
  uint64_t completed_rounds() const { return completed_.load(); }
  // For the metrics, from any thread: rounds that failed, rounds skipped because another node or a
  // CLI run held the lock, and the time spent in rounds this node ran (completed or failed).
  uint64_t failed_rounds() const { return failed_.load(); }
  uint64_t skipped_rounds() const { return skipped_.load(); }
  int64_t rounds_us() const { return rounds_us_.load(); }
  int64_t last_round_us() const { return last_round_us_.load(); }

 private:
  void round();

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  const int64_t interval_us_;
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> skipped_{0};
  std::atomic<int64_t> rounds_us_{0};
  std::atomic<int64_t> last_round_us_{0};
  std::vector<std::function<void()>> node_sweeps_;
  // Nothing is posted to it: its tick is the round. A run reads its stop flag between batches.
  // Last, so that it stops first.
  Worker<Task> worker_;
};

}  // namespace privox::retention
