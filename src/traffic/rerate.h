#pragma once
// Re-rating a period: the operator's explicit, audited action after a deck was corrected. Every
// answered outbound voice record that began in [since, until) is priced again from `table` as the
// decks stood when the call began, and its cost replaced. Reading the destinations opens sealed
// fields, so it runs under the billing purpose through list_records (one `traffic.list` entry),
// and the change itself is one `traffic.rerate` entry with the period and the counts, never a
// number.
//
// Thread-safety: safe from any thread (all state in the store).

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "rating/rate_table.h"
#include "store/store.h"

namespace privox::traffic {

struct RerateReport {
  int64_t records = 0;   // answered outbound calls in the period
  int64_t changed = 0;   // whose cost changed
  int64_t unrated = 0;   // no rate for the destination at the call's start: cost cleared
  int64_t total_micros = 0;  // the period's cost after re-rating, all currencies added (a check)
};

// Errors: invalid on "period" when until is not after since, or the period is longer than 366
// days; store errors.
Result<RerateReport> rerate(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                            const rating::RateTable& table, int64_t since_us, int64_t until_us,
                            const std::string& company_id, const std::string& actor);

}  // namespace privox::traffic
