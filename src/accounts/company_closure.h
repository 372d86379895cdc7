#pragma once
// Closing a company (a tenant) ends its phone service after a notice period (issue 13, item 5):
// an office manager or the operator schedules the closure, and until the service ends it can be
// called off. When it ends (retention's company_closures job, retention/retention.h), every line
// is removed (its registrations dropped and its DID released for reuse) and every member's account
// is closed, so the closed-accounts job erases them after the grace period, as the policy says.
// A closing or closed company takes no new lines or members.
//
// Thread-safety: free functions working in the caller's transaction.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace privox::accounts {

struct CompanyClosure {
  std::string company_id;
  int64_t requested_at_us = 0;     // 0: no closure scheduled
  std::string requested_by;        // the actor that scheduled it
  int64_t service_ends_at_us = 0;  // when the lines go; 0 with requested_at_us
  int64_t closed_at_us = 0;        // when the lines went; 0: service not ended yet

  bool scheduled() const { return requested_at_us != 0 && closed_at_us == 0; }
  bool closed() const { return closed_at_us != 0; }
};

// not_found on "company" for no such company.
Result<CompanyClosure> company_closure(store::Session& s, const std::string& company_id);

// Schedules the end of service `notice_us` from `now_us` (0: the next run of the closure job).
// conflict on "company" when a closure is already scheduled or the company is closed.
Result<CompanyClosure> schedule_company_closure(store::Session& s, const std::string& company_id, int64_t now_us,
                                                int64_t notice_us, const std::string& actor);

// Calls a scheduled closure off. conflict on "company" when none is scheduled or the service has
// already ended (a closed company's data is on its way out; it cannot be reopened).
Status cancel_company_closure(store::Session& s, const std::string& company_id);

// Companies whose service ends at or before `now_us` and has not ended yet, in id order: at most
// `limit` of them, with ids after `after`.
Result<std::vector<std::string>> companies_due_to_close(store::Session& s, int64_t now_us, const std::string& after,
                                                        size_t limit);

// Records that the company's service ended (its lines are gone and its members' accounts closed).
Status mark_company_closed(store::Session& s, const std::string& company_id, int64_t now_us);

// conflict on "company", saying why, when the company is closing or closed: it takes no new lines
// or members. not_found when there is no such company.
Status require_company_open(store::Session& s, const std::string& company_id);

}  // namespace privox::accounts
