// The schema of accounts/'s tables, companies, members, extensions, trunks and the directory's change log, as migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "accounts/module.h"

namespace privox::accounts {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {1,
       "accounts",
       "companies (tenants) and their members",
       {
           R"(CREATE TABLE companies (
             id TEXT PRIMARY KEY,
             name TEXT NOT NULL,
             region TEXT NOT NULL CHECK (region IN ('eea', 'us')),
             country TEXT NOT NULL,
             created_at_us {i64} NOT NULL))",
           R"(CREATE TABLE members (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL REFERENCES companies (id),
             status TEXT NOT NULL CHECK (status IN ('active', 'erased')),
             name_enc {blob},
             email_enc {blob},
             email_bidx {blob},
             phone_enc {blob},
             phone_bidx {blob},
             address_enc {blob},
             birth_date_enc {blob},
             payment_token_enc {blob},
             card_brand_enc {blob},
             card_last4_enc {blob},
             card_expiry_enc {blob},
             created_at_us {i64} NOT NULL,
             erased_at_us {i64}))",
           "CREATE UNIQUE INDEX members_email_bidx ON members (email_bidx)",
           "CREATE INDEX members_phone_bidx ON members (phone_bidx)",
           "CREATE INDEX members_company ON members (company_id)",
       }},
      {2,
       "accounts",
       "phone lines (extensions) and carrier trunks",
       {
           // number: 2-8 digits, unique within the company. sip_user: the login phones send, the
           // number itself or, where another company has that number, the number with a company
           // suffix (accounts/extensions.h). HA1s are sealed with the keyring's credential key.
           R"(CREATE TABLE extensions (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL REFERENCES companies (id),
             number TEXT NOT NULL,
             sip_user TEXT NOT NULL UNIQUE,
             member_id TEXT REFERENCES members (id),
             did TEXT UNIQUE,
             ha1_md5_enc {blob} NOT NULL,
             ha1_sha256_enc {blob} NOT NULL,
             created_at_us {i64} NOT NULL,
             UNIQUE (company_id, number)))",
           "CREATE INDEX extensions_member ON extensions (member_id)",
           R"(CREATE TABLE trunks (
             id TEXT PRIMARY KEY,
             name TEXT NOT NULL UNIQUE,
             host TEXT NOT NULL,
             port {i64} NOT NULL CHECK (port BETWEEN 1 AND 65535),
             trusted {i64} NOT NULL CHECK (trusted IN (0, 1)),
             created_at_us {i64} NOT NULL,
             UNIQUE (host, port)))",
       }},
      {8,
       "accounts",
       "the provisioning change log the SIP directory follows",
       {
           // One row per change to a line or trunk (accounts/directory_log.h), numbered by the
           // counter in directory_log_head, which every recording transaction updates first.
           R"(CREATE TABLE directory_changes (
             seq {i64} PRIMARY KEY,
             kind TEXT NOT NULL CHECK (kind IN ('extension', 'trunk')),
             item_id TEXT NOT NULL,
             change TEXT NOT NULL,
             changed_at_us {i64} NOT NULL))",
           R"(CREATE TABLE directory_log_head (
             id {i64} PRIMARY KEY CHECK (id = 1),
             seq {i64} NOT NULL))",
           "INSERT INTO directory_log_head (id, seq) VALUES (1, 0)",
       }},
      {10,
       "accounts",
       "closing a company: when it was asked for, by whom, and when the service ends and ended",
       {
           "ALTER TABLE companies ADD COLUMN closure_requested_at_us {i64}",
           "ALTER TABLE companies ADD COLUMN closure_requested_by TEXT",
           "ALTER TABLE companies ADD COLUMN service_ends_at_us {i64}",
           "ALTER TABLE companies ADD COLUMN closed_at_us {i64}",
       }},
      {11,
       "accounts",
       "lines out of the box: a line's label, and the digest challenges per company and per line",
       {
           // digest: 'md5' or 'sha256' (accounts/extensions.h, DigestChoice); NULL follows the
           // company's, and the company's NULL follows the node's --digest-challenges.
           "ALTER TABLE companies ADD COLUMN sip_digest TEXT CHECK (sip_digest IN ('md5', 'sha256'))",
           "ALTER TABLE extensions ADD COLUMN label TEXT",
           "ALTER TABLE extensions ADD COLUMN digest TEXT CHECK (digest IN ('md5', 'sha256'))",
       }},
      {18,
       "accounts",
       "a company's time zone, for its business hours",
       {
           // An IANA name checked against ICU's zone data when set (accounts/time_zone.h); NULL: UTC.
           "ALTER TABLE companies ADD COLUMN time_zone TEXT",
       }},
      {19,
       "accounts",
       "the provisioning change log also names ring groups",
       {
           // A ring group (callflow/groups.h) changing is a directory change of kind 'ring_group'.
           // PostgreSQL widens the CHECK in place; SQLite cannot alter a constraint, so the table
           // is rebuilt (new table, copy, drop, rename), as traffic/'s version 12 does.
           "{postgresql}ALTER TABLE directory_changes DROP CONSTRAINT directory_changes_kind_check",
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over two lines
           "{postgresql}ALTER TABLE directory_changes ADD CONSTRAINT directory_changes_kind_check "
           "CHECK (kind IN ('extension', 'trunk', 'ring_group'))",
           R"({sqlite}CREATE TABLE directory_changes_v19 (
             seq {i64} PRIMARY KEY,
             kind TEXT NOT NULL CHECK (kind IN ('extension', 'trunk', 'ring_group')),
             item_id TEXT NOT NULL,
             change TEXT NOT NULL,
             changed_at_us {i64} NOT NULL))",
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over two lines
           "{sqlite}INSERT INTO directory_changes_v19 SELECT seq, kind, item_id, change, changed_at_us "
           "FROM directory_changes",
           "{sqlite}DROP TABLE directory_changes",
           "{sqlite}ALTER TABLE directory_changes_v19 RENAME TO directory_changes",
       }},
      {19,
       "accounts",
       "a company's business hours and holidays",
       {
           // A row in company_hours: the company has set its week (with or without intervals);
           // none: it never did (accounts/business_hours.h). weekday 0 is Monday; minutes are
           // local, after midnight.
           R"(CREATE TABLE company_hours (
             company_id TEXT PRIMARY KEY REFERENCES companies (id),
             set_at_us {i64} NOT NULL))",
           R"(CREATE TABLE company_hours_intervals (
             company_id TEXT NOT NULL REFERENCES companies (id),
             weekday {i64} NOT NULL CHECK (weekday BETWEEN 0 AND 6),
             start_minute {i64} NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
             end_minute {i64} NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
             PRIMARY KEY (company_id, weekday, start_minute)))",
           R"(CREATE TABLE company_holidays (
             company_id TEXT NOT NULL REFERENCES companies (id),
             holiday_date TEXT NOT NULL,
             label TEXT NOT NULL,
             PRIMARY KEY (company_id, holiday_date)))",
       }},
      {20,
       "accounts",
       "the provisioning change log also names receptionists and music on hold",
       {
           // A virtual receptionist or one of its menus (callflow/receptionist.h) changing is a
           // directory change of kind 'receptionist', a company's music on hold (callflow/music.h)
           // one of kind 'music'. As version 19: PostgreSQL widens the CHECK in
           // place, SQLite rebuilds the table.
           "{postgresql}ALTER TABLE directory_changes DROP CONSTRAINT directory_changes_kind_check",
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over two lines
           "{postgresql}ALTER TABLE directory_changes ADD CONSTRAINT directory_changes_kind_check "
           "CHECK (kind IN ('extension', 'trunk', 'ring_group', 'receptionist', 'music'))",
           R"({sqlite}CREATE TABLE directory_changes_v20 (
             seq {i64} PRIMARY KEY,
             kind TEXT NOT NULL CHECK (kind IN ('extension', 'trunk', 'ring_group', 'receptionist', 'music')),
             item_id TEXT NOT NULL,
             change TEXT NOT NULL,
             changed_at_us {i64} NOT NULL))",
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over two lines
           "{sqlite}INSERT INTO directory_changes_v20 SELECT seq, kind, item_id, change, changed_at_us "
           "FROM directory_changes",
           "{sqlite}DROP TABLE directory_changes",
           "{sqlite}ALTER TABLE directory_changes_v20 RENAME TO directory_changes",
       }},
      {21,
       "accounts",
       "the provisioning change log also names conference rooms",
       {
           // A conference room (callflow/conference.h) changing is a directory change of kind
           // 'conference'. As version 19: PostgreSQL widens the CHECK in place, SQLite rebuilds
           // the table.
           "{postgresql}ALTER TABLE directory_changes DROP CONSTRAINT directory_changes_kind_check",
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over two lines
           "{postgresql}ALTER TABLE directory_changes ADD CONSTRAINT directory_changes_kind_check "
           "CHECK (kind IN ('extension', 'trunk', 'ring_group', 'receptionist', 'music', 'conference'))",
           R"({sqlite}CREATE TABLE directory_changes_v21 (
             seq {i64} PRIMARY KEY,
             kind TEXT NOT NULL
               CHECK (kind IN ('extension', 'trunk', 'ring_group', 'receptionist', 'music', 'conference')),
             item_id TEXT NOT NULL,
             change TEXT NOT NULL,
             changed_at_us {i64} NOT NULL))",
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over two lines
           "{sqlite}INSERT INTO directory_changes_v21 SELECT seq, kind, item_id, change, changed_at_us "
           "FROM directory_changes",
           "{sqlite}DROP TABLE directory_changes",
           "{sqlite}ALTER TABLE directory_changes_v21 RENAME TO directory_changes",
       }},
      {24,
       "accounts",
       "a company may require encryption on the wire: TLS and SRTP for every phone",
       {
           // 1: a line of the company registers and calls only over TLS with SRTP (issue 16).
           "ALTER TABLE companies ADD COLUMN require_encryption INTEGER NOT NULL DEFAULT 0 "
           "CHECK (require_encryption IN (0, 1))",
       }},
  };
}

}  // namespace privox::accounts
