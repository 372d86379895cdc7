// The schema of retention/'s tables, retention runs and account closures, as migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "retention/module.h"

namespace privox::retention {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {6,
       "retention",
       "retention runs and account closures",
       {
           // One row per job: the run in progress (finished_at_us NULL) or the last one. The
           // cursor is the last key a committed batch handled, so a killed run resumes after it.
           R"(CREATE TABLE retention_runs (
                job TEXT PRIMARY KEY CHECK (job IN ('traffic', 'call_log', 'closed_accounts')),
                run_id TEXT NOT NULL,
                as_of_us {i64} NOT NULL,
                cursor_us {i64} NOT NULL,
                cursor_id TEXT NOT NULL,
                batches {i64} NOT NULL,
                changed {i64} NOT NULL,
                held {i64} NOT NULL,
                started_at_us {i64} NOT NULL,
                finished_at_us {i64}))",
           R"(CREATE TABLE account_closures (
                member_id TEXT PRIMARY KEY REFERENCES members (id),
                closed_at_us {i64} NOT NULL,
                closed_by TEXT NOT NULL,
                erased_at_us {i64}))",
           "CREATE INDEX account_closures_pending ON account_closures (closed_at_us) WHERE erased_at_us IS NULL",
       }},
      {10,
       "retention",
       "the company_closures job's runs",
       {
           // The job names are a CHECK, which SQLite cannot alter: the table is rebuilt with the
           // new name allowed and its rows copied.
           R"(CREATE TABLE retention_runs_v10 (
                job TEXT PRIMARY KEY CHECK (job IN ('traffic', 'call_log', 'company_closures', 'closed_accounts')),
                run_id TEXT NOT NULL,
                as_of_us {i64} NOT NULL,
                cursor_us {i64} NOT NULL,
                cursor_id TEXT NOT NULL,
                batches {i64} NOT NULL,
                changed {i64} NOT NULL,
                held {i64} NOT NULL,
                started_at_us {i64} NOT NULL,
                finished_at_us {i64}))",
           "INSERT INTO retention_runs_v10 SELECT job, run_id, as_of_us, cursor_us, cursor_id, batches, changed, held, "
           "started_at_us, finished_at_us FROM retention_runs",
           "DROP TABLE retention_runs",
           "ALTER TABLE retention_runs_v10 RENAME TO retention_runs",
       }},
      {12,
       "retention",
       "the voicemail job's runs",
       {
           // As in version 10: the table rebuilt with the new job name allowed.
           R"(CREATE TABLE retention_runs_v12 (
                job TEXT PRIMARY KEY
                  CHECK (job IN ('traffic', 'call_log', 'voicemail', 'company_closures', 'closed_accounts')),
                run_id TEXT NOT NULL,
                as_of_us {i64} NOT NULL,
                cursor_us {i64} NOT NULL,
                cursor_id TEXT NOT NULL,
                batches {i64} NOT NULL,
                changed {i64} NOT NULL,
                held {i64} NOT NULL,
                started_at_us {i64} NOT NULL,
                finished_at_us {i64}))",
           "INSERT INTO retention_runs_v12 SELECT job, run_id, as_of_us, cursor_us, cursor_id, batches, changed, held, "
           "started_at_us, finished_at_us FROM retention_runs",
           "DROP TABLE retention_runs",
           "ALTER TABLE retention_runs_v12 RENAME TO retention_runs",
       }},
      {16,
       "retention",
       "the invoices job's runs",
       {
           // As in version 10: the table rebuilt with the new job name allowed (billing/'s invoices).
           R"(CREATE TABLE retention_runs_v16 (
                job TEXT PRIMARY KEY
                  CHECK (job IN ('traffic', 'call_log', 'voicemail', 'company_closures', 'closed_accounts', 'invoices')),
                run_id TEXT NOT NULL,
                as_of_us {i64} NOT NULL,
                cursor_us {i64} NOT NULL,
                cursor_id TEXT NOT NULL,
                batches {i64} NOT NULL,
                changed {i64} NOT NULL,
                held {i64} NOT NULL,
                started_at_us {i64} NOT NULL,
                finished_at_us {i64}))",
           "INSERT INTO retention_runs_v16 SELECT job, run_id, as_of_us, cursor_us, cursor_id, batches, changed, held, "
           "started_at_us, finished_at_us FROM retention_runs",
           "DROP TABLE retention_runs",
           "ALTER TABLE retention_runs_v16 RENAME TO retention_runs",
       }},
  };
}

}  // namespace privox::retention
