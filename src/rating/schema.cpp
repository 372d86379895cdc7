// The schema of rating/'s tables, the operator's rate decks and companies' plans, as a migration
// part (store/schema.h). Released parts are never edited: a change is a part of a new version.
#include "rating/module.h"

namespace privox::rating {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {15,
       "rating",
       "rate decks and plans",
       {
           // One row per import of a deck (rating/store.h): who imported it, when, how many rates.
           R"(CREATE TABLE rate_decks (
             id TEXT PRIMARY KEY,
             name TEXT NOT NULL,
             rates {i64} NOT NULL,
             imported_at_us {i64} NOT NULL,
             imported_by TEXT NOT NULL))",
           // Every rate ever imported. A prefix has one rate per valid_from, whichever deck brought
           // it: a new price is a new row from a later date, never an edit, so a call is always
           // priced as the decks stood when it began, and re-rating a period reproduces that.
           R"(CREATE TABLE rates (
             prefix TEXT NOT NULL,
             valid_from_us {i64} NOT NULL,
             deck_id TEXT NOT NULL,
             description TEXT NOT NULL,
             price_per_minute_micros {i64} NOT NULL CHECK (price_per_minute_micros >= 0),
             connection_fee_micros {i64} NOT NULL CHECK (connection_fee_micros >= 0),
             first_increment_s {i64} NOT NULL CHECK (first_increment_s > 0),
             next_increment_s {i64} NOT NULL CHECK (next_increment_s > 0),
             currency TEXT NOT NULL,
             PRIMARY KEY (prefix, valid_from_us)))",
           // A company's plan: the destination prefixes it includes (domestic unlimited is its
           // own country code), comma-separated, every other destination being rated; and where
           // its lines may call at all: the countries allowed beyond its own (ISO 3166 codes,
           // comma-separated, "*" for any) and whether premium-rate numbers are. Without a row, a
           // company calls its own country only, and no premium-rate number.
           R"(CREATE TABLE rating_plans (
             company_id TEXT PRIMARY KEY,
             included_prefixes TEXT NOT NULL DEFAULT '',
             allowed_countries TEXT NOT NULL DEFAULT '',
             allow_premium {i64} NOT NULL DEFAULT 0 CHECK (allow_premium IN (0, 1)),
             updated_at_us {i64} NOT NULL))",
       }},
      {16,
       "rating",
       "the operator's high-risk prefixes",
       {
           // Ranges abused for international revenue-share fraud, which no company calls unless it
           // was let (allow_high_risk below), whatever its countries allow; no personal data.
           R"(CREATE TABLE rating_high_risk_prefixes (
             prefix TEXT PRIMARY KEY,
             description TEXT NOT NULL,
             added_at_us {i64} NOT NULL,
             added_by TEXT NOT NULL))",
           R"(ALTER TABLE rating_plans ADD COLUMN allow_high_risk {i64} NOT NULL DEFAULT 0
             CHECK (allow_high_risk IN (0, 1)))",
       }},
  };
}

}  // namespace privox::rating
