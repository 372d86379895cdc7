#pragma once
// Problem: privox does several kinds of work off the threads that ask for it: the node's batched
// store writer, SMS STOP replies, SMS campaigns, retention rounds, the SIP directory's loader.
// Each once had its own thread, queue, condition variable and stop flag, and its own way of
// getting shutdown wrong. Worker is that machinery once: one thread that takes the items posted to
// it, in post order, and optionally runs a tick on a timer between them. stop() refuses new items,
// lets the thread handle every item already posted (a drained stop), and joins it.
//
// Items reach the handler in batches of up to `max_batch` (1 unless the handler wants more), with
// the sequence number of the batch's first item: items are numbered 1, 2, ... in post order, and
// post() returns each one's number, so a caller can tell which of its posts a batch covered. With
// `linger_us`, a batch that is not full waits up to that long for company once its first item has
// arrived (group commit: fewer, fuller batches for a bounded delay). With `fill_min` as well, a
// batch that still holds fewer items than that keeps waiting for them, up to `linger_max_us` in
// all: a fixed linger gathers fewer items the slower they come, so a node that carries a third of
// the load would pay about twice the commits per item; a fill target keeps batches about as full
// at low rates as at high ones, within a bound on the delay. The longer wait is worth it only while
// it brings items: a client that waits for its answer before it sends again (one phone registering
// line after line) brings none, and would wait out linger_max_us each time. So it is skipped while
// recent longer waits brought fewer than half an item on average, and tried again every
// kFillProbeEvery batches to see whether they would now.
//
// A tick (start()'s second form) runs first `first_tick_us` after start() and then `tick_every_us`
// after the previous tick returned, whenever no batch is being handled; long ticks check
// stop_flag() between steps. Ticks stop at stop(); queued items still drain.
//
// Thread-safety: post(), stopping(), posted() and queued() from any thread; start() and stop()
// from the thread that owns the worker. The handler and the tick run on the worker's thread, one
// at a time.

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/thread_annotations.h"

namespace privox {

struct WorkerOptions {
  std::string name = "privox-worker";  // the thread's name in top and gdb (15 characters are kept)
  size_t max_queue = std::numeric_limits<size_t>::max();  // post() refuses past this many waiting
  size_t max_batch = 1;
  int64_t linger_us = 0;
  size_t fill_min = 0;        // 0: no fill target, a batch waits linger_us at most
  int64_t linger_max_us = 0;  // the fill target's bound on the wait, from the linger's start
};

// The handler of a Worker<Task>: runs each task posted. For workers that are mostly a tick.
using Task = std::function<void()>;
inline void run_tasks(uint64_t, std::vector<Task>& tasks) {
  for (Task& task : tasks) task();
}

template <class Item>
class Worker {
 public:
  using Batch = std::vector<Item>;
  // Runs on the worker's thread with items [first, first + batch.size()); may move them out.
  using Handler = std::function<void(uint64_t first, Batch& batch)>;
  using Tick = std::function<void()>;

