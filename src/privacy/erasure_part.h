#pragma once
// A subsystem's part in erasing a member (P13's erasure, P14's closed accounts). There is one
// erasure path (erasure/erasure.h): it checks legal holds once, then runs every participant
// installed here, in one write transaction, and destroys the member's key last. Each subsystem
// that holds something of a member declares its participant beside its own code (it erases,
// anonymises or keeps what it owns and says so in items); the composition root (app/registry.h)
// installs them all. A new subsystem joins erasure by adding a participant, without changing the
// erasure code.
//
// Thread-safety: install once, before threads start; participants run on the erasing thread.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::privacy {

// What became of one kind of the member's data, for the erasure report (P13: erased, anonymised,
// or kept under a named exception).
struct ErasureItem {
  std::string item = {};       // what, in words: "member field email", "optional data contacts"
  std::string outcome = {};    // "erased", "anonymised" or "kept"
  int64_t count = -1;     // how many, where counting means something; -1: not counted
  std::string how = {};        // erased: how (the key destroyed, rows deleted)
  std::string exception = {};  // kept: the exception that keeps it (a legal obligation, the dispute period)
  std::string until = {};      // kept: the UTC date the keeping ends, when it does
  std::string then = {};       // kept: what happens at `until` ("anonymised", "erased")
};
nlohmann::json to_json(const ErasureItem& item);

struct ErasureSubject {
  std::string member_id;
  std::string company_id;
  std::vector<std::string> lines;  // the phone lines assigned to the member when erasure began
};

// What a participant works with: the erasure's own write transaction.
struct ErasureContext {
  store::Store& store;  // for settings read through the transaction (store::Settings)
  store::Session& tx;
  const Keyring& keys;
  int64_t now_us;
  const std::string& actor;
};

// Erases, anonymises or keeps what the participant's subsystem holds of the subject, and reports
// it. An error rolls the whole erasure back.
using ErasureParticipant = Result<std::vector<ErasureItem>> (*)(const ErasureSubject& subject,
                                                                 const ErasureContext& context);
struct ErasureParticipantSpec {
  std::string_view name;  // the subsystem, for errors and tests
  ErasureParticipant erase;
};

// Installs the participants, in the order they run (the member's own record last).
void install_erasure_participants(std::vector<ErasureParticipantSpec> participants);
const std::vector<ErasureParticipantSpec>& erasure_participants();

}  // namespace privox::privacy
