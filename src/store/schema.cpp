#include "store/schema.h"

namespace privox::store {

namespace {

std::vector<Migration> foundation_and_telephony() {
  return {
      {1,
       "companies, members, subject keys, audit chain",
       {
           R"(CREATE TABLE companies (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                region TEXT NOT NULL CHECK (region IN ('eea', 'us')),
                country TEXT NOT NULL,
                created_at_us {i64} NOT NULL))",
           R"(CREATE TABLE subject_keys (
                subject_id TEXT PRIMARY KEY,
                wrapped_key {blob} NOT NULL,
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
           R"(CREATE TABLE audit_log (
                seq {i64} PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                at_us {i64} NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                subject_id TEXT,
                purpose TEXT,
                detail TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL))",
           R"(CREATE TABLE audit_head (
                id {i64} PRIMARY KEY CHECK (id = 1),
                seq {i64} NOT NULL,
                hash TEXT NOT NULL))",
           "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '')",
       }},
      {2,
       "telephony: extensions, trunks, registrar bindings, traffic records, node heartbeats",
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
           // One row per registered contact of an extension (RFC 3261 section 10). Personal columns
           // are sealed under the extension's subject key; contact_bidx finds a contact again.
           R"(CREATE TABLE bindings (
                id TEXT PRIMARY KEY,
                extension_id TEXT NOT NULL REFERENCES extensions (id),
                contact_enc {blob} NOT NULL,
                contact_bidx {blob} NOT NULL,
                received_enc {blob},
                user_agent_enc {blob},
                call_id_bidx {blob},
                cseq {i64} NOT NULL,
                expires_at_us {i64} NOT NULL,
                updated_at_us {i64} NOT NULL,
                UNIQUE (extension_id, contact_bidx)))",
           "CREATE INDEX bindings_expires ON bindings (expires_at_us)",
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
  };
}

}  // namespace

// Migrations 1 and 2 are the foundation's and the telephony core's; each later subsystem owns one
// migration, in schema_<part>.cpp beside this file, numbered in the order they were introduced.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = [] {
    std::vector<Migration> list = foundation_and_telephony();
    for (Migration (*part)() : {portal_migration, ledgers_migration, rights_migration, retention_migration,
                                notify_migration})
      list.push_back(part());
    return list;
  }();
  return all;
}

int latest_schema_version() { return migrations().back().version; }

std::string expand_types(bool postgresql, std::string sql) {
  // A statement only one backend can run (trigger syntax differs) becomes a no-op on the other.
  constexpr std::string_view kSqliteOnly = "{sqlite}", kPostgresqlOnly = "{postgresql}";
  if (sql.starts_with(kSqliteOnly)) {
    if (postgresql) return "SELECT 1";
    sql.erase(0, kSqliteOnly.size());
  } else if (sql.starts_with(kPostgresqlOnly)) {
    if (!postgresql) return "SELECT 1";
    sql.erase(0, kPostgresqlOnly.size());
  }
  auto replace_all = [&](std::string_view from, std::string_view to) {
    for (size_t pos = sql.find(from); pos != std::string::npos; pos = sql.find(from, pos + to.size()))
      sql.replace(pos, from.size(), to);
  };
  replace_all("{blob}", postgresql ? "BYTEA" : "BLOB");
  replace_all("{i64}", postgresql ? "BIGINT" : "INTEGER");
  return sql;
}

}  // namespace privox::store
