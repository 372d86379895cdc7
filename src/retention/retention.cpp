#include "retention/retention.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "accounts/accounts.h"
#include "accounts/company_closure.h"
#include "accounts/line_removal.h"
#include "billing/invoices.h"
#include "callflow/conference.h"
#include "callflow/music.h"
#include "callflow/receptionist.h"
#include "erasure/erasure.h"
#include "retention/closures.h"
#include "common/ids.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "ledgers/legal_holds.h"
#include "store/settings.h"
#include "traffic/anonymise.h"
#include "voicemail/store.h"

namespace privox::retention {
namespace {

constexpr int64_t kUsPerDay = 86'400'000'000;

// Where a run stands, as retention_runs holds it.
struct RunState {
  std::string run_id;
  int64_t as_of_us = 0;
  int64_t cursor_us = 0;
  std::string cursor_id;
  bool resumed = false;
};

// What one batch did; committed with the cursor it leaves.
struct BatchResult {
  int64_t rows_seen = 0;  // 0: the job has nothing left
  int64_t changed = 0;
  std::vector<std::string> held;
  std::vector<std::string> erased;  // closed_accounts: members erased, to mark in the batch's transaction
  int64_t cursor_us = 0;
  std::string cursor_id;
};

// Continues the job's unfinished run, or starts a new one as of `as_of_us`.
Result<RunState> begin_run(store::Store& store, Job job, int64_t as_of_us, int64_t now_us) {
  RunState state;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT run_id, as_of_us, cursor_us, cursor_id, finished_at_us "
                                            "FROM retention_runs WHERE job = ?",
                                            {std::string(to_string(job))}));
    if (!rows.empty() && rows[0].is_null(4)) {
      state = {rows[0].text(0), rows[0].i64(1), rows[0].i64(2), rows[0].text(3), true};
      return {};
    }
    state = {new_id(now_us), as_of_us, 0, "", false};
    PRIVOX_TRY(s.exec("INSERT INTO retention_runs (job, run_id, as_of_us, cursor_us, cursor_id, batches, changed, "
                      "held, started_at_us, finished_at_us) VALUES (?, ?, ?, 0, '', 0, 0, 0, ?, NULL) "
                      "ON CONFLICT (job) DO UPDATE SET run_id = excluded.run_id, as_of_us = excluded.as_of_us, "
                      "cursor_us = 0, cursor_id = '', batches = 0, changed = 0, held = 0, "
                      "started_at_us = excluded.started_at_us, finished_at_us = NULL",
                      {std::string(to_string(job)), state.run_id, as_of_us, now_us}));
    return {};
  }));
  return state;
}

// Commits the batch's bookkeeping in the batch's own transaction: the cursor moves only with the
// work it covers, so a crash can neither skip records nor count them twice.
Status record_batch(store::Session& s, const privacy::AuditChain& audit, Job job, const RunState& run,
                    const BatchResult& batch, const std::string& actor) {
  PRIVOX_ASSIGN(int64_t updated,
                s.exec("UPDATE retention_runs SET cursor_us = ?, cursor_id = ?, batches = batches + 1, "
                       "changed = changed + ?, held = held + ? WHERE job = ? AND run_id = ? AND finished_at_us IS NULL",
                       {batch.cursor_us, batch.cursor_id, batch.changed, static_cast<int64_t>(batch.held.size()),
                        std::string(to_string(job)), run.run_id}));
  if (updated != 1)
    return make_error(ErrorCode::conflict, fmt::format("retention run {} of job {} was taken over by another process",
                                                      run.run_id, to_string(job)));
  nlohmann::json detail = {{"run", run.run_id}, {"changed", batch.changed}};
  if (!batch.held.empty()) detail["held_subjects"] = batch.held;
  PRIVOX_TRY(audit.append(s, {actor, fmt::format("retention.{}.batch", to_string(job)), "", "legal", detail}));
  return {};
}

// Every subject a hold in force covers: the held members and the lines assigned to them.
Result<std::unordered_set<std::string>> held_subjects(store::Session& s) {
  PRIVOX_ASSIGN(std::vector<std::string> members, ledgers::LegalHolds::held_members(s));
  std::unordered_set<std::string> held(members.begin(), members.end());
  PRIVOX_ASSIGN(std::vector<std::string> lines, accounts::lines_of_members(s, members));
  held.insert(lines.begin(), lines.end());
  return held;
}

std::vector<std::string> sorted(const std::set<std::string>& ids) { return {ids.begin(), ids.end()}; }

