#include "callflow/conference.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "accounts/company_closure.h"
#include "accounts/directory_log.h"
#include "accounts/extensions.h"
#include "accounts/validation.h"
#include "callflow/target_checks.h"
#include "common/ids.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::callflow {
namespace {

// The field name the PIN is sealed under, bound into the ciphertext with the room's id.
constexpr std::string_view kRoomPinSealedAs = "conference_pin";

// Company rooms by number first, then the lines' rooms; NULLs sort alike on both backends this way.
constexpr std::string_view kRoomSelect = "SELECT id, company_id, line_id, number, name, did FROM conference_rooms";
constexpr std::string_view kRoomOrder = " ORDER BY company_id, CASE WHEN number IS NULL THEN 1 ELSE 0 END, number, id";

Error no_room(const std::string& id) {
  return Error{ErrorCode::not_found, "conference", fmt::format("no conference room has id {}", id)};
}

store::Value optional_value(const std::optional<std::string>& v) {
  return v ? store::Value(*v) : store::null_value();
}

// ---- reading ----

Result<std::vector<ConferenceRoom>> read_rooms(store::Session& s, std::string_view where, const store::Params& params) {
  PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("{}{}{}", kRoomSelect, where, kRoomOrder), params));
  std::vector<ConferenceRoom> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    ConferenceRoom room;
    room.id = r.text(0);
    room.company_id = r.text(1);
    if (!r.is_null(2)) room.line_id = r.text(2);
    room.number = r.text_or(3, "");
    room.name = r.text(4);
    if (!r.is_null(5)) room.did = r.text(5);
    out.push_back(std::move(room));
  }
  return out;
}

// ---- checking ----

bool is_room_number(std::string_view number) {
  return number.size() >= 2 && number.size() <= 8 &&
         std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// 4 to 12 digits. Never quotes the PIN back, not even its length.
Status check_pin(const std::string& pin) {
  const bool digits = std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || pin.size() < kMinConferencePin || pin.size() > kMaxConferencePin)
    return invalid("pin", fmt::format("must be {} to {} digits", kMinConferencePin, kMaxConferencePin));
  return {};
}

// What needs no store. A line's room is dialled by the line's number, so it has none of its own.
Status check_room_fields(const ConferenceRoom& room) {
  if (room.line_id) {
    PRIVOX_TRY(accounts::check_id("line", *room.line_id));
    if (!room.number.empty())
      return invalid("number", fmt::format("a line's room has no number of its own: it is dialled as {} and the "
                                           "line's number",
                                           kLineRoomCode));
  } else if (!is_room_number(room.number)) {
    return invalid("number", fmt::format("'{}' is not a conference room's number: 2 to 8 digits", room.number));
  }
  PRIVOX_TRY(check_config_name(room.name, kMaxConferenceName));
  if (room.did && room.did->empty()) return invalid("did", "names no number");
  return {};
}

// The line the room is for: the company's, and without a room of its own yet.
Status check_room_line(store::Session& s, const ConferenceRoom& room) {
  PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_id(s, *room.line_id));
  if (!line || line->company_id != room.company_id)
    return Error{ErrorCode::not_found, "line",
                 fmt::format("company {} has no line with id {}", room.company_id, *room.line_id)};
  PRIVOX_ASSIGN(const store::Rows other, s.query("SELECT id FROM conference_rooms WHERE line_id = ? AND id <> ?",
                                                 {*room.line_id, room.id}));
  if (!other.empty())
    return Error{ErrorCode::conflict, "line", fmt::format("line {} already has a conference room", *room.line_id)};
  return {};
}

// What needs the store; returns the room in its stored form (the DID in E.164).
Result<ConferenceRoom> check_room_in_store(store::Session& s, const ConferenceRoom& room, std::string_view country) {
  ConferenceRoom out = room;
  if (room.line_id) {
    PRIVOX_TRY(check_room_line(s, room));
  } else {
    PRIVOX_TRY(check_plan_number_free(s, room.company_id, room.number, {NumberHolder::conference, room.id}));
  }
  if (room.did) {
    auto e164 = accounts::normalise_phone(*room.did, country);
    if (!e164.ok())
      return invalid("did",
                     fmt::format("is not a valid phone number in {} (or in international form, +CC...)", country));
    PRIVOX_TRY(check_did_free(s, *e164, {NumberHolder::conference, room.id}));
    out.did = std::move(e164).value();
  }
  return out;
}

// The audit detail of a change: ids only, never the name, the DID or the PIN.
nlohmann::json room_detail(const ConferenceRoom& room) {
  return {{"room_id", room.id},
          {"company_id", room.company_id},
          {"line_id", room.line_id ? nlohmann::json(*room.line_id) : nlohmann::json(nullptr)},
          {"has_did", room.did.has_value()}};
}

