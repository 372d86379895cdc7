// The schema of fraud/'s tables as a migration part (store/schema.h). Released parts are never
// edited: a change is a part of a new version.
#include "fraud/module.h"

namespace privox::fraud {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {17,
       "fraud",
       "fraud alerts: what a rule saw on a line, and the suspension or throttle it put on it",
       {
           // One alert per rule that fired on a line. `figures` is a JSON object of counts and
           // amounts only (calls, destinations, micros): never a number called or an address.
           // An open alert whose action is suspend or throttle is what the proxy enforces; lifting
           // it (state lifted) ends that. mailed_at_us: when the office managers and the operator
           // were told (0: not yet).
           R"(CREATE TABLE fraud_alerts (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL,
             line_id TEXT NOT NULL,
             rule TEXT NOT NULL,
             action TEXT NOT NULL CHECK (action IN ('alert', 'throttle', 'suspend')),
             opened_at_us {i64} NOT NULL,
             figures TEXT NOT NULL,
             state TEXT NOT NULL CHECK (state IN ('open', 'lifted')),
             lifted_at_us {i64} NOT NULL DEFAULT 0,
             lifted_by TEXT NOT NULL DEFAULT '',
             mailed_at_us {i64} NOT NULL DEFAULT 0))",
           "CREATE INDEX fraud_alerts_by_company ON fraud_alerts (company_id, opened_at_us)",
           "CREATE INDEX fraud_alerts_open ON fraud_alerts (state, line_id)",
       }},
      {18,
       "fraud",
       "fraud alert emails sent per recipient, and per-company overrides of the rules' thresholds",
       {
           // The outbox's memory: one row per recipient an alert's email went to, written after
           // that send succeeded, so a sweep that failed half-way never sends anyone the same
           // alert twice. recipient: 'operator' (fraud.alert_email) or the office manager's member
           // id, never an address.
           R"(CREATE TABLE fraud_alert_mails (
             alert_id TEXT NOT NULL REFERENCES fraud_alerts (id) ON DELETE CASCADE,
             recipient TEXT NOT NULL,
             sent_at_us {i64} NOT NULL,
             PRIMARY KEY (alert_id, recipient)))",
           // A company's own value of a fraud.* threshold or action (fraud/overrides.h), in force
           // for its lines instead of the global setting; no row: the global setting.
           R"(CREATE TABLE fraud_company_limits (
             company_id TEXT NOT NULL REFERENCES companies (id),
             key TEXT NOT NULL,
             value TEXT NOT NULL,
             set_at_us {i64} NOT NULL,
             PRIMARY KEY (company_id, key)))",
       }},
  };
}

}  // namespace privox::fraud
