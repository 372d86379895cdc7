#pragma once
// The schema, versioned in code. Each migration is a list of statements written once in portable
// SQL with two type tokens that the backend expands:
//   {blob} binary data (SQLite BLOB, PostgreSQL BYTEA)
//   {i64}  64-bit integer (SQLite INTEGER, PostgreSQL BIGINT)
// A statement that starts with {sqlite} or {postgresql} runs on that backend only (triggers).
// Migrations are append-only: a released version is never edited, a change is a new version.
//
// Tables, and who owns them:
//   companies        accounts/  tenants; region decides which regional store holds their data
//   members          accounts/  people; every personal column is encrypted under the member's key
//   subject_keys     privacy/   each subject's data key, wrapped by the master key
//   audit_log        privacy/   the hash-chained audit trail; subject ids only, never personal data
//   audit_head       privacy/   one row: the chain's last sequence number and hash
//   extensions       accounts/  a company's phone lines: number, SIP login, DID, sealed digest HA1s;
//                               each line is a subject with its own key (bindings, traffic)
//   trunks           accounts/  carrier links: name, address, whether requests from it are trusted
//   bindings         sip/       the registrar's locations: where each extension's devices are
//   traffic_records  traffic/   call detail records (P5), one per call or message and extension
//   node_heartbeats  traffic/   each serving node's last sign of life, to close calls it left open
//   portal_logins, portal_sessions, portal_login_throttle, page_views
//                    portal/    logins (Argon2id), sessions (token hashes), failed-login counters,
//                               page views per day and page (no address, no cookie)
//   settings         store/     the operator's settings that differ from their defaults
//   consent_ledger, optional_data, disclosures, disclosure_subjects, legal_holds
//                    privacy/   the append-only consent ledger, consented mobile/social data, the
//                               disclosure register and legal holds
//   rights_requests, rectification_notices
//                    rights/    access, rectification and erasure requests and their notices
//   retention_runs, account_closures, surveys, survey_questions, survey_responses
//                    retention/, analytics/  job cursors, closed accounts awaiting erasure, surveys
//   campaigns, campaign_deliveries
//                    notify/    marketing campaigns and who each was sent to
// privacy/datamap.cpp declares every column of these tables, personal or not.

#include <string>
#include <vector>

namespace privox::store {

struct Migration {
  int version;
  const char* description;
  std::vector<std::string> statements;
};

const std::vector<Migration>& migrations();

// The migrations of the later subsystems, one file each (schema_<part>.cpp).
Migration portal_migration();     // 3: portal accounts, sessions, login throttling, page-view counts
Migration ledgers_migration();    // 4: consent ledger, optional data, disclosure register, legal holds, settings
Migration rights_migration();     // 5: rights requests
Migration retention_migration();  // 6: retention runs, call-log limits, surveys
Migration notify_migration();     // 7: marketing campaigns and their deliveries
int latest_schema_version();

// Expands the {blob} and {i64} type tokens for one backend.
std::string expand_types(bool postgresql, std::string sql);

}  // namespace privox::store
