#pragma once
// Problem: traffic data arrives at thousands of records a second from many threads, and one
// transaction per record would spend all its time in fsync. AppendWriter is the node's single
// writer for such appends: callers enqueue rows from any thread, one writer thread drains the
// queue and writes each batch in one transaction (Session::insert_rows, which each backend makes
// as cheap as it can), and callers can wait until their row is durable.
//
// Thread-safety: every public method may be called from any thread. The writer thread is the
// only user of the Store it is given.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace privox::store {

// Where appended rows go: by default an INSERT of `columns` into `table`, batched by the backend.
// With `statement` set, each row instead runs that statement (portable SQL, one `?` per value),
// still inside the batch's transaction: for upserts and for closing a record an earlier row opened.
struct AppendTarget {
  std::string table;
  std::vector<std::string> columns;
  std::string statement = {};
};

struct AppendOptions {
  // Called on the writer thread after each batch with its ticket range [first, last] and outcome;
  // it must be quick. For callers that track durability without blocking in wait().
  std::function<void(uint64_t first, uint64_t last, const Status& outcome)> on_batch;
  size_t max_batch_rows = 4096;
  // Group commit: once rows are waiting, let more join for up to this long before committing, so
  // that a steady trickle shares one fsync instead of paying one each. Adds at most this much to
  // every row's time to durable. 0 commits as soon as a row arrives.
  int64_t group_commit_us = 0;
  size_t max_queue_rows = 1 << 20;  // past this, append() refuses rather than growing without bound
  int commit_attempts = 5;          // per batch, with backoff, before the batch is reported failed
};

class AppendWriter {
 public:
  // A position in the append order; wait() on it returns once that row is durable or failed.
  struct Ticket {
    uint64_t seq = 0;
  };

  AppendWriter(std::unique_ptr<Store> store, AppendOptions options = {});
  ~AppendWriter();  // drains what was enqueued, then stops
  AppendWriter(const AppendWriter&) = delete;
  AppendWriter& operator=(const AppendWriter&) = delete;

  // Registers a table the writer may append to; returns its handle for append().
  size_t add_target(AppendTarget target);

  // Enqueues one row (values in the target's column order). Fails with `unavailable` when the
  // queue is full or the writer is stopping.
  Result<Ticket> append(size_t target, Params row);

  // Blocks until the row behind `ticket` is committed (ok) or its batch failed (the error).
  Status wait(Ticket ticket);
  // Blocks until every row enqueued before the call is committed or failed.
  Status flush();

  struct Stats {
    uint64_t rows_committed = 0;
    uint64_t batches_committed = 0;
    uint64_t rows_failed = 0;
  };
  Stats stats() const;

 private:
  struct Pending {
    size_t target;
    Params row;
  };
  struct FailedRange {
    uint64_t first, last;
    Error error;
  };

  void run();
  Status write_batch(const std::vector<Pending>& batch);

  const std::unique_ptr<Store> store_;  // used by the writer thread only
  const AppendOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable done_;
  std::vector<AppendTarget> targets_;  // guarded by mutex_, append-only
  std::deque<Pending> queue_;          // guarded by mutex_
  uint64_t enqueued_seq_ = 0;          // guarded by mutex_: seq of the last row enqueued
  uint64_t finished_seq_ = 0;          // guarded by mutex_: rows up to here are committed or failed
  std::deque<FailedRange> failures_;   // guarded by mutex_: the most recent failed batches
  Stats stats_;                        // guarded by mutex_
  bool stopping_ = false;              // guarded by mutex_
  bool lingering_ = false;             // guarded by mutex_: the writer is gathering a group
  std::thread thread_;
};

}  // namespace privox::store