// Read inside the batch's transaction, so a batch works with one consistent set of limits.
Result<int64_t> setting(store::Store& store, store::Session& s, std::string_view key) {
  return store::Settings(store).integer(s, key);
}

// ---- traffic: anonymisation after the dispute period ----

// A batch is the next `limit` records due, in (ended_at_us, id) order; its last key becomes the
// cursor. Held records inside it stay behind the cursor until a later run finds them released.
Result<BatchResult> traffic_batch(store::Store& store, store::Session& s, traffic::Anonymiser& anonymiser,
                                  const RunState& run, size_t limit) {
  PRIVOX_ASSIGN(int64_t period_days, setting(store, s, "retention.dispute_period_days"));
  const int64_t cutoff = run.as_of_us - period_days * kUsPerDay;
  BatchResult out;
  const traffic::DueKey from{run.cursor_us, run.cursor_id};
  PRIVOX_ASSIGN(std::optional<traffic::DueKey> last, traffic::Anonymiser::batch_end(s, cutoff, from, limit));
  if (!last) return out;
  out.rows_seen = 1;
  out.cursor_us = last->ended_at_us;
  out.cursor_id = last->id;
  PRIVOX_ASSIGN(std::unordered_set<std::string> held_set, held_subjects(s));
  const std::vector<std::string> held(held_set.begin(), held_set.end());
  PRIVOX_ASSIGN(out.held, traffic::Anonymiser::held_in(s, from, *last, held));
  PRIVOX_ASSIGN(out.changed, anonymiser.anonymise_range(s, from, *last, held));
  return out;
}

// ---- call_log: the member-facing log's count and age limits ----

Result<BatchResult> call_log_batch(store::Store& store, store::Session& s, const RunState& run, size_t limit,
                                   int64_t now_us) {
  PRIVOX_ASSIGN(int64_t max_age_days, setting(store, s, "retention.call_log_max_age_days"));
  PRIVOX_ASSIGN(int64_t max_entries, setting(store, s, "retention.call_log_max_entries"));
  BatchResult out;
  out.cursor_us = run.cursor_us;
  out.cursor_id = run.cursor_id;
  // Age first. Hidden rows leave the partial index, so this pass needs no cursor of its own.
  PRIVOX_ASSIGN(const int64_t aged,
                traffic::hide_from_log_older_than(s, run.as_of_us - max_age_days * kUsPerDay, limit, now_us));
  if (aged > 0) {
    out.changed = aged;
    out.rows_seen = aged;
    return out;
  }
  // Then the count, line by line in id order; the cursor is the last line handled.
  PRIVOX_ASSIGN(std::vector<std::string> lines, traffic::lines_over_log_limit(s, run.cursor_id, max_entries, limit));
  for (const std::string& line : lines) {
    PRIVOX_ASSIGN(const int64_t hidden, traffic::hide_from_log_beyond(s, line, max_entries, now_us));
    out.changed += hidden;
  }
  out.rows_seen = static_cast<int64_t>(lines.size());
  if (!lines.empty()) out.cursor_id = lines.back();
  return out;
}

// ---- voicemail: the age limit of the boxes ----

// A batch is the next `limit` messages past the age limit, in (received_at_us, id) order; held
// boxes' messages stay behind the cursor until a later run finds them released.
Result<BatchResult> voicemail_batch(store::Store& store, store::Session& s, const RunState& run, size_t limit) {
  PRIVOX_ASSIGN(int64_t max_age_days, setting(store, s, "retention.voicemail_max_age_days"));
  PRIVOX_ASSIGN(std::unordered_set<std::string> held, held_subjects(s));
  PRIVOX_ASSIGN(voicemail::ExpiryBatch expired,
                voicemail::delete_expired(s, run.as_of_us - max_age_days * kUsPerDay, run.cursor_us, run.cursor_id,
                                          limit, held));
  BatchResult out;
  out.rows_seen = expired.seen;
  out.changed = expired.deleted;
  out.held = std::move(expired.held_boxes);
  out.cursor_us = expired.cursor_us;
  out.cursor_id = std::move(expired.cursor_id);
  return out;
}

// ---- invoices: accounting records past the legal period ----

