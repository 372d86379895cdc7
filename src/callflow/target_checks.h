#pragma once
// What forwarding.cpp and groups.cpp share when they check a target a person set: that it names
// something of the same company, that an external number may be called, and that `always`
// forwards and groups' overflows do not run in a circle; and what groups, receptionists and
// conference rooms share when they take a number: that no other of them, and no line, has it.
// Internal to callflow/.
//
// Thread-safety: free functions working in the caller's transaction.

#include <cstddef>
#include <cstdint>
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

// The name of a menu, receptionist or conference room as a group's: one line, trimmed, no card
// number, at most `max` characters; invalid on "name", never quoting it back.
Status check_config_name(const std::string& name, size_t max);

// What, besides the company's lines, holds a number of its plan or a public number (DID).
enum class NumberHolder : uint8_t { group, receptionist, conference };
// The holder being written, so that it does not clash with its own stored number (a new one's id
// is not stored yet).
struct NumberOwner {
  NumberHolder kind = NumberHolder::group;
  std::string id;
};

// The number free in the company's plan for `owner`: conflict on "number", naming what has it,
// when a line, ring group, receptionist or conference room of the company has it.
Status check_plan_number_free(store::Session& s, const std::string& company_id, const std::string& number,
                              const NumberOwner& owner);

// The DID (E.164, as stored) free for `owner`: conflict on "did" when a line, receptionist or
// conference room has it. Never quotes the number back.
Status check_did_free(store::Session& s, const std::string& e164, const NumberOwner& owner);

}  // namespace privox::callflow