// Deletes these rooms, each a directory change; how many went.
Result<int64_t> delete_rooms(store::Session& s, const std::vector<ConferenceRoom>& rooms, int64_t now_us) {
  for (const ConferenceRoom& room : rooms) {
    PRIVOX_TRY(s.exec("DELETE FROM conference_rooms WHERE id = ?", {room.id}));
    PRIVOX_TRY(accounts::record_directory_change(s, accounts::DirectoryItem::conference, room.id, "removed", now_us));
  }
  return static_cast<int64_t>(rooms.size());
}

}  // namespace

Result<std::vector<ConferenceRoom>> all_rooms(store::Session& s) { return read_rooms(s, "", {}); }

Result<std::optional<ConferenceRoom>> room_by_id(store::Session& s, const std::string& id) {
  PRIVOX_ASSIGN(std::vector<ConferenceRoom> found, read_rooms(s, " WHERE id = ?", {id}));
  if (found.empty()) return std::optional<ConferenceRoom>{};
  return std::optional<ConferenceRoom>{std::move(found[0])};
}

// Not audited: the proxy compares what a caller keyed in, which the service itself does.
Result<std::optional<std::string>> pin_for_caller(store::Session& s, const privacy::Keyring& keys,
                                                  const std::string& room_id) {
  PRIVOX_ASSIGN(const store::Rows rows, s.query("SELECT pin_enc FROM conference_rooms WHERE id = ?", {room_id}));
  if (rows.empty()) return std::optional<std::string>{};
  PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys, {room_id}));
  const auto key = open.find(room_id);
  if (key == open.end())
    return Error{ErrorCode::erased, "conference", fmt::format("the key of conference room {} is gone", room_id)};
  auto pin = privacy::open_field(*key->second, room_id, kRoomPinSealedAs, rows[0].blob(0));
  if (!pin.ok())
    return Error{ErrorCode::corrupt, "conference", fmt::format("the PIN of conference room {} does not open", room_id)};
  return std::optional<std::string>{std::move(pin).value()};
}

Result<int64_t> remove_company_rooms(store::Session& s, const std::string& company_id, int64_t now_us) {
  PRIVOX_ASSIGN(const std::vector<ConferenceRoom> rooms, read_rooms(s, " WHERE company_id = ?", {company_id}));
  return delete_rooms(s, rooms, now_us);
}

Result<int64_t> remove_line_rooms(store::Session& s, const std::vector<std::string>& line_ids, int64_t now_us) {
  int64_t removed = 0;
  for (const std::string& line : line_ids) {
    PRIVOX_ASSIGN(const std::vector<ConferenceRoom> rooms, read_rooms(s, " WHERE line_id = ?", {line}));
    PRIVOX_ASSIGN(const int64_t n, delete_rooms(s, rooms, now_us));
    removed += n;
  }
  return removed;
}

Conferences::Conferences(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
    : store_(store), keys_(keys), clock_(clock) {}

Result<std::string> Conferences::create(const ConferenceRoom& room, const std::string& pin, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("company", room.company_id));
  PRIVOX_TRY(check_room_fields(room));
  PRIVOX_TRY(check_pin(pin));
  const int64_t now = clock_.now_us();
  ConferenceRoom r = room;
  r.id = new_id(now);
  const auto body = [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const accounts::Company company, accounts::lock_company(s, r.company_id));
    PRIVOX_TRY(accounts::require_company_open(s, r.company_id));
    PRIVOX_ASSIGN(const ConferenceRoom checked, check_room_in_store(s, r, company.country));
    // A room is a subject of its own: its key seals the PIN here and its calls' parties in traffic/,
    // so it outlives the room, as those records must until retention anonymises them.
    PRIVOX_ASSIGN(const privacy::SecretKey key, privacy::subject_keys::create(s, keys_, checked.id, now));
    const Bytes sealed = privacy::seal_field(key, checked.id, kRoomPinSealedAs, pin);
    PRIVOX_TRY(s.exec("INSERT INTO conference_rooms (id, company_id, line_id, number, name, did, pin_enc, "
                      "created_at_us, updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      {checked.id, checked.company_id, optional_value(checked.line_id),
                       checked.line_id ? store::null_value() : store::Value(checked.number), checked.name,
                       optional_value(checked.did), sealed, now, now}));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_).append(s, {actor, "conference.create", "", "", room_detail(checked)}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::conference, checked.id, "added", now);
  };
  PRIVOX_TRY(accounts::write_checked(store_, body, r.line_id ? "line" : "number"));
  return r.id;
}

