// portal/'s part in erasing a member (privacy/erasure_part.h): their login and every session, so
// an erased member can no longer log in, and any change of email waiting for its link. It also
// refuses to erase a company's only office manager while the company goes on: nobody could run it
// afterwards (issue 13). Being a participant, the refusal holds for every way of erasing.
#include <fmt/format.h>

#include "accounts/company_closure.h"
#include "portal/auth.h"
#include "portal/confirmations.h"
#include "portal/module.h"

namespace privox::portal {
Status refuse_erasing_last_office_manager(store::Session& s, const std::string& member_id,
                                         const std::string& company_id) {
  PRIVOX_ASSIGN(const bool last, Auth::is_last_office_manager(s, member_id));
  if (!last) return {};
  PRIVOX_ASSIGN(const accounts::CompanyClosure closure, accounts::company_closure(s, company_id));
  if (closure.scheduled() || closure.closed()) return {};
  return Error{ErrorCode::conflict, "office_manager",
               fmt::format("member {} is the only office manager of company {}: make another member an office "
                           "manager, or close the company, before erasing them",
                           member_id, company_id)};
}

namespace {

Result<std::vector<privacy::ErasureItem>> erase(const privacy::ErasureSubject& subject,
                                                const privacy::ErasureContext& context) {
  PRIVOX_TRY(refuse_erasing_last_office_manager(context.tx, subject.member_id, subject.company_id));
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
