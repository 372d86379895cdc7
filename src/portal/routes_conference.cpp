// Conference rooms (callflow/conference.h): the company's rooms and its lines' rooms, for its office
// managers (/conference-rooms), and a member's own line's room (/me/lines/{id}/conference-room). A
// room's line travels by the line's number, as forwarding and menus name lines; the answer shows
// what the company's phones dial (`dial`: the room's number, or *88 and the line's number). The
// PIN goes in and never comes back out, except from GET /conference-rooms/{id}/pin, which the store
// audits: it is a secret the host hands out, not something every page view should carry. Another
// company's room, or a room on another member's line, answers exactly as one that does not exist.
#include <nlohmann/json.hpp>

#include <map>

#include "callflow/conference.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

nlohmann::json optional_text(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// `line_number`: the number of the room's line ("" for a company's room, or when the line is gone).
nlohmann::json room_json(const callflow::ConferenceRoom& r, const std::string& line_number) {
  const bool line_room = r.line_id.has_value();
  return {{"id", r.id},
          {"name", r.name},
          {"number", line_room ? nlohmann::json(nullptr) : nlohmann::json(r.number)},
          {"line", line_room ? nlohmann::json(line_number) : nlohmann::json(nullptr)},
          {"line_id", optional_text(r.line_id)},
          {"dial", line_room ? std::string(callflow::kLineRoomCode) + line_number : r.number},
          {"did", optional_text(r.did)}};
}

std::string line_number_of(Portal::Impl& p, const callflow::ConferenceRoom& r) {
  if (!r.line_id) return "";
  auto x = p.extensions.find(*r.line_id);
  return x.ok() ? x->number : "";
}

Response room_answer(Portal::Impl& p, status code, const callflow::ConferenceRoom& r) {
  return http::json_response(code, room_json(r, line_number_of(p, r)));
}

callflow::Conferences conferences(Portal::Impl& p) { return callflow::Conferences(p.store, p.keys, p.clock); }

// The room named by the path's {id}, when it is the caller's company's.
Result<callflow::ConferenceRoom> company_room(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto r = conferences(p).find(std::string(e.param("id")));
  const bool nothing = !r.ok() && (r.error().code == ErrorCode::not_found || r.error().code == ErrorCode::invalid_argument);
  if (!r.ok() && !nothing) return r.error();
  if (!r.ok() || r->company_id != c.who.company_id)
    return Error{ErrorCode::not_found, "id", "no such conference room in your company"};
  return r;
}

// The store's refusals name the company's id or a line's, which mean nothing to the manager.
Response conference_error(Error error) {
  if (error.code == ErrorCode::conflict && error.field == "number")
    error.message = "a line, ring group, receptionist or conference room of your company has this number already";
  if (error.code == ErrorCode::conflict && error.field == "did")
    error.message = "a line, receptionist or conference room has this number already";
  if (error.code == ErrorCode::conflict && error.field == "line") error.message = "this line has a conference room already";
  if (error.code == ErrorCode::not_found && error.field == "line") error.message = "no line of your company has this number";
  return error_response(error);
}

// What an office manager's body asks for: the room without its line, the line by number, the PIN.
struct RoomRequest {
  callflow::ConferenceRoom room;
  std::optional<std::string> line_number;
  std::optional<std::string> pin;
};

std::variant<RoomRequest, Response> room_request(const Exchange& e, const std::string& company_id) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  if (auto unknown = refuse_unknown_fields(body, {"name", "number", "line", "did", "pin"})) return std::move(*unknown);
  RoomRequest r;
  r.room.company_id = company_id;
  std::optional<Response> bad;
  r.room.name = string_field(body, "name", bad).value_or("");
  r.room.number = string_field(body, "number", bad).value_or("");
  r.line_number = string_field(body, "line", bad);
  r.room.did = string_field(body, "did", bad);
  r.pin = string_field(body, "pin", bad);
  if (bad) return std::move(*bad);
  if (r.room.did && r.room.did->empty()) r.room.did.reset();  // an emptied field: no DID
  if (r.line_number && r.line_number->empty()) r.line_number.reset();
  return r;
}

// The line the body names by number, in the caller's company.
Result<std::string> line_id_by_number(Portal::Impl& p, const std::string& company_id, const std::string& number) {
  auto x = p.extensions.find_by_number(company_id, number);
  if (!x.ok() && (x.error().code == ErrorCode::not_found || x.error().code == ErrorCode::invalid_argument))
    return Error{ErrorCode::not_found, "line", "no line of your company has this number"};
  if (!x.ok()) return x.error();
  return x->id;
}

// A member's own room: the line it belongs to, what the phones dial, and the room or null.
Response own_room_answer(Portal::Impl& p, status code, const accounts::Extension& x) {
  auto room = conferences(p).for_line(x.id);
  if (!room.ok()) return error_response(room.error());
  return http::json_response(code, {{"line_id", x.id},
                                    {"line", x.number},
                                    {"dial", std::string(callflow::kLineRoomCode) + x.number},
                                    {"room", *room ? room_json(**room, x.number) : nlohmann::json(nullptr)}});
}

}  // namespace

