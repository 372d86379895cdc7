// ledgers/'s part in erasing a member (privacy/erasure_part.h): the disclosure register keeps its
// entries, which name the member by id only.
#include "ledgers/module.h"

namespace privox::ledgers {
namespace {

Result<std::vector<privacy::ErasureItem>> erase(const privacy::ErasureSubject& subject,
                                                const privacy::ErasureContext& context) {
  PRIVOX_ASSIGN(store::Rows rows, context.tx.query("SELECT count(*) FROM disclosure_subjects WHERE subject_id = ?",
                                                   {subject.member_id}));
  const int64_t entries = rows[0].i64(0);
  if (entries == 0) return std::vector<privacy::ErasureItem>{};
  return std::vector<privacy::ErasureItem>{
      {.item = "disclosure register entries",
       .outcome = "kept",
       .count = entries,
       .exception = "the register of disclosures to third parties (legal obligation, P9); entries name the member "
                    "by id only"}};
}

}  // namespace

privacy::ErasureParticipantSpec erasure_participant() { return {"ledgers", erase}; }

}  // namespace privox::ledgers
