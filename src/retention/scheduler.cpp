#include "retention/scheduler.h"


#include <chrono>

#include "common/log.h"
#include "retention/retention.h"

namespace privox::retention {

Scheduler::Scheduler(store::Store& store, const privacy::Keyring& keys, const Clock& clock, int64_t interval_us)
    : store_(store), keys_(keys), clock_(clock), interval_us_(interval_us), worker_({.name = "privox-retention"}) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start(int64_t first_delay_us) {
  worker_.start(run_tasks, [this] { round(); }, first_delay_us, interval_us_);
}

void Scheduler::stop() { worker_.stop(); }

void Scheduler::round() {
  for (const std::function<void()>& sweep : node_sweeps_) sweep();
  auto lock = store_.try_lock_job(kJobLockName);
  if (!lock.ok()) {
    log::warn("retention", "lock.failed", {{"error", log::error_code(lock.error())}});
    failed_.fetch_add(1);
    return;
  }
  if (!*lock) {  // another node or a CLI run has it this round
    skipped_.fetch_add(1);
    return;
  }
  const auto began = std::chrono::steady_clock::now();
  struct Timed {  // the round's time, however it ends
    std::atomic<int64_t>& sum;
    std::atomic<int64_t>& last;
    std::chrono::steady_clock::time_point began;
    ~Timed() {
      const int64_t us =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began).count();
      sum.fetch_add(us);
      last.store(us);
    }
  } timed{rounds_us_, last_round_us_, began};
  RetentionJobs jobs(store_, keys_, clock_);
  RunOptions options;
  options.stop = &worker_.stop_flag();
  // Small batches: on SQLite a batch holds the store's only write lock, and the traffic writer
  // must commit an answered call within 50 ms (R1). About 1,000 records take 20-40 ms.
  options.batch_rows = 1000;
  for (Job job : kAllJobs) {
    auto report = jobs.run(job, options, "job:retention");
    if (!report.ok()) {
      log::error("retention", "job.failed", {{"job", log::Code(to_string(job))}, {"error", log::error_code(report.error())}});
      failed_.fetch_add(1);
      return;
    }
    if (!report->finished) return;  // stopping
    if (report->changed || !report->held_subjects.empty())
      log::info("retention", "job.done",
                {{"job", log::Code(to_string(job))}, {"changed", report->changed}, {"batches", report->batches},
                 {"held_skipped", report->held_subjects.size()}});
  }
  completed_.fetch_add(1);
}

}  // namespace privox::retention
