// The schema of consent/'s tables, the consent ledger and the optional data it allows, as migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "consent/module.h"

namespace privox::consent {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {4,
       "consent",
       "consent ledger, optional data",
       {
           // Append-only (consent/consent.h): the triggers below refuse UPDATE and DELETE, so not
           // even a bug or a hand-typed statement can rewrite a person's consent history. The latest
           // decision is the greatest (recorded_at_us, id): record() keeps recorded_at_us strictly
           // increasing per subject and purpose, and UUIDv7 ids order rows of the same instant.
           // The indexes serve the latest decision per subject, and the audience of a purpose.
           R"(CREATE TABLE consent_ledger (
                id TEXT PRIMARY KEY,
                subject_id TEXT NOT NULL,
                purpose TEXT NOT NULL CHECK (purpose IN ('marketing_email', 'marketing_sms', 'cookies_performance',
                                                         'contacts_sync', 'location', 'social_profile')),
                decision TEXT NOT NULL CHECK (decision IN ('given', 'withdrawn')),
                method TEXT NOT NULL CHECK (method IN ('form', 'link', 'sms_reply', 'operator')),
                channel TEXT NOT NULL,
                notice_version TEXT NOT NULL,
                recorded_at_us {i64} NOT NULL))",
           "CREATE INDEX consent_ledger_subject ON consent_ledger (subject_id, purpose, recorded_at_us, id)",
           "CREATE INDEX consent_ledger_purpose ON consent_ledger (purpose, subject_id, recorded_at_us, id)",
           R"({sqlite}CREATE TRIGGER consent_ledger_no_update BEFORE UPDATE ON consent_ledger
              BEGIN SELECT RAISE(ABORT, 'consent_ledger is append-only'); END)",
           R"({sqlite}CREATE TRIGGER consent_ledger_no_delete BEFORE DELETE ON consent_ledger
              BEGIN SELECT RAISE(ABORT, 'consent_ledger is append-only'); END)",
           R"({postgresql}CREATE FUNCTION consent_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'consent_ledger is append-only'; END $$)",
           R"({postgresql}CREATE TRIGGER consent_ledger_no_change BEFORE UPDATE OR DELETE ON consent_ledger
              FOR EACH ROW EXECUTE FUNCTION consent_ledger_append_only())",
           // One row per member who gave optional data; each kind sealed under the member's key
           // and set to NULL when its consent is withdrawn (consent/optional_data.h).
           R"(CREATE TABLE optional_data (
                member_id TEXT PRIMARY KEY REFERENCES members (id),
                contacts_enc {blob},
                contacts_at_us {i64},
                location_enc {blob},
                location_at_us {i64},
                social_profile_enc {blob},
                social_profile_at_us {i64}))",
       }},
  };
}

}  // namespace privox::consent
