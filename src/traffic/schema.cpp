// The schema of traffic/'s tables, traffic records and node heartbeats, as migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "traffic/module.h"

namespace privox::traffic {


std::vector<store::SchemaPart> schema_parts() {
  // traffic_records' columns as of version 6, in their order: what version 12's SQLite rebuild copies.
  const std::string columns_v6 =
      "id, company_id, subject_id, direction, kind, source_enc, destination_enc, source_withheld, started_at_us, "
      "answered_at_us, ended_at_us, duration_ms, outcome, failure_code, end_reason, caller_equipment_enc, "
      "callee_equipment_enc, trunk_id, node_id, updated_at_us, source_prefix, destination_prefix, "
      "anonymised_at_us, log_hidden_at_us";
  return {
      {2,
       "traffic",
       "traffic records and node heartbeats",
       {
           // Call detail records (P5): one per party's extension (subject_id) and call or message.
           // No foreign keys: records outlive extensions and trunks, anonymised after the dispute
           // period. Parties and equipment are sealed under the subject's key.
           R"(CREATE TABLE traffic_records (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL,
             subject_id TEXT NOT NULL,
             direction TEXT NOT NULL CHECK (direction IN ('internal', 'outbound', 'inbound')),
             kind TEXT NOT NULL CHECK (kind IN ('voice', 'sms')),
             source_enc {blob},
             destination_enc {blob},
             source_withheld {i64} NOT NULL DEFAULT 0 CHECK (source_withheld IN (0, 1)),
             started_at_us {i64} NOT NULL,
             answered_at_us {i64},
             ended_at_us {i64},
             duration_ms {i64},
             outcome TEXT NOT NULL
               CHECK (outcome IN ('open', 'answered', 'busy', 'no_answer', 'cancelled', 'failed')),
             failure_code {i64},
             end_reason TEXT,
             caller_equipment_enc {blob},
             callee_equipment_enc {blob},
             trunk_id TEXT,
             node_id TEXT,
             updated_at_us {i64} NOT NULL))",
           "CREATE INDEX traffic_records_company_started ON traffic_records (company_id, started_at_us)",
           "CREATE INDEX traffic_records_outcome ON traffic_records (outcome)",
           // A serving node's liveness: calls a dead node left open are closed with its last time (R1).
           R"(CREATE TABLE node_heartbeats (
             node_id TEXT PRIMARY KEY,
             last_seen_us {i64} NOT NULL))",
       }},
      {6,
       "traffic",
       "anonymisation prefixes and the indexes the retention jobs and call logs read",
       {
           // After the dispute period a record keeps only prefixes of its parties (numbers/
           // number_prefix.h) and loses its subject (subject_id becomes 'anonymised').
           "ALTER TABLE traffic_records ADD COLUMN source_prefix TEXT",
           "ALTER TABLE traffic_records ADD COLUMN destination_prefix TEXT",
           "ALTER TABLE traffic_records ADD COLUMN anonymised_at_us {i64}",
           // Set when the record leaves the member's call log (count or age limit, P7); billing
           // keeps the record until it is anonymised.
           "ALTER TABLE traffic_records ADD COLUMN log_hidden_at_us {i64}",
           // Partial indexes: only what a job still has to look at stays in them, so they shrink
           // as the jobs work instead of growing with the table.
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over two lines
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
       }},
      {12,
       "traffic",
       "traffic records of kind voicemail",
       {
           // A message left in a box is traffic too (its own record, kind 'voicemail'). PostgreSQL
           // widens the CHECK in place; SQLite cannot alter a constraint, so the table is rebuilt
           // as SQLite's ALTER TABLE documentation prescribes: new table, copy, drop, rename, and
           // its indexes again (dropped with the old table).
           "{postgresql}ALTER TABLE traffic_records DROP CONSTRAINT traffic_records_kind_check",
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over two lines
           "{postgresql}ALTER TABLE traffic_records ADD CONSTRAINT traffic_records_kind_check "
           "CHECK (kind IN ('voice', 'sms', 'voicemail'))",
           R"({sqlite}CREATE TABLE traffic_records_v12 (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL,
             subject_id TEXT NOT NULL,
             direction TEXT NOT NULL CHECK (direction IN ('internal', 'outbound', 'inbound')),
             kind TEXT NOT NULL CHECK (kind IN ('voice', 'sms', 'voicemail')),
             source_enc BLOB,
             destination_enc BLOB,
             source_withheld INTEGER NOT NULL DEFAULT 0 CHECK (source_withheld IN (0, 1)),
             started_at_us INTEGER NOT NULL,
             answered_at_us INTEGER,
             ended_at_us INTEGER,
             duration_ms INTEGER,
             outcome TEXT NOT NULL
               CHECK (outcome IN ('open', 'answered', 'busy', 'no_answer', 'cancelled', 'failed')),
             failure_code INTEGER,
             end_reason TEXT,
             caller_equipment_enc BLOB,
             callee_equipment_enc BLOB,
             trunk_id TEXT,
             node_id TEXT,
             updated_at_us INTEGER NOT NULL,
             source_prefix TEXT,
             destination_prefix TEXT,
             anonymised_at_us INTEGER,
             log_hidden_at_us INTEGER))",
           "{sqlite}INSERT INTO traffic_records_v12 SELECT " + columns_v6 + " FROM traffic_records",
           "{sqlite}DROP TABLE traffic_records",
           "{sqlite}ALTER TABLE traffic_records_v12 RENAME TO traffic_records",
           "{sqlite}CREATE INDEX traffic_records_company_started ON traffic_records (company_id, started_at_us)",
           "{sqlite}CREATE INDEX traffic_records_outcome ON traffic_records (outcome)",
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over two lines
           "{sqlite}CREATE INDEX traffic_records_to_anonymise ON traffic_records (ended_at_us, id) "
           "WHERE anonymised_at_us IS NULL",
           "{sqlite}CREATE INDEX traffic_records_log_by_age ON traffic_records (started_at_us, id) "
           "WHERE log_hidden_at_us IS NULL",
           "{sqlite}CREATE INDEX traffic_records_by_line ON traffic_records (subject_id, started_at_us, id)",
           "{sqlite}CREATE INDEX traffic_records_log_by_company ON traffic_records (company_id, kind, started_at_us, "
           "id, subject_id) WHERE log_hidden_at_us IS NULL",
           "{sqlite}CREATE INDEX traffic_records_log_by_line_kind ON traffic_records (subject_id, kind, started_at_us, "
           "id) WHERE log_hidden_at_us IS NULL",
       }},
      {15,
       "traffic",
       "the cost of each call",
       {
           // What an outbound call cost (rating/), written when it ends: micro-units of the
           // currency, and which deck import priced it. NULL: not rated (internal, inbound, never
           // answered, or no rate for the destination).
           "ALTER TABLE traffic_records ADD COLUMN cost_micros {i64}",
           "ALTER TABLE traffic_records ADD COLUMN cost_currency TEXT",
           "ALTER TABLE traffic_records ADD COLUMN rate_deck_id TEXT",
       }},
      {24,
       "traffic",
       "whether each leg of a call was encrypted on the wire",
       {
           // 1: the leg's SIP went over TLS and its audio was SRTP that encrypts; 0: either was
           // plain; NULL: not known (never answered, or recorded before this version).
           "ALTER TABLE traffic_records ADD COLUMN caller_leg_encrypted INTEGER CHECK (caller_leg_encrypted IN (0, 1))",
           "ALTER TABLE traffic_records ADD COLUMN callee_leg_encrypted INTEGER CHECK (callee_leg_encrypted IN (0, 1))",
       }},
      {27,
       "traffic",
       "indexes that leave out what no reader looks for: anonymised records by line, closed calls",
       {
           // An anonymised record belongs to no line, so the line index loses it: every anonymised
           // record had sat under one key ('anonymised') that nothing reads, and anonymisation now
           // deletes the entry instead of moving it. Readers by line say "anonymised_at_us IS NULL"
           // so both planners can use it (a real line's record is never anonymised).
           "DROP INDEX traffic_records_by_line",
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over two lines
           "CREATE INDEX traffic_records_by_line ON traffic_records (subject_id, started_at_us, id) "
           "WHERE anonymised_at_us IS NULL",
           // Only the calls still open are looked up by outcome (a node's calls closed after a
           // restart or by a surviving node), by node: an index of those alone instead of every
           // record's outcome.
           "DROP INDEX traffic_records_outcome",
           "CREATE INDEX traffic_records_open_by_node ON traffic_records (node_id) WHERE outcome = 'open'",
       }},
  };
}

}  // namespace privox::traffic
