// Migration 6: retention (runs, account closures, the anonymised and log-limit columns of
// traffic_records) and analytics (surveys). See schema.h; every column is declared in
// privacy/datamap_retention.cpp.
#include "store/schema.h"

namespace privox::store {

Migration retention_migration() {
  return {6,
          "retention runs, account closures, anonymised traffic, call-log limits, surveys",
          {
              // After the dispute period a record keeps only prefixes of its parties (retention/
              // number_prefix.h) and loses its subject (subject_id becomes 'anonymised').
              "ALTER TABLE traffic_records ADD COLUMN source_prefix TEXT",
              "ALTER TABLE traffic_records ADD COLUMN destination_prefix TEXT",
              "ALTER TABLE traffic_records ADD COLUMN anonymised_at_us {i64}",
              // Set when the record leaves the member's call log (count or age limit, P7); billing
              // keeps the record until it is anonymised.
              "ALTER TABLE traffic_records ADD COLUMN log_hidden_at_us {i64}",
              // Partial indexes: only what a job still has to look at stays in them, so they shrink
              // as the jobs work instead of growing with the table.
              "CREATE INDEX traffic_records_to_anonymise ON traffic_records (ended_at_us, id) "
              "WHERE anonymised_at_us IS NULL",
              "CREATE INDEX traffic_records_log_by_age ON traffic_records (started_at_us, id) "
              "WHERE log_hidden_at_us IS NULL",
              // Every record of a line in time order, hidden or not: the access export and erasure
              // (rights/), and the call-log job's count limit. One index for all of them, because
              // anonymisation rewrites subject_id and so pays a random page write per record for each
              // index that starts with it.
              "CREATE INDEX traffic_records_by_line ON traffic_records (subject_id, started_at_us, id)",
              // The portal's call log (traffic/cdr.h, call_log): a page of a company's (office
              // manager) or one line's (member) calls or messages, newest first, read straight off
              // the index in order with no sort and no hidden record. subject_id closes the company
              // index so the lines filter is checked without reading the row. They live here, not in
              // the portal's migration 3, because log_hidden_at_us only exists from this one.
              "CREATE INDEX traffic_records_log_by_company ON traffic_records (company_id, kind, started_at_us, id, "
              "subject_id) WHERE log_hidden_at_us IS NULL",
              "CREATE INDEX traffic_records_log_by_line_kind ON traffic_records (subject_id, kind, started_at_us, id) "
              "WHERE log_hidden_at_us IS NULL",
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
              R"(CREATE TABLE surveys (
                   id TEXT PRIMARY KEY,
                   title TEXT NOT NULL,
                   created_by TEXT NOT NULL,
                   created_at_us {i64} NOT NULL))",
              // choices: the answers a respondent may pick, as a JSON array of strings.
              R"(CREATE TABLE survey_questions (
                   survey_id TEXT NOT NULL REFERENCES surveys (id),
                   position {i64} NOT NULL,
                   text TEXT NOT NULL,
                   choices TEXT NOT NULL,
                   PRIMARY KEY (survey_id, position)))",
              // One row per respondent and survey; the answers are sealed under the respondent's key.
              R"(CREATE TABLE survey_responses (
                   id TEXT PRIMARY KEY,
                   survey_id TEXT NOT NULL REFERENCES surveys (id),
                   respondent_id TEXT NOT NULL REFERENCES members (id),
                   answers_enc {blob} NOT NULL,
                   responded_at_us {i64} NOT NULL,
                   UNIQUE (survey_id, respondent_id)))",
          }};
}

}  // namespace privox::store
