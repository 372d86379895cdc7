// The schema of rights/'s tables, rights requests, as migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "rights/module.h"

namespace privox::rights {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {5,
       "rights",
       "rights requests and rectification notices",
       {
           // One row per request. The identity-check code is kept only as a keyed hash; the
           // requested corrections are sealed under the member's key; the reasons the operator
           // writes are stored in clear because they are sent to the member and prove how the
           // request was handled. Dates: received_at_us plus one calendar month (plus
           // extension_months) plus paused_us, the time spent awaiting identity or the fee.
           R"(CREATE TABLE rights_requests (
                id TEXT PRIMARY KEY,
                member_id TEXT NOT NULL REFERENCES members (id),
                kind TEXT NOT NULL CHECK (kind IN ('access', 'rectify', 'erase')),
                state TEXT NOT NULL CHECK (state IN ('received', 'awaiting_identity', 'awaiting_fee',
                                                     'in_progress', 'completed', 'refused')),
                channel TEXT NOT NULL,
                received_at_us {i64} NOT NULL,
                paused_us {i64} NOT NULL DEFAULT 0,
                paused_since_us {i64},
                extension_months {i64} NOT NULL DEFAULT 0 CHECK (extension_months BETWEEN 0 AND 2),
                extension_reason TEXT,
                fee_minor_units {i64} NOT NULL DEFAULT 0,
                fee_currency TEXT NOT NULL,
                fee_status TEXT NOT NULL CHECK (fee_status IN ('none', 'due', 'waived', 'paid')),
                fee_waiver_reason TEXT,
                payment_reference TEXT,
                code_hash {blob},
                code_expires_at_us {i64},
                code_tries_left {i64},
                identity_verified_at_us {i64},
                exported_at_us {i64},
                closed_at_us {i64},
                refusal_reason TEXT,
                corrections_enc {blob},
                correction_fields TEXT,
                outcome TEXT,
                updated_at_us {i64} NOT NULL))",
           "CREATE INDEX rights_requests_member ON rights_requests (member_id)",
           "CREATE INDEX rights_requests_state ON rights_requests (state)",
           // A rectification tells every recipient of the corrected data (P13): one row per
           // disclosure-register entry that must hear of it.
           R"(CREATE TABLE rectification_notices (
                id TEXT PRIMARY KEY,
                request_id TEXT NOT NULL REFERENCES rights_requests (id),
                disclosure_id TEXT NOT NULL,
                recipient TEXT NOT NULL,
                fields TEXT NOT NULL,
                created_at_us {i64} NOT NULL))",
           "CREATE INDEX rectification_notices_request ON rectification_notices (request_id)",
       }},
  };
}

}  // namespace privox::rights
