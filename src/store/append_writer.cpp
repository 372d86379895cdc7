#include "store/append_writer.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace privox::store {
namespace {
constexpr size_t kFailuresKept = 1024;

int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Status BatchOutcome::of(uint64_t seq) const {
  if (!status.ok()) return status;
  for (const auto& [refused_seq, error] : refused)
    if (refused_seq == seq) return error;
  return {};
}

AppendWriter::AppendWriter(std::unique_ptr<Store> store, AppendOptions options)
    : store_(std::move(store)),
      options_(std::move(options)),
      worker_(WorkerOptions{.name = "privox-append",
                            .max_queue = options_.max_queue_rows,
                            .max_batch = options_.max_batch_rows,
                            .linger_us = options_.group_commit_us,
                            .fill_min = options_.group_commit_rows,
                            .linger_max_us = options_.group_commit_max_us}) {
  worker_.start([this](uint64_t first, std::vector<Pending>& batch) { write(first, batch); });
}

AppendWriter::~AppendWriter() { worker_.stop(); }

size_t AppendWriter::add_target(AppendTarget target) {
  MutexLock lock(mutex_);
  targets_.push_back(std::move(target));
  return targets_.size() - 1;
}

Result<AppendWriter::Ticket> AppendWriter::append(size_t target, Params row) {
  {
    MutexLock lock(mutex_);
    if (target >= targets_.size()) return make_error(ErrorCode::internal, "append to an unregistered target");
    if (row.size() != targets_[target].columns.size())
      return make_error(ErrorCode::internal, "append row does not match its target's columns");
  }
  const uint64_t seq = worker_.post(Pending{target, std::move(row), steady_us()});
  if (seq != 0) return Ticket{seq};
  if (worker_.stopping()) return make_error(ErrorCode::unavailable, "append writer is stopping");
  return make_error(ErrorCode::unavailable, "append queue is full; the store is not keeping up");
}

Status AppendWriter::wait(Ticket ticket) {
  MutexLock lock(mutex_);
  while (finished_seq_ < ticket.seq) done_.wait(mutex_);
  for (const FailedRange& f : failures_)
    if (ticket.seq >= f.first && ticket.seq <= f.last) return f.error;
  return {};
}

Status AppendWriter::flush() { return wait(Ticket{worker_.posted()}); }

AppendWriter::Stats AppendWriter::stats() const {
  size_t queued = worker_.queued();
  MutexLock lock(mutex_);
  Stats out = stats_;
  out.queued = queued;
  return out;
}

void AppendWriter::write(uint64_t first, std::vector<Pending>& batch) {
  BatchOutcome outcome;
  outcome.first = first;
  outcome.last = first + batch.size() - 1;
  outcome.status = write_batch(batch, first, outcome.refused);
  if (options_.on_batch) options_.on_batch(outcome);
  const int64_t done_us = steady_us();
  {
    MutexLock lock(mutex_);
    for (const Pending& p : batch) {
      const int64_t latency = std::max<int64_t>(0, done_us - p.appended_us);
      size_t bucket = 0;
      while (bucket < Stats::kLatencyBoundsUs.size() && latency > Stats::kLatencyBoundsUs[bucket]) ++bucket;
      ++stats_.latency_rows[bucket];
      stats_.latency_sum_us += latency;
    }
    finished_seq_ = outcome.last;
    if (outcome.status.ok()) {
      stats_.rows_committed += batch.size() - outcome.refused.size();
      stats_.rows_failed += outcome.refused.size();
      ++stats_.batches_committed;
      for (const auto& [seq, error] : outcome.refused) failures_.push_back({seq, seq, error});
    } else {
      stats_.rows_failed += batch.size();
      failures_.push_back({outcome.first, outcome.last, outcome.status.error()});
    }
    while (failures_.size() > kFailuresKept) failures_.pop_front();
  }
  done_.notify_all();
}

Status AppendWriter::write_batch(const std::vector<Pending>& batch, uint64_t first,
                                 std::vector<std::pair<uint64_t, Error>>& refused) {
  // Rows keep their order: consecutive rows for one target form a run written together, so an
  // update always lands after the insert it follows, whatever the targets' numbers.
  struct Run {
    const AppendTarget* target;  // stable: targets_ only grows, and a deque keeps its elements
    size_t begin, end;           // indexes into `batch`
  };
  std::vector<Run> runs;
  {
    MutexLock lock(mutex_);
    for (size_t i = 0; i < batch.size(); ++i) {
      const AppendTarget* target = &targets_[batch[i].target];
      if (runs.empty() || runs.back().target != target) runs.push_back({target, i, i});
      runs.back().end = i + 1;
    }
  }
  const auto body = [&](Session& s) -> Status {
    refused.clear();  // a retried transaction starts again from the rows as appended
    for (const Run& run : runs) {
      const AppendTarget& t = *run.target;
      std::vector<Params> rows;
      rows.reserve(run.end - run.begin);
      for (size_t i = run.begin; i < run.end; ++i) rows.push_back(batch[i].row);
      if (t.prepare) {
        std::vector<std::optional<Error>> refusals(rows.size());
        PRIVOX_TRY(t.prepare(s, rows, refusals));
        size_t kept = 0;
        for (size_t i = 0; i < rows.size(); ++i) {
          if (refusals[i]) {
            refused.emplace_back(first + run.begin + i, std::move(*refusals[i]));
          } else {
            if (kept != i) rows[kept] = std::move(rows[i]);
            ++kept;
          }
        }
        rows.resize(kept);
      }
      if (rows.empty()) continue;
      if (t.statement.empty()) {
        PRIVOX_TRY(s.insert_rows(t.table, t.columns, rows));
      } else {
        for (const Params& row : rows) PRIVOX_TRY(s.exec(t.statement, row));
      }
    }
    return {};
  };
  Status status;
  for (int attempt = 0; attempt < options_.commit_attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10 << attempt));
    status = with_transaction(*store_, TxMode::write, body);
    // A constraint violation will not go away by retrying.
    if (status.ok() || status.error().code == ErrorCode::conflict) break;
  }
  if (!status.ok()) refused.clear();  // nothing was written: the batch's error covers every row
  return status;
}

void TicketWaiters::add(uint64_t first, uint64_t last, Done done) {
  waiting_.push_back({first, last, {}, std::move(done)});
}

void TicketWaiters::completed(const BatchOutcome& batch) {
  while (!waiting_.empty() && waiting_.front().first <= batch.last) {
    Waiter& w = waiting_.front();
    // A waiter's rows may span batches: each batch that holds some of them may fail them.
    if (w.status.ok() && w.last >= batch.first) {
      if (!batch.status.ok()) {
        w.status = batch.status;
      } else {
        for (const auto& [seq, error] : batch.refused)
          if (seq >= w.first && seq <= w.last) {
            w.status = error;
            break;
          }
      }
    }
    if (w.last > batch.last) break;  // its last rows are in a later batch
    Waiter done = std::move(w);
    waiting_.pop_front();
    done.done(done.status);  // may add waiters: for later tickets, at the back
  }
}

}  // namespace privox::store
