// The schema of wallet/'s tables, as a migration part (store/schema.h). Released parts are never
// edited: a change is a part of a new version.
#include "wallet/module.h"

namespace privox::wallet {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {17,
       "wallet",
       "international wallets and their ledger",
       {
           // One row per company that has a wallet: the prepaid balance its international calls
           // draw on, in millionths of `currency` (as rating/ prices calls, so a debit is a call's
           // cost exactly), kept equal to the sum of its ledger rows in the transaction that adds
           // each; and its daily spend cap (NULL: none). `currency` is '' until the first top-up.
           // spent_day_micros is what its calls cost on the UTC day starting at spent_day_us, kept
           // in each debit's transaction, so that the SIP side's view reads it without summing the
           // day's ledger rows.
           R"(CREATE TABLE wallet_accounts (
             company_id TEXT PRIMARY KEY,
             currency TEXT NOT NULL DEFAULT '',
             balance_micros {i64} NOT NULL DEFAULT 0,
             daily_cap_micros {i64} CHECK (daily_cap_micros IS NULL OR daily_cap_micros >= 0),
             spent_day_us {i64} NOT NULL DEFAULT 0,
             spent_day_micros {i64} NOT NULL DEFAULT 0,
             updated_at_us {i64} NOT NULL))",
           // Every change of a balance: a top-up, an adjustment by the operator, or the debit of one
           // international call (traffic_record_id set, unique: a call is debited once however
           // often its debit is retried), numbered 1, 2, ... per company in the order they were
           // made (the wallet's row is locked meanwhile). Never updated or deleted.
           R"(CREATE TABLE wallet_ledger (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL,
             seq {i64} NOT NULL,
             kind TEXT NOT NULL CHECK (kind IN ('top_up', 'call', 'adjustment')),
             amount_micros {i64} NOT NULL,
             balance_after_micros {i64} NOT NULL,
             currency TEXT NOT NULL,
             traffic_record_id TEXT UNIQUE,
             note TEXT NOT NULL DEFAULT '',
             actor TEXT NOT NULL,
             at_us {i64} NOT NULL,
             UNIQUE (company_id, seq)))",
           "CREATE INDEX wallet_ledger_by_time ON wallet_ledger (at_us)",
       }},
      {18,
       "wallet",
       "card top-ups of the international balance",
       {
           // One row per top-up an office manager asks for (top_ups.h), written as pending with the
           // client's idempotency key before the payment provider is asked, so a double submit or a
           // lost answer finds it; succeeded names the ledger row its credit made (once).
           R"(CREATE TABLE wallet_top_ups (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL,
             client_key TEXT NOT NULL,
             amount_micros {i64} NOT NULL CHECK (amount_micros > 0),
             currency TEXT NOT NULL,
             state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'declined', 'failed')),
             provider_reference TEXT NOT NULL DEFAULT '',
             message TEXT NOT NULL DEFAULT '',
             ledger_entry_id TEXT,
             actor TEXT NOT NULL,
             created_at_us {i64} NOT NULL,
             at_us {i64} NOT NULL,
             UNIQUE (company_id, client_key)))",
           "CREATE INDEX wallet_top_ups_pending ON wallet_top_ups (company_id, state, created_at_us)",
       }},
      {25,
       "wallet",
       "the card token a top-up was sent with",
       {
           // Sealed (Keyring::seal_secret, purpose "top-up-token:{id}"), so that a pending top-up's
           // retry re-sends exactly the card its key was first sent with: the provider refuses a key
           // reused with another card, and the first card may have been charged. Kept only while
           // pending; NULL once it ends, and for top-ups begun before this version (those re-send
           // the office manager's current card, as they did).
           "ALTER TABLE wallet_top_ups ADD COLUMN card_token_sealed {blob}",
       }},
  };
}

}  // namespace privox::wallet
