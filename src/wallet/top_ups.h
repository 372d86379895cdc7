#pragma once
// Problem: an office manager tops up the company's prepaid international balance from the portal
// by a card charge (issue 17), and a double submit, a lost answer from the payment provider or a
// crash between the charge and the credit must never charge twice or credit twice.
//
// Each top-up is a row of wallet_top_ups, keyed per company by the client's idempotency key:
//
//   begin_top_up ──> pending ──credit_top_up (provider charged)──> succeeded  (+1 ledger row)
//                      │  ▲   ──end_top_up (declined|failed)─────> declined | failed (nothing credited)
//                      │  └── the provider did not answer: stays pending; asking again sends the
//                      │      SAME provider key (provider_key), so the provider answers as the first time
//
// The row is written as pending BEFORE the provider is asked, with the card token it sends sealed
// in it (schema 25, kept only while pending): a retry sends that same card under the same key, even
// if the office manager has changed cards since, since the provider refuses a key reused with
// another card and may have charged the first. credit_top_up moves it from pending
// to succeeded and credits the wallet through top_up() in one transaction, so however often it is
// called (two submits racing, a retry after a lost answer) the balance moves once. A decline is
// final for its key: the client tries again with a new key.
//
// The payment itself is the caller's (portal/, through billing/payments.h, which sits above
// wallet/); this file is the store part. Every change is audited (purpose billing, ids and
// amounts only): wallet.top_up_requested, the credit's wallet.top_up, wallet.top_up_declined.
//
// Thread-safety: free functions, safe from any thread (all state is in the store).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/settings.h"
#include "store/store.h"

namespace privox::wallet {

struct TopUp {
  std::string id, company_id, client_key;
  int64_t amount_micros = 0;
  std::string currency;
  std::string state;               // pending, succeeded, declined, failed
  std::string provider_reference;  // succeeded: the provider's charge id
  std::string message;             // declined/failed: why, in words for the payer
  std::string ledger_entry_id;     // succeeded: the wallet_ledger row it made
  std::string actor;
  int64_t created_at_us = 0, at_us = 0;
};

// The operator's bounds on one top-up (settings wallet.top_up_min_micros and
// wallet.top_up_max_micros, in millionths of the wallet's currency).
struct TopUpLimits {
  int64_t min_micros = 0, max_micros = 0;
};
Result<TopUpLimits> top_up_limits(const store::Settings& settings);

// The key the provider is sent for this top-up: "wallet-top-up-{id}", the same on every retry.
std::string provider_key(const TopUp& top_up);

struct BegunTopUp {
  TopUp top_up;
  bool fresh = false;  // false: the key's earlier top-up, as it stands
};

// Writes the top-up as pending (audited wallet.top_up_requested) with `card_token` sealed in it, or
// returns the company's top-up that already has `client_key` (its own card kept). Errors: invalid on "Idempotency-Key" (1 to 100 letters, digits,
// '-', '_', '.' or ':'), on "amount" (outside `limits`, named in the message) or "currency";
// conflict on "Idempotency-Key" when the key's top-up was of another amount or currency;
// not_found on "company".
Result<BegunTopUp> begin_top_up(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                const TopUpLimits& limits, const std::string& company_id,
                                const std::string& client_key, int64_t amount_micros, const std::string& currency,
                                const std::string& card_token, const std::string& actor);

// The card token a pending top-up was first sent with; "" when it holds none (begun before schema
// 25, or ended). Errors: not_found on "id"; the keyring's when the sealed token does not open.
Result<std::string> sent_card_token(store::Store& store, const privacy::Keyring& keys, const std::string& id);

// The provider charged it: pending -> succeeded and the wallet credited, in one transaction.
// A top-up already succeeded is returned as it is, credited once. Errors: not_found on "id";
// conflict on "id" when it was declined or failed; top_up()'s errors.
Result<TopUp> credit_top_up(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                            const std::string& id, const std::string& provider_reference, const std::string& actor);

// The provider declined it (`state` "declined") or refused it ("failed"): nothing is credited.
// An already ended top-up is returned as it is. Errors: not_found on "id"; invalid on "state".
Result<TopUp> end_top_up(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const std::string& id,
                         const std::string& state, const std::string& message, const std::string& actor);

// The company's top-ups still pending that were begun at or before `begun_by_us`, oldest first.
Result<std::vector<TopUp>> pending_top_ups(store::Store& store, const std::string& company_id, int64_t begun_by_us);
// Every company's, oldest first, at most `limit` (billing's job asks them again).
Result<std::vector<TopUp>> all_pending_top_ups(store::Store& store, int64_t begun_by_us, size_t limit);

// As the API shows it: the amount as text and in micros, times in UTC.
nlohmann::json to_json(const TopUp& top_up);

}  // namespace privox::wallet
