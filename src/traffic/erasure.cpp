// traffic/'s part in erasing a member (privacy/erasure_part.h). Traffic records are the line's
// (the company's) and sealed under the line's key, not the member's. Those whose billing dispute
// period has passed are anonymised now, by the rule the retention job applies (anonymise.h); the
// others are kept raw until their period ends, counted from the call's end, and anonymised then.
#include <fmt/format.h>

#include "common/clock.h"
#include "store/settings.h"
#include "traffic/anonymise.h"
#include "traffic/module.h"

namespace privox::traffic {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;

Result<std::vector<privacy::ErasureItem>> erase(const privacy::ErasureSubject& subject,
                                                const privacy::ErasureContext& context) {
  std::vector<privacy::ErasureItem> items;
  if (subject.lines.empty()) return items;
  PRIVOX_ASSIGN(const int64_t dispute_days,
                store::Settings(context.store).integer(context.tx, "retention.dispute_period_days"));
  const int64_t cutoff = context.now_us - dispute_days * kDayUs;
  PRIVOX_ASSIGN(const KeptRecords kept, records_not_yet_due(context.tx, subject.lines, cutoff));
  Anonymiser anonymiser(context.keys, context.now_us);
  PRIVOX_ASSIGN(const int64_t anonymised, anonymiser.anonymise_lines(context.tx, subject.lines, cutoff));
  if (kept.count > 0)
    items.push_back({.item = "traffic records within the billing dispute period",
                     .outcome = "kept",
                     .count = kept.count,
                     .exception = fmt::format("billing dispute period ({} days from the end of each call): kept raw "
                                              "in case a bill is disputed",
                                              dispute_days),
                     .until = format_date(utc_date(kept.latest_end_us + dispute_days * kDayUs)),
                     .then = "anonymised"});
  if (anonymised > 0)
    items.push_back({.item = "traffic records past the billing dispute period",
                     .outcome = "anonymised",
                     .count = anonymised});
  return items;
}

}  // namespace

privacy::ErasureParticipantSpec erasure_participant() { return {"traffic", erase}; }

}  // namespace privox::traffic
