// Migration 4: the privacy engine's ledgers and the operator's settings (see schema.h).
#include "store/schema.h"

namespace privox::store {

Migration ledgers_migration() {
  return {4,
          "privacy ledgers: operator settings, consent ledger, optional data, disclosure register, legal holds",
          {
              // Only values that differ from their declared default (store/settings.cpp).
              R"(CREATE TABLE settings (
                   key TEXT PRIMARY KEY,
                   value TEXT NOT NULL,
                   updated_at_us {i64} NOT NULL))",
              // Append-only (privacy/consent.h): the triggers below refuse UPDATE and DELETE, so not
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
              // and set to NULL when its consent is withdrawn (privacy/optional_data.h).
              R"(CREATE TABLE optional_data (
                   member_id TEXT PRIMARY KEY REFERENCES members (id),
                   contacts_enc {blob},
                   contacts_at_us {i64},
                   location_enc {blob},
                   location_at_us {i64},
                   social_profile_enc {blob},
                   social_profile_at_us {i64}))",
              // The disclosure register (privacy/disclosures.h). categories: comma-separated data map
              // category names. trunk_id: the trunk a carrier's standing entry is for.
              R"(CREATE TABLE disclosures (
                   id TEXT PRIMARY KEY,
                   recipient TEXT NOT NULL,
                   kind TEXT NOT NULL CHECK (kind IN ('carrier', 'supplier', 'authority', 'buyer', 'region_transfer')),
                   categories TEXT NOT NULL,
                   legal_basis TEXT NOT NULL,
                   reference TEXT NOT NULL,
                   safeguard TEXT NOT NULL,
                   trunk_id TEXT,
                   disclosed_at_us {i64} NOT NULL,
                   recorded_by TEXT NOT NULL))",
              "CREATE INDEX disclosures_at ON disclosures (disclosed_at_us)",
              "CREATE INDEX disclosures_trunk ON disclosures (trunk_id)",
              R"(CREATE TABLE disclosure_subjects (
                   disclosure_id TEXT NOT NULL REFERENCES disclosures (id),
                   subject_id TEXT NOT NULL,
                   PRIMARY KEY (disclosure_id, subject_id)))",
              "CREATE INDEX disclosure_subjects_subject ON disclosure_subjects (subject_id)",
              // Legal holds (privacy/legal_holds.h): never deleted; released_at_us is NULL while in force.
              R"(CREATE TABLE legal_holds (
                   id TEXT PRIMARY KEY,
                   subject_id TEXT NOT NULL,
                   reason TEXT NOT NULL,
                   reference TEXT NOT NULL,
                   placed_at_us {i64} NOT NULL,
                   placed_by TEXT NOT NULL,
                   released_at_us {i64},
                   released_by TEXT))",
              "CREATE INDEX legal_holds_subject ON legal_holds (subject_id)",
          }};
}

}  // namespace privox::store
