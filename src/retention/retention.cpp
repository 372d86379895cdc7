#include "retention/retention.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "privacy/audit.h"
#include "privacy/legal_holds.h"
#include "retention/number_prefix.h"
#include "store/settings.h"

namespace privox::retention {
namespace {

constexpr int64_t kUsPerDay = 86'400'000'000;
// Rows per UPDATE ... FROM (VALUES ...): few distinct statements for the SQLite statement cache,
// well under both backends' limits on parameters.
constexpr size_t kUpdateChunk = 500;

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
  PRIVOX_ASSIGN(std::vector<std::string> members, privacy::LegalHolds::held_members(s));
  std::unordered_set<std::string> held(members.begin(), members.end());
  for (const std::string& member : members) {
    PRIVOX_ASSIGN(store::Rows lines, s.query("SELECT id FROM extensions WHERE member_id = ?", {member}));
    for (const store::Row& line : lines) held.insert(line.text(0));
  }
  return held;
}

std::vector<std::string> sorted(const std::set<std::string>& ids) { return {ids.begin(), ids.end()}; }

// Read inside the batch's transaction, so a batch works with one consistent set of limits.
Result<int64_t> setting(store::Store& store, store::Session& s, std::string_view key) {
  return store::Settings(store).integer(s, key);
}

// ---- traffic: anonymisation after the dispute period ----

class TrafficAnonymiser {
 public:
  TrafficAnonymiser(store::Store& store, const privacy::Keyring& keys, int64_t now_us)
      : store_(store), keys_(keys), now_us_(now_us) {}

  // A batch is the next `limit` records due, in (ended_at_us, id) order; its last key becomes the
  // cursor. Held records inside it stay behind the cursor until a later run finds them released.
  Result<BatchResult> batch(store::Session& s, const RunState& run, size_t limit) {
    PRIVOX_ASSIGN(int64_t period_days, setting(store_, s, "retention.dispute_period_days"));
    const int64_t cutoff = run.as_of_us - period_days * kUsPerDay;
    BatchResult out;
    PRIVOX_ASSIGN(std::optional<store::Row> last, batch_end(s, run, cutoff, limit));
    if (!last) return out;
    out.rows_seen = 1;
    out.cursor_us = last->i64(0);
    out.cursor_id = last->text(1);
    const Range range{run.cursor_us, run.cursor_id, out.cursor_us, out.cursor_id};

    PRIVOX_ASSIGN(std::unordered_set<std::string> held_set, held_subjects(s));
    const std::vector<std::string> held(held_set.begin(), held_set.end());
    PRIVOX_ASSIGN(out.held, held_in(s, range, held));
    PRIVOX_ASSIGN(int64_t opened, anonymise_unprefixed(s, range, held));
    PRIVOX_ASSIGN(int64_t prefixed, anonymise_prefixed(s, range, held));
    out.changed = opened + prefixed;
    return out;
  }

 private:
  // The batch's records: not yet anonymised, after the cursor `from`, up to and including `to`.
  struct Range {
    int64_t from_us;
    std::string from_id;
    int64_t to_us;
    std::string to_id;
  };

  // Written so both backends bound a scan of traffic_records_to_anonymise with the first two terms.
  static std::string range_sql(const Range& r, store::Params& params) {
    params.insert(params.end(), {r.from_us, r.to_us, r.from_us, r.from_id, r.to_us, r.to_id});
    return "anonymised_at_us IS NULL AND ended_at_us >= ? AND ended_at_us <= ? AND (ended_at_us > ? OR id > ?) "
           "AND (ended_at_us < ? OR id <= ?)";
  }

  // " AND subject_id NOT IN (...)" over the held subjects, or nothing when none is held.
  static std::string not_held_sql(const std::vector<std::string>& held, store::Params& params) {
    if (held.empty()) return "";
    std::string sql = " AND subject_id NOT IN (";
    for (size_t i = 0; i < held.size(); ++i) {
      sql += i ? ", ?" : "?";
      params.push_back(held[i]);
    }
    return sql + ")";
  }

  // The key of the batch's last record: the `limit`th due one after the cursor, or the last due
  // one when fewer are left; nullopt when none is.
  static Result<std::optional<store::Row>> batch_end(store::Session& s, const RunState& run, int64_t cutoff,
                                                     size_t limit) {
    const std::string due = "SELECT ended_at_us, id FROM traffic_records WHERE anonymised_at_us IS NULL "
                            "AND ended_at_us < ? AND ended_at_us >= ? AND (ended_at_us > ? OR id > ?) ";
    const store::Params params{cutoff, run.cursor_us, run.cursor_us, run.cursor_id};
    store::Params at_limit = params;
    at_limit.push_back(static_cast<int64_t>(limit) - 1);
    PRIVOX_ASSIGN(store::Rows rows, s.query(due + "ORDER BY ended_at_us, id LIMIT 1 OFFSET ?", at_limit));
    if (rows.empty()) {
      PRIVOX_ASSIGN(rows, s.query(due + "ORDER BY ended_at_us DESC, id DESC LIMIT 1", params));
    }
    if (rows.empty()) return std::optional<store::Row>();
    return std::optional<store::Row>(std::move(rows[0]));
  }

