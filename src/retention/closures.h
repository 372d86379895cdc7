#pragma once
// Account closure (P14): a member's account is closed now and their personal data erased after
// the operator's grace period (setting retention.closed_account_grace_days), when the
// closed-accounts retention job (retention/retention.h) erases them through the one erasure path
// (erasure/erasure.h), unless a legal hold names them.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <optional>
#include <string>
#include <vector>

#include "accounts/company_closure.h"
#include "common/clock.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::retention {

struct Closure {
  std::string member_id;
  int64_t closed_at_us = 0;
  std::string closed_by;
  int64_t erased_at_us = 0;  // 0: not erased yet
  bool already_closed = false;  // close_account found it closed and changed nothing
};

// Closes the member's account with an audit entry "member.close", in one transaction. Closing an
// account that is already closed changes nothing and returns the first closure (already_closed).
// Errors: invalid_argument (field "id") for a malformed id, not_found for an unknown member,
// erased for a member who was already erased.
Result<Closure> close_account(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                              const std::string& member_id, const std::string& actor);

// The same inside the caller's write transaction (a company's closure closes every member's).
Result<Closure> close_account(store::Session& s, const privacy::AuditChain& audit, const std::string& member_id,
                              int64_t now_us, const std::string& actor);

// The closure of one member; nullopt when their account is open.
Result<std::optional<Closure>> find_closure(store::Session& s, const std::string& member_id);

// Closing a company (accounts/company_closure.h) as its office manager or the operator asks:
// scheduled with the notice period retention.company_closure_notice_days (or the operator's own),
// audited as "company.closure_schedule" and "company.closure_cancel". The company_closures
// retention job ends the service when the notice is over.
class CompanyClosures {
 public:
  CompanyClosures(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), clock_(clock), audit_(keys, clock) {}

  // `notice_days` overrides the setting (the operator's CLI; 0 ends the service at the job's next
  // run). Errors: `company` malformed, not_found, or conflict when already closing or closed.
  Result<accounts::CompanyClosure> schedule(const std::string& company_id, const std::string& actor,
                                            std::optional<int64_t> notice_days = std::nullopt);
  // conflict on "company" when no closure is scheduled or the service already ended.
  Status cancel(const std::string& company_id, const std::string& actor);
  Result<accounts::CompanyClosure> get(const std::string& company_id);

 private:
  store::Store& store_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::retention