Status Conferences::update(const ConferenceRoom& room, const std::optional<std::string>& pin, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("conference", room.id));
  if (pin) PRIVOX_TRY(check_pin(*pin));
  const auto body = [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<ConferenceRoom> found, room_by_id(s, room.id));
    if (!found) return no_room(room.id);
    ConferenceRoom r = room;
    r.company_id = found->company_id;  // a room never moves to another company or line
    r.line_id = found->line_id;
    PRIVOX_TRY(check_room_fields(r));
    PRIVOX_ASSIGN(const accounts::Company company, accounts::lock_company(s, r.company_id));
    PRIVOX_ASSIGN(const ConferenceRoom checked, check_room_in_store(s, r, company.country));
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(s.exec("UPDATE conference_rooms SET number = ?, name = ?, did = ?, updated_at_us = ? WHERE id = ?",
                      {checked.line_id ? store::null_value() : store::Value(checked.number), checked.name,
                       optional_value(checked.did), now, checked.id}));
    if (pin) {
      PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys_, {r.id}));
      const auto key = open.find(r.id);
      if (key == open.end())
        return Error{ErrorCode::erased, "conference",
                     fmt::format("the key of conference room {} is gone: no PIN can be sealed", r.id)};
      // Sealed inside the transaction that read the key: a key destroyed meanwhile is never used.
      const Bytes sealed = privacy::seal_field(*key->second, r.id, kRoomPinSealedAs, *pin);
      PRIVOX_TRY(s.exec("UPDATE conference_rooms SET pin_enc = ? WHERE id = ?", {sealed, r.id}));
    }
    nlohmann::json detail = room_detail(checked);
    detail["pin_changed"] = pin.has_value();
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_).append(s, {actor, "conference.update", "", "", std::move(detail)}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::conference, checked.id, "updated", now);
  };
  return accounts::write_checked(store_, body, "number");
}

Status Conferences::remove(const std::string& id, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("conference", id));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<ConferenceRoom> found, room_by_id(s, id));
    if (!found) return no_room(id);
    PRIVOX_TRY(accounts::lock_company(s, found->company_id));
    PRIVOX_TRY(s.exec("DELETE FROM conference_rooms WHERE id = ?", {id}));
    // The room's key stays: its calls' records are sealed under it for their own retention.
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_).append(s, {actor, "conference.remove", "", "", room_detail(*found)}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::conference, id, "removed", now);
  });
}

Result<ConferenceRoom> Conferences::find(const std::string& id) {
  PRIVOX_TRY(accounts::check_id("conference", id));
  std::optional<ConferenceRoom> found;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(found, room_by_id(s, id));
    return {};
  }));
  if (!found) return no_room(id);
  return std::move(*found);
}

Result<std::vector<ConferenceRoom>> Conferences::list(const std::string& company_id) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  std::vector<ConferenceRoom> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(company_country(s, company_id, "company"));
    PRIVOX_ASSIGN(out, read_rooms(s, " WHERE company_id = ?", {company_id}));
    return {};
  }));
  return out;
}

Result<std::optional<ConferenceRoom>> Conferences::for_line(const std::string& line_id) {
  PRIVOX_TRY(accounts::check_id("line", line_id));
  std::vector<ConferenceRoom> found;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(found, read_rooms(s, " WHERE line_id = ?", {line_id}));
    return {};
  }));
  if (found.empty()) return std::optional<ConferenceRoom>{};
  return std::optional<ConferenceRoom>{std::move(found[0])};
}

Result<std::string> Conferences::pin(const std::string& id, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("conference", id));
  Bytes sealed;
  privacy::subject_keys::WrappedKeys wrapped;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const store::Rows rows,
                  s.query("SELECT company_id, pin_enc FROM conference_rooms WHERE id = ?", {id}));
    if (rows.empty()) return no_room(id);
    sealed = rows[0].blob(1);
    PRIVOX_ASSIGN(wrapped, privacy::subject_keys::read_wrapped(s, {id}));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "conference.pin_read", "",
                               std::string(privacy::to_string(privacy::Purpose::service)),
                               {{"room_id", id}, {"company_id", rows[0].text(0)}}}));
    return {};
  }));
  // Opened after the commit, through the keyring's cache.
  const auto found = wrapped.find(id);
  if (found == wrapped.end()) {
    keys_.forget_unwrapped(id);
    return Error{ErrorCode::erased, "conference", fmt::format("the key of conference room {} is gone", id)};
  }
  PRIVOX_ASSIGN(std::shared_ptr<const privacy::SecretKey> key, keys_.unwrap_cached(found->second, id));
  auto pin = privacy::open_field(*key, id, kRoomPinSealedAs, sealed);
  if (!pin.ok())
    return Error{ErrorCode::corrupt, "conference", fmt::format("the PIN of conference room {} does not open", id)};
  return std::move(pin).value();
}

}  // namespace privox::callflow
