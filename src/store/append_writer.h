#pragma once
// Problem: traffic data arrives at thousands of records a second from many threads, and one
// transaction per record would spend all its time in fsync. AppendWriter is the node's single
// writer for such appends: callers enqueue rows from any thread, one writer thread (a Worker,
// common/worker.h) drains the queue and writes each batch in one transaction
// (Session::insert_rows, which each backend makes as cheap as it can), and callers learn when
// their row is durable: by blocking in wait(), or through on_batch without blocking.
//
// A target may also prepare its rows on the writer thread, inside the batch's transaction, before
// they are written: that is where sip/ and traffic/ seal personal fields, with subject keys read in
// that same transaction, so that the threads that append (the SIP worker) never read the store.
//
// Thread-safety: every public method may be called from any thread. The writer thread is the
// only user of the Store it is given. TicketWaiters belongs to one thread.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "common/worker.h"
#include "store/store.h"

namespace privox::store {

// Turns one target's rows of a batch, as appended, into the rows to write, in place, on the
// writer thread inside the batch's transaction. To refuse a row (say, its subject's key is gone),
// set its error in `refused` (same index): that row is not written, its ticket reports the error,
// and the rest of the batch commits. An error returned fails the whole batch (and `unavailable`
// retries it, with the rows as appended).
using PrepareRows =
    std::function<Status(Session& s, std::vector<Params>& rows, std::vector<std::optional<Error>>& refused)>;

// Where appended rows go: by default an INSERT of `columns` into `table`, batched by the backend.
// With `statement` set, each row instead runs that statement (portable SQL, one `?` per value),
// still inside the batch's transaction: for upserts and for closing a record an earlier row opened.
// Rows are appended in `columns` order and, after `prepare`, written in that order too.
struct AppendTarget {
  std::string table;
  std::vector<std::string> columns;
  std::string statement = {};
  PrepareRows prepare = {};
};

// What became of one batch: its tickets [first, last], whether its transaction committed, and the
// rows a target's prepare refused although the batch committed.
struct BatchOutcome {
  uint64_t first = 0, last = 0;
  Status status;
  std::vector<std::pair<uint64_t, Error>> refused;  // by ticket, ascending

  // The outcome of the row behind ticket `seq`, which this batch holds.
  Status of(uint64_t seq) const;
};

struct AppendOptions {
  // Called on the writer thread after each batch; it must be quick (SipService posts it to the
  // SIP worker's event loop). For callers that track durability without blocking in wait().
  std::function<void(const BatchOutcome& batch)> on_batch;
  size_t max_batch_rows = 4096;
  // Group commit: once rows are waiting, let more join for up to this long before committing, so
  // that a steady trickle shares one fsync instead of paying one each. Adds at most this much to
  // every row's time to durable. 0 commits as soon as a row arrives.
  int64_t group_commit_us = 0;
  // With group_commit_rows, a batch holding fewer rows after group_commit_us waits on for that many,
  // up to group_commit_max_us in all: at a low rate a fixed wait gathers fewer rows into each
  // commit, and the commits, not the rows, are most of the cost.
  size_t group_commit_rows = 0;
  int64_t group_commit_max_us = 0;
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
  size_t add_target(AppendTarget target) EXCLUDES(mutex_);

  // Enqueues one row (values in the target's column order). Fails with `unavailable` when the
  // queue is full or the writer is stopping.
  Result<Ticket> append(size_t target, Params row) EXCLUDES(mutex_);

  // Blocks until the row behind `ticket` is committed (ok) or failed (the error).
  Status wait(Ticket ticket) EXCLUDES(mutex_);
  // Blocks until every row enqueued before the call is committed or failed.
  Status flush() EXCLUDES(mutex_);

  struct Stats {
    uint64_t rows_committed = 0;
    uint64_t batches_committed = 0;
    uint64_t rows_failed = 0;  // in failed batches, or refused by their target's prepare
    size_t queued = 0;         // rows waiting now
    // Each row's time from append() to the end of the commit that made it durable (or failed it),
    // as a histogram (for the metrics): rows per bucket, the last for anything slower.
    static constexpr std::array<int64_t, 10> kLatencyBoundsUs = {1'000,   2'500,   5'000,   10'000,    25'000,
                                                                 50'000,  100'000, 250'000, 1'000'000, 5'000'000};
    std::array<uint64_t, kLatencyBoundsUs.size() + 1> latency_rows{};
    int64_t latency_sum_us = 0;
  };
  Stats stats() const EXCLUDES(mutex_);

 private:
  struct Pending {
    size_t target;
    Params row;
    int64_t appended_us = 0;  // steady clock, for the latency histogram
  };
  struct FailedRange {
    uint64_t first, last;
    Error error;
  };

  void write(uint64_t first, std::vector<Pending>& batch) EXCLUDES(mutex_);
  Status write_batch(const std::vector<Pending>& batch, uint64_t first,
                     std::vector<std::pair<uint64_t, Error>>& refused) EXCLUDES(mutex_);

  const std::unique_ptr<Store> store_;  // used by the writer thread only
  const AppendOptions options_;

  mutable Mutex mutex_;
  CondVar done_;
  // Append-only; a deque, so that the writer can keep pointers to targets while others are added.
  std::deque<AppendTarget> targets_ GUARDED_BY(mutex_);
  uint64_t finished_seq_ GUARDED_BY(mutex_) = 0;  // rows up to here are committed or failed
  std::deque<FailedRange> failures_ GUARDED_BY(mutex_);  // the most recent failed batches and rows
  Stats stats_ GUARDED_BY(mutex_);
  Worker<Pending> worker_;  // last: its thread uses everything above
};

// Callbacks waiting for their rows' tickets, for a thread that learns of batches through on_batch
// (posted to it) and must never block in wait(): the SIP worker. add() in ticket order.
//
// Thread-safety: one thread adds and completes.
class TicketWaiters {
 public:
  using Done = std::function<void(const Status&)>;

  // `done` runs (from completed()) once every row from ticket `first` to `last` is written or
  // failed, with the first failure among them, or ok.
  void add(uint64_t first, uint64_t last, Done done);
  // The writer finished `batch`: runs the callbacks it completes, oldest first.
  void completed(const BatchOutcome& batch);
  size_t size() const { return waiting_.size(); }

 private:
  struct Waiter {
    uint64_t first, last;
    Status status;
    Done done;
  };
  std::deque<Waiter> waiting_;  // ordered by ticket
};

}  // namespace privox::store
