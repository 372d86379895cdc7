// The schema of portal/'s tables, the portal's logins, sessions, login throttling, page views,
// emailed links and invitations, as
// migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "portal/module.h"

namespace privox::portal {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {3,
       "portal",
       "portal logins, sessions, login throttling, page-view counts",
       {
           // One login per member (their email is members.email_bidx) or staff account (their
           // email is sealed here under the account's own key). role decides what they may see
           // (portal/auth.h); password_hash is libsodium's Argon2id string.
           R"(CREATE TABLE portal_logins (
                subject_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('member', 'staff')),
                company_id TEXT REFERENCES companies (id),
                role TEXT NOT NULL,
                staff_email_enc {blob},
                staff_email_bidx {blob} UNIQUE,
                password_hash TEXT NOT NULL,
                created_at_us {i64} NOT NULL,
                updated_at_us {i64} NOT NULL))",
           // A session is found by the keyed hash of its cookie's token; the token itself is never
           // stored, so a copy of the store cannot be used to log in.
           R"(CREATE TABLE portal_sessions (
                token_hash {blob} PRIMARY KEY,
                subject_id TEXT NOT NULL,
                created_at_us {i64} NOT NULL,
                last_seen_us {i64} NOT NULL,
                expires_at_us {i64} NOT NULL))",
           "CREATE INDEX portal_sessions_subject ON portal_sessions (subject_id)",
           "CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at_us)",
           // Failed logins per account and per client address, each known only by a keyed hash;
           // rows are purged once their window and lock-out have passed.
           R"(CREATE TABLE portal_login_throttle (
                key_hash {blob} PRIMARY KEY,
                scope TEXT NOT NULL CHECK (scope IN ('account', 'address')),
                failures {i64} NOT NULL,
                window_started_at_us {i64} NOT NULL,
                locked_until_us {i64} NOT NULL,
                expires_at_us {i64} NOT NULL))",
           "CREATE INDEX portal_login_throttle_expires ON portal_login_throttle (expires_at_us)",
           // Page views of the portal's pages, counted per UTC day and page without cookies or
           // addresses (P8, P12).
           R"(CREATE TABLE page_views (
                day TEXT NOT NULL,
                page TEXT NOT NULL,
                views {i64} NOT NULL,
                PRIMARY KEY (day, page)))",
       }},
      {9,
       "portal",
       "login throttling per account and client pair, rate limits, emailed confirmations, used payment tokens "
       "(issue 10)",
       {
           // Per account and per address became per (account, client) pair with growing delays:
           // the old counts mean nothing under the new rule, so the table starts empty.
           "DROP TABLE portal_login_throttle",
           // Tries per pair of account tried and client, known only by a keyed hash of the pair;
           // a row is purged once expires_at_us (when its count has run out) has passed.
           R"(CREATE TABLE portal_login_throttle (
                key_hash {blob} PRIMARY KEY,
                failures {i64} NOT NULL,
                last_failure_at_us {i64} NOT NULL,
                delayed_until_us {i64} NOT NULL,
                expires_at_us {i64} NOT NULL))",
           "CREATE INDEX portal_login_throttle_expires ON portal_login_throttle (expires_at_us)",
           // Actions per scope and client in fixed windows (portal/rate_limit.h), known only by a
           // keyed hash of the pair; a row is purged when its window ends.
           R"(CREATE TABLE portal_rate_limits (
                key_hash {blob} PRIMARY KEY,
                actions {i64} NOT NULL,
                expires_at_us {i64} NOT NULL))",
           "CREATE INDEX portal_rate_limits_expires ON portal_rate_limits (expires_at_us)",
           // Sign-ups and changes of email waiting for their emailed link (portal/confirmations.h):
           // found by a keyed hash of the link's token, sealed under a key derived from the token.
           R"(CREATE TABLE portal_confirmations (
                token_hash {blob} PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('signup', 'email')),
                subject_id TEXT,
                sealed {blob} NOT NULL,
                expires_at_us {i64} NOT NULL))",
           "CREATE INDEX portal_confirmations_expires ON portal_confirmations (expires_at_us)",
           "CREATE INDEX portal_confirmations_subject ON portal_confirmations (subject_id)",
           // Payment tokens sign-up has used, by keyed hash, so none signs up twice.
           R"(CREATE TABLE portal_payment_tokens (
                token_hash {blob} PRIMARY KEY,
                used_at_us {i64} NOT NULL))",
           "CREATE INDEX portal_payment_tokens_used ON portal_payment_tokens (used_at_us)",
       }},
      {10,
       "portal",
       "office managers' invitations, emailed invitation and password-reset links (issue 13)",
       {
           // The emailed links gain two kinds, invitations and password resets. A CHECK cannot be
           // altered in SQLite, so the table is rebuilt; pending links are kept.
           R"(CREATE TABLE portal_confirmations_v10 (
                token_hash {blob} PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('signup', 'email', 'invite', 'reset')),
                subject_id TEXT,
                sealed {blob} NOT NULL,
                expires_at_us {i64} NOT NULL))",
           R"(INSERT INTO portal_confirmations_v10 (token_hash, kind, subject_id, sealed, expires_at_us)
                SELECT token_hash, kind, subject_id, sealed, expires_at_us FROM portal_confirmations)",
           "DROP TABLE portal_confirmations",
           "ALTER TABLE portal_confirmations_v10 RENAME TO portal_confirmations",
           "CREATE INDEX portal_confirmations_expires ON portal_confirmations (expires_at_us)",
           "CREATE INDEX portal_confirmations_subject ON portal_confirmations (subject_id)",
           // An office manager's pending invitations (portal/invites.h): the invitee's address
           // sealed under the invitation's own key, destroyed when it is accepted, revoked or
           // expires. Its link is a portal_confirmations row whose subject_id is the id.
           R"(CREATE TABLE portal_invites (
                id TEXT PRIMARY KEY,
                company_id TEXT NOT NULL REFERENCES companies (id),
                invited_by TEXT NOT NULL,
                email_enc {blob} NOT NULL,
                created_at_us {i64} NOT NULL,
                expires_at_us {i64} NOT NULL))",
           "CREATE INDEX portal_invites_company ON portal_invites (company_id)",
           "CREATE INDEX portal_invites_expires ON portal_invites (expires_at_us)",
       }},
  };
}

}  // namespace privox::portal
