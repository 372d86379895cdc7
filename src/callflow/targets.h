#pragma once
// Where a call can be sent when the line or group it was made to does not take it (issue 15):
// another line of the company, a ring group, a line's voicemail box, or a number on the public
// network through the trunk. Targets are stored by id, so renumbering a line never silently
// re-points a forward; people name them by number (the portal, the CLI), which resolve_target()
// turns into ids within one company.
//
// An external target's number is personal data when it is a member's own mobile: a line's
// forwarding seals it under the line's subject key (callflow/forwarding.h). A ring group's
// overflow number is the company's configuration and names no person.
//
// Thread-safety: free functions working in the caller's transaction.

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/store.h"

namespace privox::callflow {

enum class TargetKind : uint8_t { line, group, voicemail, external };
std::string_view to_string(TargetKind kind);
// "line", "group", "voicemail" or "external"; nullopt for anything else.
std::optional<TargetKind> parse_target_kind(std::string_view text);

struct Target {
  TargetKind kind = TargetKind::line;
  // line: the line's id; group: the group's id; voicemail: the id of the line whose box takes the
  // call; external: the number in E.164.
  std::string ref;
  bool operator==(const Target&) const = default;
};

// A target as a person names it: `number` is a line's or group's number within the company, the
// number of the line whose box takes the call, or an external number in national (read in the
// company's country) or international form. Errors name `field` (e.g. "busy.number"): invalid
// when malformed or when an external number is premium-rate or not a valid number, not_found when
// no line or group of `company_id` has the number.
Result<Target> resolve_target(store::Session& s, const std::string& company_id, TargetKind kind,
                              std::string_view number, std::string_view field);

// The number a person would name the target by (a line's or group's number, E.164 for external),
// for showing; the target's ref when what it names is gone.
Result<std::string> target_number(store::Session& s, const Target& target);

}  // namespace privox::callflow
