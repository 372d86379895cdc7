#pragma once
// The retention jobs (P7, P14): scheduled work that removes what no purpose needs any more.
//
//  traffic          A record whose call ended more than retention.dispute_period_days ago is
//                   anonymised (traffic/anonymise.h): its parties are cut to prefixes, its sealed
//                   parties and equipment are cleared, and its subject becomes
//                   traffic::kAnonymisedSubject. Company, direction, kind, times, duration, outcome
//                   and trunk stay, so counts and minutes per company are unchanged. 180 days by
//                   default: the usual time a customer may query a bill, plus the time to collect it.
//  call_log         A member's call and message log shows at most retention.call_log_max_entries
//                   entries per line and none older than retention.call_log_max_age_days; the job
//                   sets log_hidden_at_us on the rest. Billing keeps them until anonymisation.
//  company_closures A company whose closure's notice period is over (accounts/company_closure.h)
//                   loses its service: every line is removed (its registrations go and its number
//                   and DID become free) and every member's account is closed, so closed_accounts
//                   erases them after the grace period.
//  closed_accounts  Members whose account closed (closures.h) more than
//                   retention.closed_account_grace_days ago are erased (erasure/erasure.h).
//
// A subject under legal hold (ledgers/legal_holds.h) is skipped and reported: for traffic and
// voicemail, the line or the member it is assigned to. A closed account whose erasure is refused (the company's
// only office manager while the company goes on, portal/erasure.cpp) is skipped and reported too.
//  voicemail        A voicemail received more than retention.voicemail_max_age_days ago is deleted,
//                   row and sealed audio (voicemail/store.h), and the store's files are purged after
//                   the run. The count limit (retention.voicemail_max_messages) needs no job: a full
//                   box takes no new message (voicemail::StoreSink), and lowering the limit keeps
//                   what is there until it ages out.
//  invoices         An invoice issued more than billing.retention_years ago (years of 366 days) is
//                   deleted with its credit notes (billing/invoices.h), unless one of its notes is
//                   younger: the law's period for accounting records is over.
//
// Runs are idempotent (a second run at the same time changes nothing) and resumable: each job
// works in batches of `batch_rows` in a fixed order, and each batch commits its changes, its
// audit entry and the job's cursor (table retention_runs) in one transaction. A run that was
// killed is continued, with the same as-of time, by the next run of that job. Each run's totals go
// to the audit chain as "retention.<job>" (counts and the ids of held subjects; never values).
//
// Thread-safety: safe from any thread; all state is in the store. Run one job at a time per store:
// the scheduler (scheduler.h) takes the store's job lock; the CLI takes it too.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::retention {

// The name of the store job lock the retention jobs run under.
inline constexpr std::string_view kJobLockName = "retention";

enum class Job { traffic, call_log, voicemail, company_closures, closed_accounts, invoices };
std::string_view to_string(Job job);
std::optional<Job> parse_job(std::string_view text);
inline constexpr Job kAllJobs[] = {Job::traffic, Job::call_log, Job::voicemail, Job::company_closures,
                                   Job::closed_accounts, Job::invoices};

struct RunOptions {
  int64_t as_of_us = 0;     // the time periods are measured from; 0: the clock's now
  size_t batch_rows = 5000;  // records (traffic, call_log: lines) or members per transaction
  int64_t max_batches = 0;   // stop after this many batches, leaving the run to resume; 0: no limit
  // Checked between batches: when it reads true the run stops as max_batches would (serve's stop).
  const std::atomic<bool>* stop = nullptr;
};

struct JobReport {
  Job job = Job::traffic;
  std::string run_id;
  int64_t as_of_us = 0;
  bool resumed = false;    // continued a run that an earlier process left unfinished
  bool finished = false;   // false when max_batches stopped it
  int64_t batches = 0;     // this process's batches
  int64_t changed = 0;     // records anonymised or hidden, messages deleted, companies closed or members erased
  std::vector<std::string> held_subjects;  // skipped under a legal hold, or refused erasure (ids), sorted
};

class RetentionJobs {
 public:
  RetentionJobs(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock) {}

  // Runs one job to completion (or max_batches). Errors: a store error; batches committed before
  // it stay committed and the next run resumes after them. A setting out of range cannot happen:
  // Settings refuses it.
  Result<JobReport> run(Job job, const RunOptions& options, const std::string& actor);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
};

}  // namespace privox::retention
