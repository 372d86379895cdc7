#pragma once
// What forwarding.cpp and groups.cpp share when they check a target a person set: that it names
// something of the same company, that an external number may be called, and that `always`
// forwards and groups' overflows do not run in a circle. Internal to callflow/.
//
// Thread-safety: free functions working in the caller's transaction.

#include <string>
#include <string_view>

#include "callflow/targets.h"
#include "common/result.h"
#include "store/store.h"

namespace privox::callflow {

// The company's country (ISO 3166), for reading national numbers. not_found on `field`.
Result<std::string> company_country(store::Session& s, const std::string& company_id, std::string_view field);

// The external number in E.164 when it is a valid number read in `country` that is not
// premium-rate or shared-cost; invalid on `field` otherwise, never quoting the number back (it may
// be a member's own mobile).
Result<std::string> check_external_number(std::string_view number, std::string_view country, std::string_view field);

// The target as it will be stored: a line, group or voicemail box of `company_id` (not_found on
// `field` when there is none, or it is another company's), or a callable external number.
Result<Target> check_target(store::Session& s, const std::string& company_id, std::string_view country,
                            const Target& target, std::string_view field);

// Where a loop could start: a line (its `always` forward) or a group (its overflow).
struct FlowNode {
  TargetKind kind = TargetKind::line;  // line or group
  std::string id;
};
// Whether following `always` forwards and groups' overflows from `next` comes back to `origin`,
// as it would once `origin` pointed at `next`.
Result<bool> leads_back(store::Session& s, const FlowNode& origin, const Target& next);

}  // namespace privox::callflow
