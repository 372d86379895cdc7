#pragma once
// A line's call forwarding and do-not-disturb (issue 15), one row per line that has any
// (`line_forwarding`):
//   always        every call goes to the target; the line's phones do not ring;
//   busy          every device answered busy (486/600), or do-not-disturb is on;
//   no_answer     nobody answered within `no_answer_seconds`;
//   unregistered  no device is registered.
// A condition without a target keeps the line's own treatment (its voicemail box, or the
// failure). Do-not-disturb sends calls to the busy treatment without ringing.
//
// Loops: a change that would make `always` forwards run in a circle (A->B->A, through lines and
// ring groups' overflow) is refused naming the field; what slips past (a chain through busy or
// no-answer forwards) is cut at run time by the proxy's hop limit (483).
//
// An external target's number is sealed under the line's subject key; it appears in the line's
// member's access export and goes with the line's key on erasure (crypto-shredding). Every change
// is one transaction with its audit entry (ids and which conditions changed, never the number)
// and a directory change for the line, so every node's proxy uses it within a second.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <optional>
#include <string>
#include <vector>

#include "callflow/targets.h"
#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::callflow {

inline constexpr int kMinNoAnswerSeconds = 5;
inline constexpr int kMaxNoAnswerSeconds = 120;
inline constexpr int kDefaultNoAnswerSeconds = 20;

struct Forwarding {
  bool dnd = false;
  std::optional<Target> always, busy, no_answer, unregistered;
  int no_answer_seconds = kDefaultNoAnswerSeconds;
  bool operator==(const Forwarding&) const = default;
  bool any() const { return dnd || always || busy || no_answer || unregistered; }
};

struct LineForwarding {
  std::string line_id;
  Forwarding forwarding;
};

// What the SIP directory loader reads: every line's forwarding, and one line's (nullopt: none),
// external numbers opened with the line's key (a line whose key is gone has its external targets
// dropped).
Result<std::vector<LineForwarding>> all_forwarding(store::Session& s, const privacy::Keyring& keys);
Result<std::optional<Forwarding>> forwarding_of(store::Session& s, const privacy::Keyring& keys,
                                                const std::string& line_id);

class Forwardings {
 public:
  Forwardings(store::Store& store, const privacy::Keyring& keys, const Clock& clock);
  // The line's forwarding (all off when it has none); not_found when the line does not exist.
  Result<Forwarding> get(const std::string& line_id);
  // Replaces the line's forwarding. Errors name the field: `line` not found; `<condition>` a
  // target of another company, a deleted line or group, or a loop (conflict);
  // `no_answer_seconds` out of range.
  Status set(const std::string& line_id, const Forwarding& forwarding, const std::string& actor);
  // Do-not-disturb alone (the phone's feature codes and the portal's switch).
  Status set_dnd(const std::string& line_id, bool on, const std::string& actor);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
};

}  // namespace privox::callflow
