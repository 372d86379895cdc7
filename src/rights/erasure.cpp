// rights/'s part in erasing a member (privacy/erasure_part.h): requests stay as proof of how they
// were answered; the corrections they held were sealed under the member's key and go with it.
#include "rights/module.h"

namespace privox::rights {
namespace {

Result<std::vector<privacy::ErasureItem>> erase(const privacy::ErasureSubject& subject,
                                                const privacy::ErasureContext& context) {
  PRIVOX_ASSIGN(store::Rows rows,
                context.tx.query("SELECT count(*) FROM rights_requests WHERE member_id = ?", {subject.member_id}));
  const int64_t requests = rows[0].i64(0);
  if (requests == 0) return std::vector<privacy::ErasureItem>{};
  return std::vector<privacy::ErasureItem>{
      {.item = "rights requests",
       .outcome = "kept",
       .count = requests,
       .exception = "proof of how rights requests were answered (legal obligation); corrections they held were "
                    "sealed under the member's key and are erased with it"}};
}

}  // namespace

privacy::ErasureParticipantSpec erasure_participant() { return {"rights", erase}; }

}  // namespace privox::rights
