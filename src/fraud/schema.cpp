// The schema of fraud/'s table as a migration part (store/schema.h). Released parts are never
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
  };
}

}  // namespace privox::fraud
