#pragma once
// Problem: a company's international calls are prepaid (issue 17: "an international wallet with
// spend caps"), so every change of its balance must be accounted for, and a call's cost taken
// exactly once however often its debit is retried.
//
// Each company may hold one wallet: a balance in one currency and an optional daily spend cap.
// Every balance change is a row of the ledger (a top-up, an operator's adjustment, or the debit of
// one international call naming its traffic record), written in the same transaction that moves
// the balance and appends its audit entry (purpose billing, by actor), so the balance always equals
// the sum of the ledger. Amounts are millionths of the currency, as rating/ prices calls, so a
// debit equals the call's cost without rounding; amount_text() shows them to people.
//
// Today's spend is the sum of the company's call debits since 00:00 UTC (the company's day is the
// UTC day, whatever its country).
//
// Thread-safety: free functions, safe from any thread (all state is in the store).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::wallet {

struct Wallet {
  std::string company_id;
  std::string currency;  // "" until the first top-up
  int64_t balance_micros = 0;
  std::optional<int64_t> daily_cap_micros;
  int64_t spent_today_micros = 0;  // call debits since 00:00 UTC
};

struct LedgerEntry {
  std::string id, kind;  // kind: top_up, call or adjustment
  int64_t amount_micros = 0, balance_after_micros = 0;
  std::string currency, traffic_record_id, note, actor;
  int64_t at_us = 0;
};

// One call's debit, as the SIP side reports a priced international call's end.
struct Debit {
  std::string traffic_record_id, company_id, currency;
  int64_t cost_micros = 0;
};

// Adds `amount_micros` (> 0) to the company's balance, audited `wallet.top_up`. `currency`: the
// wallet's, or empty for it; a wallet's first top-up sets it. Errors: invalid on "amount" (not
// positive, or the balance would overflow), invalid on "currency" (not three capital letters, none
// given for a new wallet, or not the wallet's), not_found on "company".
Result<LedgerEntry> top_up(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                           const std::string& company_id, int64_t amount_micros, const std::string& currency,
                           const std::string& actor);
// The same in the caller's transaction (wallet/top_ups.cpp credits a card top-up with its state change).
Result<LedgerEntry> top_up(store::Session& s, const privacy::Keyring& keys, const Clock& clock,
                           const std::string& company_id, int64_t amount_micros, const std::string& currency,
                           const std::string& actor);
// The operator's correction, positive or negative (never zero), with a reason; audited
// `wallet.adjust`. Errors: invalid on "amount" or "note" (empty or over 200 characters), invalid on
// "currency" when the wallet has none yet, not_found on "company".
Result<LedgerEntry> adjust(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                           const std::string& company_id, int64_t amount_micros, const std::string& note,
                           const std::string& actor);
// Sets (or with nullopt removes) the daily spend cap, audited `wallet.cap_set`. Errors: invalid on
// "cap" when negative, not_found on "company".
Status set_cap(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const std::string& company_id,
               std::optional<int64_t> cap_micros, const std::string& actor);
// The company's wallet as it stands (a company without one: balance 0, no cap). Errors: not_found
// on "company".
Result<Wallet> wallet_of(store::Store& store, const Clock& clock, const std::string& company_id);
// The company's ledger, newest first, at most `limit` rows.
Result<std::vector<LedgerEntry>> ledger_of(store::Store& store, const std::string& company_id, size_t limit = 1000);

// What became of one call's debit in debit_calls().
enum class DebitOutcome { debited, already_debited, other_currency, not_positive, out_of_range };

// Debits a batch of calls in `s`: one ledger row per call, and per company one balance update and
// one audit entry (`wallet.debit`, actor `actor`) naming the amount, the number of calls and the
// ledger rows by their range of seq. Under load the keeper commits hundreds of debits at once, and
// an audit-chain append per call was most of its cost; the ledger rows still name each call.
// Idempotent per traffic record: a call already debited is not again. A call priced in another
// currency than the wallet's, not priced above zero, or that would take the balance out of the
// range a wallet holds, is skipped (the proxy refuses the first at set-up). Returns one outcome
// per debit, in order; errors: the store's.
Result<std::vector<DebitOutcome>> debit_calls(store::Session& s, const privacy::Keyring& keys, const Clock& clock,
                                              const std::vector<Debit>& debits, const std::string& actor);

// Debits one call, in one transaction with its audit entry, as debit_calls().
// Returns false when its record was already debited, true when it was debited now. Errors: invalid
// on "amount" when not positive or out of range, invalid on "currency" when it is not the wallet's;
// store errors.
Result<bool> debit_call(store::Session& s, const privacy::Keyring& keys, const Clock& clock, const Debit& debit,
                        const std::string& actor);
Result<bool> debit_call(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Debit& debit,
                        const std::string& actor);

// The traffic records of the company's calls debited from its wallet at or after `since_us`. The
// prepaid balance has paid them, so an invoice leaves them out (billing/invoices.cpp).
Result<std::unordered_set<std::string>> prepaid_calls(store::Session& s, const std::string& company_id,
                                                      int64_t since_us);

// Every wallet, with today's spend (for the SIP side's view, wallet/book.h).
Result<std::vector<Wallet>> all_wallets(store::Session& s, int64_t now_us);

// As the CLI and the API show them: amounts as text ("12.50") and in micros, times in UTC.
nlohmann::json to_json(const Wallet& wallet);
nlohmann::json to_json(const LedgerEntry& entry);

// Start of the UTC day holding `us`.
int64_t day_start_us(int64_t us);
// "12.50", "-0.016": micros as a decimal amount, trailing zeros past the cents dropped.
std::string amount_text(int64_t micros);
// "12.50", "-3", "0.016" as micros (at most 6 decimals); nullopt when not such an amount.
std::optional<int64_t> parse_signed_amount(std::string_view text);

}  // namespace privox::wallet
