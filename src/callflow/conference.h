#pragma once
// Conference bridges (issue 15): rooms people dial into and talk together, mixed by privox's media
// endpoint (sip/proxy_conference.cpp). A company has any number of rooms of its own, each with a
// number in the company's plan and optionally a public number (DID); each line may have one room
// of its own, dialled from the company's phones as `*88` followed by the line's number, and
// optionally reachable from outside at a DID too. Every room has a PIN of 4 to 12 digits that a
// caller keys in before joining.
//
// A PIN is a shared secret the host hands out, so the portal shows it back to those who may manage
// the room: it is sealed (not hashed) under the room's own key, read back audited, compared in
// constant time by the proxy, and never in an audit entry, log or error message. A room is a
// privacy subject of its own (privacy::subject_keys): its calls' parties are sealed under its key,
// which outlives the room, as its traffic records must (as a receptionist's).
//
// A room's number shares the company's plan with its lines, ring groups and receptionists, and its
// DID the public numbers of every line and receptionist (callflow/target_checks.h checks both ways
// among groups, receptionists and rooms; accounts/ sits below this folder, so a line created later
// with a room's number or DID is not refused there, as with receptionists). Every change is one transaction with its
// audit entry (ids only), a directory change of kind `conference` naming the room's id (so every
// node's proxy uses it within a second) and a lock on the company's row.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::callflow {

inline constexpr size_t kMinConferencePin = 4;
inline constexpr size_t kMaxConferencePin = 12;
inline constexpr size_t kMaxConferenceName = 60;
// A line's own room is dialled as this code followed by the line's number.
inline constexpr std::string_view kLineRoomCode = "*88";

struct ConferenceRoom {
  std::string id, company_id;
  std::optional<std::string> line_id;  // a line's own room; nullopt: one of the company's rooms
  // A company room's number (2-8 digits, unique in the company among lines, groups, receptionists
  // and rooms); empty for a line's room, which is dialled as kLineRoomCode + the line's number.
  std::string number;
  std::string name;                // not personal data
  std::optional<std::string> did;  // E.164; unique among lines', receptionists' and rooms' DIDs
  bool operator==(const ConferenceRoom&) const = default;
};

// For the SIP directory loader (no PIN, no audit).
Result<std::vector<ConferenceRoom>> all_rooms(store::Session& s);
Result<std::optional<ConferenceRoom>> room_by_id(store::Session& s, const std::string& id);
// The room's PIN for the proxy to compare what a caller keys in (not audited: the service itself
// reads it); nullopt when the room is gone.
Result<std::optional<std::string>> pin_for_caller(store::Session& s, const privacy::Keyring& keys,
                                                  const std::string& room_id);

// A company's service ended: its rooms go with its lines (their DIDs are free again). Inside the
// caller's transaction, with a directory change for each; returns how many went.
Result<int64_t> remove_company_rooms(store::Session& s, const std::string& company_id, int64_t now_us);
// The rooms of these lines go: when the lines' member is erased, and when a line is removed
// (callflow/erasure.cpp: the member's erasure and accounts/' line-removal seam), so no room is left
// on a line that is gone. Inside the caller's transaction, with a directory change for each;
// returns how many went. The rooms' keys stay, as on remove().
Result<int64_t> remove_line_rooms(store::Session& s, const std::vector<std::string>& line_ids, int64_t now_us);

class Conferences {
 public:
  Conferences(store::Store& store, const privacy::Keyring& keys, const Clock& clock);

  // Errors name the field: `company`, `line` (not found, of another company, or already has a
  // room), `number` (format; required for a company room and refused for a line's; conflict when
  // a line, group, receptionist or room of the company has it), `name`, `did` (not a valid number;
  // conflict when a line, receptionist or room has it), `pin` (4-12 digits).
  Result<std::string> create(const ConferenceRoom& room, const std::string& pin, const std::string& actor);
  // Everything but id, company_id and line_id; the PIN only when `pin` is given.
  Status update(const ConferenceRoom& room, const std::optional<std::string>& pin, const std::string& actor);
  Status remove(const std::string& id, const std::string& actor);
  Result<ConferenceRoom> find(const std::string& id);
  Result<std::vector<ConferenceRoom>> list(const std::string& company_id);
  // The line's own room, if it has one.
  Result<std::optional<ConferenceRoom>> for_line(const std::string& line_id);
  // The PIN for someone who manages the room to see (audited `conference.pin_read`).
  Result<std::string> pin(const std::string& id, const std::string& actor);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
};

}  // namespace privox::callflow
