#include "store/append_writer.h"

#include <chrono>

namespace privox::store {
namespace {
constexpr size_t kFailuresKept = 1024;
}

AppendWriter::AppendWriter(std::unique_ptr<Store> store, AppendOptions options)
    : store_(std::move(store)), options_(options), thread_([this] { run(); }) {}

AppendWriter::~AppendWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  thread_.join();
}

size_t AppendWriter::add_target(AppendTarget target) {
  std::lock_guard lock(mutex_);
  targets_.push_back(std::move(target));
  return targets_.size() - 1;
}

Result<AppendWriter::Ticket> AppendWriter::append(size_t target, Params row) {
  std::unique_lock lock(mutex_);
  if (stopping_) return make_error(ErrorCode::unavailable, "append writer is stopping");
  if (target >= targets_.size()) return make_error(ErrorCode::internal, "append to an unregistered target");
  if (row.size() != targets_[target].columns.size())
    return make_error(ErrorCode::internal, "append row does not match its target's columns");
  if (queue_.size() >= options_.max_queue_rows)
    return make_error(ErrorCode::unavailable, "append queue is full; the store is not keeping up");
  queue_.push_back({target, std::move(row)});
  const Ticket ticket{++enqueued_seq_};
  // A gathering writer wakes by itself when its group time is up; waking it for every row would
  // cost a context switch each.
  const bool wake = !lingering_ || queue_.size() >= options_.max_batch_rows;
  lock.unlock();
  if (wake) work_.notify_one();
  return ticket;
}

Status AppendWriter::wait(Ticket ticket) {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return finished_seq_ >= ticket.seq; });
  for (const FailedRange& f : failures_)
    if (ticket.seq >= f.first && ticket.seq <= f.last) return f.error;
  return {};
}

Status AppendWriter::flush() {
  uint64_t last;
  {
    std::lock_guard lock(mutex_);
    last = enqueued_seq_;
  }
  return wait(Ticket{last});
}

AppendWriter::Stats AppendWriter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void AppendWriter::run() {
  std::vector<Pending> batch;
  for (;;) {
    uint64_t first_seq;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      if (options_.group_commit_us > 0 && !stopping_ && queue_.size() < options_.max_batch_rows) {
        lingering_ = true;
        work_.wait_for(lock, std::chrono::microseconds(options_.group_commit_us),
                       [&] { return stopping_ || queue_.size() >= options_.max_batch_rows; });
        lingering_ = false;
      }
      first_seq = finished_seq_ + 1;
      const size_t n = std::min(queue_.size(), options_.max_batch_rows);
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + static_cast<long>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
    }
    Status status = write_batch(batch);
    const uint64_t last_seq = first_seq + batch.size() - 1;
    if (options_.on_batch) options_.on_batch(first_seq, last_seq, status);
    {
      std::lock_guard lock(mutex_);
      finished_seq_ = last_seq;
      if (status.ok()) {
        stats_.rows_committed += batch.size();
        ++stats_.batches_committed;
      } else {
        stats_.rows_failed += batch.size();
        failures_.push_back({first_seq, finished_seq_, status.error()});
        if (failures_.size() > kFailuresKept) failures_.pop_front();
      }
    }
    done_.notify_all();
    batch.clear();
  }
}

Status AppendWriter::write_batch(const std::vector<Pending>& batch) {
  // Rows keep their order: consecutive rows for one target form a run written together, so an
  // update always lands after the insert it follows, whatever the targets' numbers.
  struct Run {
    size_t target;
    std::vector<Params> rows;
  };
  std::vector<Run> runs;
  for (const Pending& p : batch) {
    if (runs.empty() || runs.back().target != p.target) runs.push_back({p.target, {}});
    runs.back().rows.push_back(p.row);
  }
  std::vector<AppendTarget> targets;
  {
    std::lock_guard lock(mutex_);
    targets = targets_;
  }
  Status status;
  for (int attempt = 0; attempt < options_.commit_attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10 << attempt));
    status = with_transaction(*store_, TxMode::write, [&](Session& s) -> Status {
      for (const Run& run : runs) {
        const AppendTarget& t = targets[run.target];
        if (t.statement.empty()) {
          PRIVOX_TRY(s.insert_rows(t.table, t.columns, run.rows));
        } else {
          for (const Params& row : run.rows) PRIVOX_TRY(s.exec(t.statement, row));
        }
      }
      return {};
    });
    // A constraint violation will not go away by retrying.
    if (status.ok() || status.error().code == ErrorCode::conflict) break;
  }
  return status;
}

}  // namespace privox::store