Response conference_rooms_list(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto rooms = conferences(p).list(c.who.company_id);
  if (!rooms.ok()) return error_response(rooms.error());
  auto lines = p.extensions.list(c.who.company_id);
  if (!lines.ok()) return error_response(lines.error());
  std::map<std::string, std::string> number_of_line;
  for (const accounts::Extension& x : *lines) number_of_line[x.id] = x.number;
  nlohmann::json items = nlohmann::json::array();
  for (const callflow::ConferenceRoom& r : *rooms) {
    const auto line = r.line_id ? number_of_line.find(*r.line_id) : number_of_line.end();
    items.push_back(room_json(r, line == number_of_line.end() ? "" : line->second));
  }
  return http::json_response(status::ok, {{"items", std::move(items)}});
}

Response conference_room_create(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto wanted = room_request(e, c.who.company_id);
  if (auto* refusal = std::get_if<Response>(&wanted)) return std::move(*refusal);
  RoomRequest& r = std::get<RoomRequest>(wanted);
  if (r.line_number) {
    auto line = line_id_by_number(p, c.who.company_id, *r.line_number);
    if (!line.ok()) return conference_error(line.error());
    r.room.line_id = std::move(*line);
  }
  auto id = conferences(p).create(r.room, r.pin.value_or(""), c.who.subject_id);
  if (!id.ok()) return conference_error(id.error());
  auto created = conferences(p).find(*id);
  if (!created.ok()) return error_response(created.error());
  return room_answer(p, status::created, *created);
}

Response conference_room_show(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_room(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  return room_answer(p, status::ok, *existing);
}

// A PUT replaces name, number and DID; the PIN only when given. A room stays with its line (or
// stays the company's): moving it would hand its PIN and its calls' records to another line.
Response conference_room_update(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_room(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  auto wanted = room_request(e, c.who.company_id);
  if (auto* refusal = std::get_if<Response>(&wanted)) return std::move(*refusal);
  RoomRequest& r = std::get<RoomRequest>(wanted);
  if (r.line_number && *r.line_number != line_number_of(p, *existing))
    return http::json_error(status::bad_request, "a room stays with its line: remove it and create another", "line");
  r.room.id = existing->id;
  r.room.line_id = existing->line_id;
  if (Status s = conferences(p).update(r.room, r.pin, c.who.subject_id); !s.ok()) return conference_error(s.error());
  auto now = conferences(p).find(existing->id);
  if (!now.ok()) return error_response(now.error());
  return room_answer(p, status::ok, *now);
}

Response conference_room_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_room(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  if (Status s = conferences(p).remove(existing->id, c.who.subject_id); !s.ok()) return error_response(s.error());
  return Response{status::no_content, 11};
}

namespace {

// The one answer that carries a PIN: Conferences::pin audits the read (ids only).
Response pin_answer(Portal::Impl& p, const std::string& room_id, const Caller& c) {
  auto pin = conferences(p).pin(room_id, c.who.subject_id);
  if (!pin.ok()) return error_response(pin.error());
  Response res = http::json_response(status::ok, {{"pin", *pin}});
  res.set(http::bhttp::field::cache_control, "no-store");
  return res;
}

}  // namespace

Response conference_room_pin(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_room(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  return pin_answer(p, existing->id, c);
}

Response my_line_room_get(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto x = line_in_reach(p, e, c, true);
  if (!x.ok()) return error_response(x.error());
  return own_room_answer(p, status::ok, *x);
}

// Creates the line's room (a PIN needed) or changes its PIN or name. Its number is the line's and
// a public number is the office managers' to give, so the body names neither.
Response my_line_room_put(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto x = line_in_reach(p, e, c, true);
  if (!x.ok()) return error_response(x.error());
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  if (body.contains("did"))
    return http::json_error(status::bad_request, "is given by your company's office managers", "did");
  if (auto unknown = refuse_unknown_fields(body, {"pin", "name"})) return std::move(*unknown);
  std::optional<Response> bad;
  const std::optional<std::string> pin = string_field(body, "pin", bad);
  const std::optional<std::string> name = string_field(body, "name", bad);
  if (bad) return std::move(*bad);
  auto existing = conferences(p).for_line(x->id);
  if (!existing.ok()) return error_response(existing.error());
  if (!*existing) {
    callflow::ConferenceRoom room;
    room.company_id = c.who.company_id;
    room.line_id = x->id;
    room.name = name.value_or("Line " + x->number);  // not the line's label, which may name a person
    auto id = conferences(p).create(room, pin.value_or(""), c.who.subject_id);
    if (!id.ok()) return conference_error(id.error());
    return own_room_answer(p, status::created, *x);
  }
  callflow::ConferenceRoom changed = **existing;
  if (name) changed.name = *name;
  if (Status s = conferences(p).update(changed, pin, c.who.subject_id); !s.ok()) return conference_error(s.error());
  return own_room_answer(p, status::ok, *x);
}

// The host's own room's PIN, to hand out: as the office managers' read, audited and never cached.
Response my_line_room_pin(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto x = line_in_reach(p, e, c, true);
  if (!x.ok()) return error_response(x.error());
  auto existing = conferences(p).for_line(x->id);
  if (!existing.ok()) return error_response(existing.error());
  if (!*existing) return http::json_error(status::not_found, "this line has no conference room", "room");
  return pin_answer(p, (*existing)->id, c);
}

Response my_line_room_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto x = line_in_reach(p, e, c, true);
  if (!x.ok()) return error_response(x.error());
  auto existing = conferences(p).for_line(x->id);
  if (!existing.ok()) return error_response(existing.error());
  if (!*existing) return http::json_error(status::not_found, "this line has no conference room", "room");
  if (Status s = conferences(p).remove((*existing)->id, c.who.subject_id); !s.ok()) return error_response(s.error());
  return Response{status::no_content, 11};
}

}  // namespace privox::portal::routes