  // The held subjects that have records in the range, sorted, for the report.
  static Result<std::vector<std::string>> held_in(store::Session& s, const Range& range,
                                                  const std::vector<std::string>& held) {
    std::vector<std::string> out;
    if (held.empty()) return out;
    store::Params params;
    std::string sql = "SELECT DISTINCT subject_id FROM traffic_records WHERE " + range_sql(range, params) +
                      " AND subject_id IN (";
    for (size_t i = 0; i < held.size(); ++i) {
      sql += i ? ", ?" : "?";
      params.push_back(held[i]);
    }
    PRIVOX_ASSIGN(store::Rows rows, s.query(sql + ") ORDER BY subject_id", params));
    for (const store::Row& r : rows) out.push_back(r.text(0));
    return out;
  }

  // Records written with their prefixes (traffic/store_sink.h): one UPDATE, nothing to open.
  // "" meant "nothing to keep" while linked; anonymised, that is NULL.
  Result<int64_t> anonymise_prefixed(store::Session& s, const Range& range, const std::vector<std::string>& held) {
    std::string sql = fmt::format(
        "UPDATE traffic_records SET subject_id = '{}', source_prefix = nullif(source_prefix, ''), "
        "destination_prefix = nullif(destination_prefix, ''), source_enc = NULL, destination_enc = NULL, "
        "caller_equipment_enc = NULL, callee_equipment_enc = NULL, anonymised_at_us = ?, "
        "log_hidden_at_us = coalesce(log_hidden_at_us, ?) WHERE source_prefix IS NOT NULL AND ",
        kAnonymisedSubject);
    store::Params params{now_us_, now_us_};
    sql += range_sql(range, params);
    sql += not_held_sql(held, params);
    return s.exec(sql, params);
  }

