#pragma once
// Ring groups (issue 15): a number in a company's plan that rings several lines, all at once, in
// order, or in turn starting after whoever the last call started with (round robin), each step
// for `ring_seconds`, then overflows to a target (a voicemail box, another group, a line, an
// external number) or fails busy when it has none. Members are lines of the same company; a line
// removed leaves every group it was in.
//
// A group's number shares the company's number plan with its lines: a group may not take a
// line's number. (accounts/ sits below this folder and does not know groups: a line created
// later with a group's number wins, and the group is reached only through forwards and menus.)
//
// Every change is one transaction with its audit entry (ids only) and a directory change of kind
// ring_group, so every node's proxy uses it within a second.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "callflow/targets.h"
#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::callflow {

enum class Strategy : uint8_t { simultaneous, sequential, round_robin };
std::string_view to_string(Strategy strategy);
// "simultaneous", "sequential" or "round_robin"; nullopt for anything else.
std::optional<Strategy> parse_strategy(std::string_view text);

inline constexpr int kMinRingSeconds = 5;
inline constexpr int kMaxRingSeconds = 120;
inline constexpr size_t kMaxGroupMembers = 50;
inline constexpr size_t kMaxGroupName = 60;

struct RingGroup {
  std::string id, company_id;
  std::string number;  // 2-8 digits, unique in the company among lines, groups, receptionists and conference rooms
  std::string name;    // what the portal shows; not personal data
  Strategy strategy = Strategy::simultaneous;
  int ring_seconds = 20;  // per step; for simultaneous, the whole ring
  std::vector<std::string> member_line_ids;  // in ringing order
  std::optional<Target> overflow;
  bool operator==(const RingGroup&) const = default;
};

// For the SIP directory loader.
Result<std::vector<RingGroup>> all_groups(store::Session& s);
Result<std::optional<RingGroup>> group_by_id(store::Session& s, const std::string& id);

class RingGroups {
 public:
  RingGroups(store::Store& store, const privacy::Keyring& keys, const Clock& clock);
  // Creates a group and returns its id. Errors name the field: `company`, `number` (format;
  // conflict when a line, group, receptionist or conference room of the company has it), `name`,
  // `ring_seconds`, `members` (empty, too many, a line of another company or not found, a line
  // twice), `overflow` (as callflow/forwarding.h's targets; a group overflowing into itself is a
  // conflict).
  Result<std::string> create(const RingGroup& group, const std::string& actor);
  // Replaces everything but id and company_id; the same errors.
  Status update(const RingGroup& group, const std::string& actor);
  // Refused (conflict, naming `group`) while a line's forwarding or another group's overflow
  // points at it.
  Status remove(const std::string& id, const std::string& actor);
  Result<RingGroup> find(const std::string& id);
  Result<std::vector<RingGroup>> list(const std::string& company_id);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
};

}  // namespace privox::callflow
