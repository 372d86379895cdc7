#pragma once
// Anonymising traffic records (ePrivacy Art. 6): once the billing dispute period has passed, a
// record keeps only what statistics and billing totals need. Its parties are cut to prefixes
// (numbers/number_prefix.h), its sealed parties and equipment are cleared, and its subject becomes
// kAnonymisedSubject; company, direction, kind, times, duration, outcome and trunk stay. The
// retention job (retention/retention.h) anonymises in batches over the order records fall due;
// erasing a member (erasure/) anonymises their lines' records that are already due. Both go
// through anonymise_where's one rule, so a record is anonymised the same way whoever asks.
//
// Thread-safety: an Anonymiser belongs to one thread (it caches unwrapped line keys for a run).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::traffic {

// The subject_id of an anonymised traffic record: no line, no member.
inline constexpr std::string_view kAnonymisedSubject = "anonymised";

// A record's place in the order records fall due: (ended_at_us, id).
struct DueKey {
  int64_t ended_at_us = 0;
  std::string id;
};

class Anonymiser {
 public:
  // `now_us` is written as each record's anonymised_at_us.
  Anonymiser(const privacy::Keyring& keys, int64_t now_us) : keys_(keys), now_us_(now_us) {}

  // The key of the `limit`th record due (ended before `cutoff_us`, not yet anonymised) after
  // `after`, or of the last due one when fewer are left; nullopt when none is.
  static Result<std::optional<DueKey>> batch_end(store::Session& s, int64_t cutoff_us, const DueKey& after,
                                                 size_t limit);
  // The subjects among `held` that have records in (from, to], sorted.
  static Result<std::vector<std::string>> held_in(store::Session& s, const DueKey& from, const DueKey& to,
                                                  const std::vector<std::string>& held);
  // Anonymises the records in (from, to] whose subject is not in `held`; returns how many.
  Result<int64_t> anonymise_range(store::Session& s, const DueKey& from, const DueKey& to,
                                  const std::vector<std::string>& held);
  // Anonymises the records of these lines that ended before `cutoff_us`; returns how many.
  Result<int64_t> anonymise_lines(store::Session& s, const std::vector<std::string>& lines, int64_t cutoff_us);

 private:
  // The one rule: every not yet anonymised record matching `condition` (SQL over
  // traffic_records' columns, with its parameters) is anonymised.
  Result<int64_t> anonymise_where(store::Session& s, const std::string& condition, const store::Params& params);
  Result<int64_t> anonymise_prefixed(store::Session& s, const std::string& condition, const store::Params& params);
  Result<int64_t> anonymise_unprefixed(store::Session& s, const std::string& condition, const store::Params& params);
  Result<const privacy::SecretKey*> key_for(store::Session& s, const std::string& subject);
  Status apply(store::Session& s, const std::vector<store::Params>& updates) const;

  const privacy::Keyring& keys_;
  const int64_t now_us_;
  std::unordered_map<std::string, std::optional<privacy::SecretKey>> keys_cache_;
};

// What a line's records look like to an erasure: how many are still inside the dispute period
// (kept raw until it ends) and when the last of them ends it.
struct KeptRecords {
  int64_t count = 0;
  int64_t latest_end_us = 0;
};
Result<KeptRecords> records_not_yet_due(store::Session& s, const std::vector<std::string>& lines, int64_t cutoff_us);

// ---- the member-facing call log's limits (P7) ----

// Hides up to `limit` records that started before `cutoff_us` from the call log; returns how many.
Result<int64_t> hide_from_log_older_than(store::Session& s, int64_t cutoff_us, size_t limit, int64_t now_us);
// Up to `limit` lines after `after` (in id order) whose log shows more than `max_entries` entries.
Result<std::vector<std::string>> lines_over_log_limit(store::Session& s, const std::string& after, int64_t max_entries,
                                                      size_t limit);
// Hides the line's entries beyond the newest `max_entries` from its log; returns how many.
Result<int64_t> hide_from_log_beyond(store::Session& s, const std::string& line, int64_t max_entries, int64_t now_us);

}  // namespace privox::traffic