Result<BatchResult> invoices_batch(store::Store& store, store::Session& s, const RunState& run, size_t limit) {
  PRIVOX_ASSIGN(int64_t years, setting(store, s, "billing.retention_years"));
  PRIVOX_ASSIGN(billing::InvoiceExpiry expired,
                billing::delete_expired_invoices(s, run.as_of_us - years * 366 * kUsPerDay, run.cursor_us,
                                                 run.cursor_id, limit));
  BatchResult out;
  out.rows_seen = expired.seen;
  out.changed = expired.deleted;
  out.cursor_us = expired.cursor_us;
  out.cursor_id = std::move(expired.cursor_id);
  return out;
}

// ---- company_closures: the end of a closing company's service ----

// Removes every line of each company due to close and closes every member's account, one batch of
// companies per transaction; the cursor is the last company closed.
Result<BatchResult> company_closures_batch(store::Session& s, const privacy::AuditChain& audit, const RunState& run,
                                           size_t limit, int64_t now_us, const std::string& actor) {
  BatchResult out;
  PRIVOX_ASSIGN(std::vector<std::string> due, accounts::companies_due_to_close(s, run.as_of_us, run.cursor_id, limit));
  for (const std::string& company : due) {
    PRIVOX_TRY(accounts::lock_company(s, company));
    PRIVOX_ASSIGN(std::vector<std::string> lines, accounts::lines_of_company(s, company));
    for (const std::string& line : lines)
      PRIVOX_TRY(accounts::remove_line(s, audit, line, now_us, actor, "company closed"));
    // Its virtual receptionists and menus go too: their DIDs are free again, their greetings' keys destroyed.
    PRIVOX_TRY(callflow::remove_company_receptionists(s, company, now_us));
    // And its conference rooms (the lines' own went with the lines): their DIDs are free again.
    PRIVOX_TRY(callflow::remove_company_rooms(s, company, now_us));
    // And its music on hold: every node then deletes the file it wrote for its rtpengine.
    PRIVOX_TRY(callflow::remove_company_music(s, company, now_us));
    PRIVOX_ASSIGN(std::vector<accounts::MemberRow> members, accounts::active_members_of_company(s, company));
    for (const accounts::MemberRow& member : members)
      PRIVOX_TRY(close_account(s, audit, member.id, now_us, actor));
    PRIVOX_TRY(accounts::mark_company_closed(s, company, now_us));
    PRIVOX_TRY(audit.append(s, {actor, "company.close", "", "",
                                {{"company_id", company}, {"lines_removed", lines.size()},
                                 {"accounts_closed", members.size()}}}));
  }
  out.rows_seen = static_cast<int64_t>(due.size());
  out.changed = out.rows_seen;
  if (!due.empty()) out.cursor_id = due.back();
  return out;
}

// ---- closed_accounts: erasure after the grace period ----

Result<BatchResult> closed_accounts_batch(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                          const RunState& run, size_t limit, const std::string& actor) {
  BatchResult out;
  out.cursor_id = run.cursor_id;
  std::vector<std::string> due;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    due.clear();
    out.held.clear();
    PRIVOX_ASSIGN(int64_t grace_days, setting(store, s, "retention.closed_account_grace_days"));
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT member_id FROM account_closures WHERE erased_at_us IS NULL "
                                            "AND closed_at_us <= ? AND member_id > ? ORDER BY member_id LIMIT ?",
                                            {run.as_of_us - grace_days * kUsPerDay, run.cursor_id,
                                             static_cast<int64_t>(limit)}));
    PRIVOX_ASSIGN(std::unordered_set<std::string> held, held_subjects(s));
    for (const store::Row& r : rows) (held.count(r.text(0)) ? out.held : due).push_back(r.text(0));
    out.rows_seen = static_cast<int64_t>(rows.size());
    if (!rows.empty()) out.cursor_id = rows.back().text(0);
    return {};
  }));
  // Each erasure commits on its own; a crash before the batch's bookkeeping commits leaves the
  // member erased and the closure pending, and the next run finds them already erased.
  for (const std::string& member : due) {
    auto erased = erasure::erase_member(store, keys, clock, member, actor, "closed account");
    if (erased.ok()) {
      out.erased.push_back(member);
      continue;
    }
    // A refusal (a hold placed meanwhile, or a company's only office manager while the company
    // goes on) keeps the member until it no longer applies; skipped like a held subject.
    if (erased.error().code != ErrorCode::conflict) return erased.error();
    out.held.push_back(member);
  }
  out.changed = static_cast<int64_t>(out.erased.size());
  return out;
}

Status mark_erased(store::Session& s, const std::vector<std::string>& members, int64_t now_us) {
  for (const std::string& member : members)
    PRIVOX_TRY(s.exec("UPDATE account_closures SET erased_at_us = ? WHERE member_id = ? AND erased_at_us IS NULL",
                      {now_us, member}));
  return {};
}

