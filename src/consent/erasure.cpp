// consent/'s part in erasing a member (privacy/erasure_part.h): optional data goes, the consent
// ledger stays as proof.
#include <fmt/format.h>

#include "consent/consent.h"
#include "consent/module.h"
#include "consent/optional_data.h"

namespace privox::consent {
namespace {

Result<std::vector<privacy::ErasureItem>> erase(const privacy::ErasureSubject& subject,
                                                const privacy::ErasureContext& context) {
  std::vector<privacy::ErasureItem> items;
  for (OptionalKind kind : kOptionalKinds) {
    PRIVOX_ASSIGN(const bool removed, OptionalData::delete_kind(context.tx, subject.member_id, kind));
    if (removed) items.push_back({.item = fmt::format("optional data {}", to_string(kind)), .outcome = "erased"});
  }
  PRIVOX_ASSIGN(const int64_t records, ConsentLedger::count_records(context.tx, subject.member_id));
  if (records > 0)
    items.push_back({.item = "consent records",
                     .outcome = "kept",
                     .count = records,
                     .exception = "proof of consent (legal obligation); they hold ids and decisions, no contact data"});
  return items;
}

}  // namespace

privacy::ErasureParticipantSpec erasure_participant() { return {"consent", erase}; }

}  // namespace privox::consent
