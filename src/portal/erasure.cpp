// portal/'s part in erasing a member (privacy/erasure_part.h): their login and every session, so
// an erased member can no longer log in, and any change of email waiting for its link.
#include "portal/auth.h"
#include "portal/confirmations.h"
#include "portal/module.h"

namespace privox::portal {
namespace {

Result<std::vector<privacy::ErasureItem>> erase(const privacy::ErasureSubject& subject,
                                                const privacy::ErasureContext& context) {
  PRIVOX_TRY(delete_confirmations_of(context.tx, subject.member_id));  // a change of email not yet confirmed
  PRIVOX_ASSIGN(const bool had_login, Auth::delete_login(context.tx, subject.member_id));
  if (!had_login) return std::vector<privacy::ErasureItem>{};
  return std::vector<privacy::ErasureItem>{{.item = "portal login and sessions",
                                            .outcome = "erased",
                                            .how = "the login, its password hash and every session are deleted"}};
}

}  // namespace

privacy::ErasureParticipantSpec erasure_participant() { return {"portal", erase}; }

}  // namespace privox::portal