// Closes the run and audits its totals over every process that worked on it.
Status finish_run(store::Store& store, const privacy::AuditChain& audit, Job job, const RunState& run,
                  const std::vector<std::string>& held_subjects, int64_t now_us, const std::string& actor) {
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows totals, s.query("SELECT batches, changed, held FROM retention_runs WHERE job = ? "
                                              "AND run_id = ?",
                                              {std::string(to_string(job)), run.run_id}));
    if (totals.empty()) return make_error(ErrorCode::conflict, "the retention run disappeared");
    PRIVOX_TRY(s.exec("UPDATE retention_runs SET finished_at_us = ? WHERE job = ? AND run_id = ?",
                      {now_us, std::string(to_string(job)), run.run_id}));
    nlohmann::json detail = {{"run", run.run_id},          {"as_of", format_utc(run.as_of_us)},
                             {"resumed", run.resumed},      {"batches", totals[0].i64(0)},
                             {"changed", totals[0].i64(1)}, {"held", totals[0].i64(2)},
                             {"held_subjects", held_subjects}};
    PRIVOX_TRY(audit.append(s, {actor, fmt::format("retention.{}", to_string(job)), "", "legal", detail}));
    return {};
  });
}

}  // namespace

std::string_view to_string(Job job) {
  switch (job) {
    case Job::traffic: return "traffic";
    case Job::call_log: return "call_log";
    case Job::voicemail: return "voicemail";
    case Job::company_closures: return "company_closures";
    case Job::closed_accounts: return "closed_accounts";
    case Job::invoices: return "invoices";
  }
  return "?";
}

std::optional<Job> parse_job(std::string_view text) {
  for (Job job : kAllJobs)
    if (to_string(job) == text) return job;
  return std::nullopt;
}

Result<JobReport> RetentionJobs::run(Job job, const RunOptions& options, const std::string& actor) {
  const int64_t now = clock_.now_us();
  PRIVOX_ASSIGN(RunState run, begin_run(store_, job, options.as_of_us ? options.as_of_us : now, now));
  JobReport report{job, run.run_id, run.as_of_us, run.resumed, false, 0, 0, {}};
  const privacy::AuditChain audit(keys_, clock_);
  const size_t limit = std::max<size_t>(1, options.batch_rows);
  traffic::Anonymiser anonymiser(keys_, now);
  std::set<std::string> held;

  while (true) {
    if ((options.max_batches > 0 && report.batches >= options.max_batches) || (options.stop && options.stop->load())) {
      report.held_subjects = sorted(held);
      return report;
    }
    BatchResult batch;
    if (job == Job::closed_accounts) {
      PRIVOX_ASSIGN(batch, closed_accounts_batch(store_, keys_, clock_, run, limit, actor));
    }
    PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
      if (job == Job::traffic) {
        PRIVOX_ASSIGN(batch, traffic_batch(store_, s, anonymiser, run, limit));
      } else if (job == Job::call_log) {
        PRIVOX_ASSIGN(batch, call_log_batch(store_, s, run, limit, clock_.now_us()));
      } else if (job == Job::voicemail) {
        PRIVOX_ASSIGN(batch, voicemail_batch(store_, s, run, limit));
      } else if (job == Job::invoices) {
        PRIVOX_ASSIGN(batch, invoices_batch(store_, s, run, limit));
      } else if (job == Job::company_closures) {
        PRIVOX_ASSIGN(batch, company_closures_batch(s, audit, run, limit, clock_.now_us(), actor));
      }
      if (batch.rows_seen == 0) return {};
      PRIVOX_TRY(mark_erased(s, batch.erased, clock_.now_us()));
      return record_batch(s, audit, job, run, batch, actor);
    }));
    if (batch.rows_seen == 0) break;
    run.cursor_us = batch.cursor_us;
    run.cursor_id = batch.cursor_id;
    ++report.batches;
    report.changed += batch.changed;
    held.insert(batch.held.begin(), batch.held.end());
  }

  report.held_subjects = sorted(held);
  PRIVOX_TRY(finish_run(store_, audit, job, run, report.held_subjects, clock_.now_us(), actor));
  report.finished = true;
  // Deleted recordings leave the store's files too. Best effort: a reader holding SQLite's log
  // open defers it to the next purge, and the rows are gone either way.
  if (job == Job::voicemail && report.changed > 0) (void)store_.purge_deleted();
  return report;
}

}  // namespace privox::retention
