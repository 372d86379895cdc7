#include "store/schema.h"

namespace privox::store {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
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
  };
  return all;
}

int latest_schema_version() { return migrations().back().version; }

std::string expand_types(bool postgresql, std::string sql) {
  auto replace_all = [&](std::string_view from, std::string_view to) {
    for (size_t pos = sql.find(from); pos != std::string::npos; pos = sql.find(from, pos + to.size()))
      sql.replace(pos, from.size(), to);
  };
  replace_all("{blob}", postgresql ? "BYTEA" : "BLOB");
  replace_all("{i64}", postgresql ? "BIGINT" : "INTEGER");
  return sql;
}

}  // namespace privox::store