  explicit Worker(WorkerOptions options = {}) : options_(std::move(options)) {}
  ~Worker() { stop(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start(Handler handle) { start(std::move(handle), {}, 0, 0); }
  void start(Handler handle, Tick tick, int64_t first_tick_us, int64_t tick_every_us) {
    handle_ = std::move(handle);
    tick_ = std::move(tick);
    first_tick_us_ = first_tick_us;
    tick_every_us_ = tick_every_us;
    thread_ = std::thread([this] { run(); });
  }

  // Queues `item` (before start() too); returns its sequence number, or 0 when it is refused:
  // the worker is stopping (stopping() tells) or `max_queue` items are already waiting.
  uint64_t post(Item item) EXCLUDES(mu_) {
    bool wake;
    uint64_t seq;
    {
      MutexLock lock(mu_);
      if (stopping_ || queue_.size() >= options_.max_queue) return 0;
      queue_.push_back(std::move(item));
      seq = ++posted_;
      // A lingering worker wakes by itself when its time is up; waking it for every item would
      // cost a context switch each.
      wake = !lingering_ || queue_.size() >= linger_wakes_at_;
    }
    if (wake) wake_.notify_one();
    return seq;
  }

  // Refuses new items, waits for the thread to handle what was posted and to return from a tick
  // in progress, then joins it. Idempotent. Before start(), queued items are dropped.
  void stop() EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      stopping_ = true;
    }
    stop_flag_.store(true);
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  bool stopping() const { return stop_flag_.load(); }
  // Reads true once stop() was called: for ticks and handlers that run long.
  const std::atomic<bool>& stop_flag() const { return stop_flag_; }
  // Items accepted so far: the sequence number of the latest.
  uint64_t posted() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return posted_;
  }
  size_t queued() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return queue_.size();
  }
  // How many times a batch waited past linger_us for the fill target.
  uint64_t fill_waits() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return fill_waits_;
  }

 private:
  using SteadyClock = std::chrono::steady_clock;

  void run() EXCLUDES(mu_) {
    ::pthread_setname_np(::pthread_self(), options_.name.substr(0, 15).c_str());
    const bool ticks = static_cast<bool>(tick_);
    SteadyClock::time_point next_tick = SteadyClock::now() + std::chrono::microseconds(first_tick_us_);
    Batch batch;
    for (;;) {
      uint64_t first = 0;
      bool tick_now = false;
      {
        MutexLock lock(mu_);
        while (queue_.empty() && !stopping_) {
          if (!ticks) {
            wake_.wait(mu_);
          } else if (SteadyClock::now() >= next_tick) {
            tick_now = true;
            break;
          } else {
            wake_.wait_until(mu_, next_tick);
          }
        }
        if (!tick_now) {
          if (queue_.empty()) return;  // stopping, and every item posted was handled
          if (options_.linger_us > 0 && !stopping_ && queue_.size() < options_.max_batch) linger();
          first = taken_ + 1;
          const size_t n = std::min(queue_.size(), options_.max_batch);
          batch.reserve(n);
          for (size_t i = 0; i < n; ++i) {
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
          }
          taken_ += n;
        }
      }
      if (tick_now) {
        tick_();
        next_tick = SteadyClock::now() + std::chrono::microseconds(tick_every_us_);
        continue;
      }
      handle_(first, batch);
      batch.clear();
    }
  }

  // Lets a batch gather: linger_us for a full batch, then up to linger_max_us for fill_min items
  // while waiting for them pays.
  void linger() REQUIRES(mu_) {
    lingering_ = true;
    const auto began = SteadyClock::now();
    gather_until(options_.max_batch, began + std::chrono::microseconds(options_.linger_us));
    if (options_.fill_min > 0 && queue_.size() < options_.fill_min &&
        (fill_gain_ >= kFillWorthItems || ++batches_since_fill_wait_ >= kFillProbeEvery)) {
      batches_since_fill_wait_ = 0;
      ++fill_waits_;
      const size_t before = queue_.size();
      gather_until(options_.fill_min, began + std::chrono::microseconds(options_.linger_max_us));
      fill_gain_ = 0.75 * fill_gain_ + 0.25 * static_cast<double>(queue_.size() - before);
    }
    lingering_ = false;
  }

  void gather_until(size_t items, SteadyClock::time_point deadline) REQUIRES(mu_) {
    linger_wakes_at_ = std::min(items, options_.max_batch);
    while (!stopping_ && queue_.size() < linger_wakes_at_)
      if (!wake_.wait_until(mu_, deadline)) break;
  }

  const WorkerOptions options_;
  // Set by start() before the thread exists, then read by the thread only.
  Handler handle_;
  Tick tick_;
  int64_t first_tick_us_ = 0;
  int64_t tick_every_us_ = 0;

  mutable Mutex mu_;
  CondVar wake_;
  std::deque<Item> queue_ GUARDED_BY(mu_);
  uint64_t posted_ GUARDED_BY(mu_) = 0;  // sequence number of the latest item accepted
  uint64_t taken_ GUARDED_BY(mu_) = 0;   // sequence number of the latest item handed to the handler
  bool stopping_ GUARDED_BY(mu_) = false;
  bool lingering_ GUARDED_BY(mu_) = false;  // the thread is letting a batch gather
  size_t linger_wakes_at_ GUARDED_BY(mu_) = 0;  // while lingering, post() wakes the thread at this many
  // The fill target's longer waits: items each brought (a moving average), batches since the last.
  static constexpr double kFillWorthItems = 0.5;
  static constexpr unsigned kFillProbeEvery = 16;
  double fill_gain_ GUARDED_BY(mu_) = 1.0;
  unsigned batches_since_fill_wait_ GUARDED_BY(mu_) = 0;
  uint64_t fill_waits_ GUARDED_BY(mu_) = 0;
  std::atomic<bool> stop_flag_{false};
  std::thread thread_;  // started by start(), joined by stop()
};

}  // namespace privox
