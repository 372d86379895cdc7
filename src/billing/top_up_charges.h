#pragma once
// Charging an office manager's wallet top-up through the payment provider (issue 17); the top-up's
// own states and its credit are wallet/top_ups.h's. Each ask sends the top-up's own key
// (wallet::provider_key) with exactly the card token it was first sent with (sealed in its row),
// so asking again after a lost answer charges once and credits once, even if the office manager
// has changed cards meanwhile: the provider answers a repeated key as the first time, and refuses
// one reused with another card although it may have charged the first.
//
// Who asks: the portal, when the office manager submits (and, before a new top-up, for her own
// that were left pending); and billing's ChargeScheduler in each round, for every top-up left
// pending longer than kStalePendingTopUpUs, whoever begun it: an answer lost on the way back
// (the provider unreachable, a node's crash) is settled within a round even if nobody submits
// again. A top-up begun before schema 25 holds no token: it is sent with its office manager's
// current card (read under purpose billing, audited member.read_payment_token), as before.
//
// Thread-safety: free functions, safe from any thread if the provider is (all state is in the
// store); two askers of one top-up at once credit it once (wallet::credit_top_up).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "billing/payments.h"
#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"
#include "wallet/top_ups.h"

namespace privox::billing {

// A top-up pending longer than this has lost its answer: a live request has long had its own.
inline constexpr int64_t kStalePendingTopUpUs = 60'000'000;

// Asks the provider for `top_up` (pending) and records the answer: succeeded and credited, declined,
// or failed; still pending when the provider is unavailable. `current_card` is sent only for a
// top-up that holds no card of its own (begun before schema 25). Errors: the store's and
// wallet::credit_top_up's; a decline, a refusal or an unavailable provider are results.
Result<wallet::TopUp> settle_top_up(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                    PaymentProvider& provider, const wallet::TopUp& top_up,
                                    const std::string& current_card, const std::string& actor);

struct TopUpRun {
  size_t asked = 0, succeeded = 0, declined = 0, failed = 0, pending = 0, errors = 0;
};

// Every company's top-ups pending longer than kStalePendingTopUpUs, asked again, oldest first and
// at most `limit`. One failure is counted and logged (ids only), and the others still run; `stop`
// is read between top-ups.
Result<TopUpRun> settle_stale_top_ups(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                      PaymentProvider& provider, const std::string& actor, size_t limit = 500,
                                      const std::atomic<bool>* stop = nullptr);

}  // namespace privox::billing