  // Records written before prefixes were stored: each one's sealed parties are opened to cut them.
  Result<int64_t> anonymise_unprefixed(store::Session& s, const Range& range, const std::vector<std::string>& held) {
    store::Params params;
    std::string sql = "SELECT id, subject_id, source_enc, destination_enc, source_withheld FROM traffic_records "
                      "WHERE source_prefix IS NULL AND " + range_sql(range, params);
    sql += not_held_sql(held, params);
    PRIVOX_ASSIGN(store::Rows rows, s.query(sql, params));
    std::vector<std::pair<std::string_view, store::Params>> by_line;
    by_line.reserve(rows.size());
    for (const store::Row& r : rows) {
      const std::string& subject = r.text(1);
      const privacy::SecretKey* key = nullptr;
      PRIVOX_ASSIGN(key, key_for(s, subject));
      const bool withheld = r.i64(4) != 0;
      by_line.emplace_back(subject, store::Params{r.text(0), prefix_of(key, subject, "source", r, 2, withheld),
                                                  prefix_of(key, subject, "destination", r, 3, false)});
    }
    // Updated line by line: the indexes keyed by subject_id then lose their entries page after
    // page instead of one entry on each of thousands of pages.
    std::stable_sort(by_line.begin(), by_line.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<store::Params> updates;
    updates.reserve(by_line.size());
    for (auto& [line, update] : by_line) updates.push_back(std::move(update));
    PRIVOX_TRY(apply(s, updates));
    return static_cast<int64_t>(updates.size());
  }

  // Unwrapped keys are kept for the whole run: one unwrap per line instead of one per record.
  Result<const privacy::SecretKey*> key_for(store::Session& s, const std::string& subject) {
    auto it = keys_cache_.find(subject);
    if (it == keys_cache_.end()) {
      auto loaded = privacy::subject_keys::load(s, keys_, subject);
      if (!loaded.ok() && loaded.error().code != ErrorCode::erased) return loaded.error();
      std::optional<privacy::SecretKey> key;
      if (loaded.ok()) key = std::move(loaded).value();
      it = keys_cache_.emplace(subject, std::move(key)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

  // The prefix of a sealed number; NULL when there is none to keep or the line's key is gone
  // (crypto-shredded parties cannot be read, so nothing of them survives).
  store::Value prefix_of(const privacy::SecretKey* key, const std::string& subject, std::string_view field,
                         const store::Row& r, size_t column, bool withheld) const {
    if (!key || withheld || r.is_null(column)) return store::null_value();
    auto number = privacy::open_field(*key, subject, field, r.blob(column));
    if (!number.ok()) return store::null_value();
    auto prefix = number_prefix(*number);
    return prefix ? store::Value{*prefix} : store::null_value();
  }

  // One UPDATE per chunk, joined to the chunk's values: one round trip for hundreds of records.
  Status apply(store::Session& s, const std::vector<store::Params>& updates) const {
    for (size_t start = 0; start < updates.size(); start += kUpdateChunk) {
      const size_t n = std::min(kUpdateChunk, updates.size() - start);
      std::string sql = fmt::format(
          "UPDATE traffic_records SET subject_id = '{}', source_prefix = v.column2, destination_prefix = v.column3, "
          "source_enc = NULL, destination_enc = NULL, caller_equipment_enc = NULL, callee_equipment_enc = NULL, "
          "anonymised_at_us = ?, log_hidden_at_us = coalesce(log_hidden_at_us, ?) FROM (VALUES ",
          kAnonymisedSubject);
      store::Params params{now_us_, now_us_};
      params.reserve(2 + 3 * n);
      for (size_t i = 0; i < n; ++i) {
        sql += i ? ", (?, ?, ?)" : "(?, ?, ?)";
        for (const store::Value& v : updates[start + i]) params.push_back(v);
      }
      sql += ") AS v WHERE traffic_records.id = v.column1";
      PRIVOX_TRY(s.exec(sql, params));
    }
    return {};
  }

  store::Store& store_;
  const privacy::Keyring& keys_;
  const int64_t now_us_;
  std::unordered_map<std::string, std::optional<privacy::SecretKey>> keys_cache_;
};

// ---- call_log: the member-facing log's count and age limits ----

Result<BatchResult> call_log_batch(store::Store& store, store::Session& s, const RunState& run, size_t limit,
                                   int64_t now_us) {
  PRIVOX_ASSIGN(int64_t max_age_days, setting(store, s, "retention.call_log_max_age_days"));
  PRIVOX_ASSIGN(int64_t max_entries, setting(store, s, "retention.call_log_max_entries"));
  BatchResult out;
  out.cursor_us = run.cursor_us;
  out.cursor_id = run.cursor_id;
  // Age first. Hidden rows leave the partial index, so this pass needs no cursor of its own.
  PRIVOX_ASSIGN(store::Rows old, s.query("SELECT id FROM traffic_records WHERE log_hidden_at_us IS NULL "
                                         "AND started_at_us < ? ORDER BY started_at_us, id LIMIT ?",
                                         {run.as_of_us - max_age_days * kUsPerDay, static_cast<int64_t>(limit)}));
  if (!old.empty()) {
    for (size_t start = 0; start < old.size(); start += kUpdateChunk) {
      const size_t n = std::min(kUpdateChunk, old.size() - start);
      std::string sql = "UPDATE traffic_records SET log_hidden_at_us = ? WHERE id IN (";
      store::Params params{now_us};
      for (size_t i = 0; i < n; ++i) {
        sql += i ? ", ?" : "?";
        params.push_back(old[start + i].text(0));
      }
      PRIVOX_ASSIGN(int64_t hidden, s.exec(sql + ")", params));
      out.changed += hidden;
    }
    out.rows_seen = static_cast<int64_t>(old.size());
    return out;
  }
  // Then the count, line by line in id order; the cursor is the last line handled.
  PRIVOX_ASSIGN(store::Rows lines, s.query("SELECT subject_id FROM traffic_records WHERE log_hidden_at_us IS NULL "
                                           "AND subject_id > ? AND subject_id <> ? GROUP BY subject_id "
                                           "HAVING count(*) > ? ORDER BY subject_id LIMIT ?",
                                           {run.cursor_id, std::string(kAnonymisedSubject), max_entries,
                                            static_cast<int64_t>(limit)}));
  for (const store::Row& line : lines) {
    const std::string& subject = line.text(0);
    // The newest entry past the limit; it and everything older leave the log.
    PRIVOX_ASSIGN(store::Rows edge, s.query("SELECT started_at_us, id FROM traffic_records WHERE subject_id = ? "
                                            "AND log_hidden_at_us IS NULL ORDER BY started_at_us DESC, id DESC "
                                            "LIMIT 1 OFFSET ?",
                                            {subject, max_entries}));
    if (edge.empty()) continue;
    PRIVOX_ASSIGN(int64_t hidden, s.exec("UPDATE traffic_records SET log_hidden_at_us = ? WHERE subject_id = ? "
                                         "AND log_hidden_at_us IS NULL AND (started_at_us < ? OR "
                                         "(started_at_us = ? AND id <= ?))",
                                         {now_us, subject, edge[0].i64(0), edge[0].i64(0), edge[0].text(1)}));
    out.changed += hidden;
  }
  out.rows_seen = static_cast<int64_t>(lines.size());
  if (!lines.empty()) out.cursor_id = lines.back().text(0);
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
  // erase_member commits on its own; a crash before the batch's bookkeeping commits leaves the
  // member erased and the closure pending, and the next run's erase_member finds them erased.
  accounts::Accounts accounts(store, keys, clock);
  for (const std::string& member : due) {
    auto erased = accounts.erase_member(member, actor);
    if (!erased.ok() && erased.error().code != ErrorCode::erased) return erased.error();
  }
  out.changed = static_cast<int64_t>(due.size());
  out.erased = std::move(due);
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
    case Job::closed_accounts: return "closed_accounts";
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
  TrafficAnonymiser anonymiser(store_, keys_, now);
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
        PRIVOX_ASSIGN(batch, anonymiser.batch(s, run, limit));
      } else if (job == Job::call_log) {
        PRIVOX_ASSIGN(batch, call_log_batch(store_, s, run, limit, clock_.now_us()));
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
  return report;
}

}  // namespace privox::retention
