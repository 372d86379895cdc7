// The virtual receptionist (callflow/receptionist.h), for the company's office managers: its menus
// (what each key does, the timeout, the greeting uploaded as WAV and heard back as Ogg Opus) and
// its numbers (a number of the plan, a DID, the open and the closed menu), and the one-use code
// that records a menu's greeting by phone. Targets travel by number as forwarding and ring groups
// take them; a sub-menu travels by its id, which the page lists. Another company's menu or
// receptionist answers exactly as one that does not exist.
#include <sodium.h>

#include <map>
#include <nlohmann/json.hpp>

#include "callflow/receptionist.h"
#include "portal/routes.h"
#include "voicemail/greetings.h"

namespace privox::portal::routes {
namespace {

// The target kind of an action that names a line, group, box or outside number; nullopt for the
// others (a sub-menu, dial-by-extension, repeat).
std::optional<callflow::TargetKind> menu_target_kind(callflow::MenuActionKind kind) {
  switch (kind) {
    case callflow::MenuActionKind::line:
      return callflow::TargetKind::line;
    case callflow::MenuActionKind::group:
      return callflow::TargetKind::group;
    case callflow::MenuActionKind::voicemail:
      return callflow::TargetKind::voicemail;
    case callflow::MenuActionKind::external:
      return callflow::TargetKind::external;
    case callflow::MenuActionKind::menu:
    case callflow::MenuActionKind::dial_by_extension:
    case callflow::MenuActionKind::repeat:
      return std::nullopt;
  }
  return std::nullopt;
}

// {"kind", "number"} for a target, {"kind": "menu", "menu": id}, or {"kind"} alone.
Result<nlohmann::json> menu_action_json(store::Session& s, const callflow::MenuAction& action) {
  nlohmann::json out = {{"kind", callflow::to_string(action.kind)}};
  if (const auto target = menu_target_kind(action.kind)) {
    PRIVOX_ASSIGN(out["number"], callflow::target_number(s, {*target, action.ref}));
  } else if (action.kind == callflow::MenuActionKind::menu) {
    out["menu"] = action.ref;
  }
  return out;
}

Result<nlohmann::json> menu_json(store::Session& s, const callflow::Menu& m) {
  nlohmann::json keys = nlohmann::json::object();
  for (const auto& [key, action] : m.keys) {
    PRIVOX_ASSIGN(keys[std::string(1, key)], menu_action_json(s, action));
  }
  nlohmann::json timeout = nullptr;
  if (m.timeout) {
    PRIVOX_ASSIGN(timeout, menu_action_json(s, *m.timeout));
  }
  return nlohmann::json{{"id", m.id},
                        {"name", m.name},
                        {"has_greeting", m.has_greeting},
                        {"greeting_ms", m.greeting_ms},
                        {"timeout_seconds", m.timeout_seconds},
                        {"timeout", std::move(timeout)},
                        {"keys", std::move(keys)}};
}

nlohmann::json receptionist_json(const callflow::Receptionist& r) {
  return {{"id", r.id},
          {"number", r.number},
          {"name", r.name},
          {"did", r.did ? nlohmann::json(*r.did) : nlohmann::json(nullptr)},
          {"open_menu", r.open_menu_id},
          {"closed_menu", r.closed_menu_id ? nlohmann::json(*r.closed_menu_id) : nlohmann::json(nullptr)}};
}

Response menu_answer(Portal::Impl& p, status code, const std::string& id) {
  nlohmann::json out;
  Status done = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(std::optional<callflow::Menu> m, callflow::menu_by_id(s, id));
    if (!m) return Error{ErrorCode::not_found, "id", "no such menu in your company"};
    PRIVOX_ASSIGN(out, menu_json(s, *m));
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  return http::json_response(code, out);
}

// Whether a look-up's error means "no such thing": not found, or an id not even well formed.
bool names_nothing(const Error& error) {
  return error.code == ErrorCode::not_found || error.code == ErrorCode::invalid_argument;
}

// The menu named by the path's {id}, when it is the caller's company's.
Result<callflow::Menu> company_menu(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto m = callflow::Receptionists(p.store, p.keys, p.clock).find_menu(std::string(e.param("id")));
  if (!m.ok() && !names_nothing(m.error())) return m.error();
  if (!m.ok() || m->company_id != c.who.company_id)
    return Error{ErrorCode::not_found, "id", "no such menu in your company"};
  return m;
}

// The receptionist named by the path's {id}, when it is the caller's company's.
Result<callflow::Receptionist> company_receptionist(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto r = callflow::Receptionists(p.store, p.keys, p.clock).find(std::string(e.param("id")));
  if (!r.ok() && !names_nothing(r.error())) return r.error();
  if (!r.ok() || r->company_id != c.who.company_id)
    return Error{ErrorCode::not_found, "id", "no such receptionist in your company"};
  return r;
}

// An action as the body names it, before its number is resolved.
struct NamedMenuAction {
  callflow::MenuActionKind kind = callflow::MenuActionKind::repeat;
  std::string number;  // line, group, voicemail, external
  std::string menu;    // menu: the sub-menu's id
};

// The member of an action that `kind` takes: "number", "menu", or none.
std::string_view action_operand(callflow::MenuActionKind kind) {
  if (menu_target_kind(kind)) return "number";
  return kind == callflow::MenuActionKind::menu ? "menu" : "";
}

// {"kind", "number"} / {"kind": "menu", "menu"} / {"kind"} at `field`, or a 400 naming `field`,
// `field`.kind, `field`.number or `field`.menu.
std::variant<NamedMenuAction, Response> named_menu_action(const nlohmann::json& value, const std::string& field) {
  if (!value.is_object())
    return http::json_error(status::bad_request, "must be an object {kind, number} or {kind: \"menu\", menu}", field);
  const auto kind = value.find("kind");
  std::optional<callflow::MenuActionKind> parsed;
  if (kind != value.end() && kind->is_string()) parsed = callflow::parse_menu_action_kind(kind->get<std::string>());
  if (!parsed)
    return http::json_error(status::bad_request,
                            "must be line, group, voicemail, external, menu, dial_by_extension or repeat",
                            field + ".kind");
  NamedMenuAction action{*parsed, {}, {}};
  const std::string_view operand = action_operand(action.kind);
  for (const auto& [name, member] : value.items()) {
    if (name != "kind" && name != operand)
      return http::json_error(status::bad_request, "is not part of this action",
                              std::string(field).append(".").append(name));
  }
  if (operand.empty()) return action;
  const auto it = value.find(std::string(operand));
  if (it == value.end() || !it->is_string() || it->get<std::string>().empty())
    return http::json_error(status::bad_request,
                            operand == "menu" ? "must be a menu's id" : "must be a number, as text",
                            field + "." + std::string(operand));
  (operand == "menu" ? action.menu : action.number) = it->get<std::string>();
  return action;
}

// What a menu's body asks for, before any number is resolved.
struct MenuRequest {
  callflow::Menu menu;  // without keys and timeout
  std::map<char, NamedMenuAction> keys;
  std::optional<NamedMenuAction> timeout;
};

std::optional<Response> read_menu_keys(const nlohmann::json& body, MenuRequest& r) {
  const auto keys = body.find("keys");
  if (keys == body.end() || keys->is_null()) return std::nullopt;
  if (!keys->is_object())
    return http::json_error(status::bad_request, "must be an object of keys, such as {\"1\": {...}}", "keys");
  for (const auto& [key, value] : keys->items()) {
    const std::string field = "keys." + key;
    if (key.size() != 1 || !callflow::is_menu_key(key[0]))
      return http::json_error(status::bad_request, "is not a key of the phone: 0-9, * or #", field);
    if (value.is_null()) continue;  // the key does nothing
    auto action = named_menu_action(value, field);
    if (auto* refusal = std::get_if<Response>(&action)) return std::move(*refusal);
    r.keys.emplace(key[0], std::get<NamedMenuAction>(std::move(action)));
  }
  return std::nullopt;
}

std::variant<MenuRequest, Response> menu_request(const nlohmann::json& body) {
  if (auto unknown = refuse_unknown_fields(body, {"name", "timeout_seconds", "timeout", "keys"}))
    return std::move(*unknown);
  MenuRequest r;
  std::optional<Response> bad;
  r.menu.name = string_field(body, "name", bad).value_or("");
  if (bad) return std::move(*bad);
  if (const auto it = body.find("timeout_seconds"); it != body.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 86'400)
      return http::json_error(status::bad_request, "must be a whole number of seconds", "timeout_seconds");
    r.menu.timeout_seconds = static_cast<int>(it->get<int64_t>());
  }
  if (const auto it = body.find("timeout"); it != body.end() && !it->is_null()) {
    auto action = named_menu_action(*it, "timeout");
    if (auto* refusal = std::get_if<Response>(&action)) return std::move(*refusal);
    r.timeout = std::get<NamedMenuAction>(std::move(action));
  }
  if (auto refusal = read_menu_keys(body, r)) return std::move(*refusal);
  return r;
}

// One action in the company: a number resolved to the store's id, errors naming `field`.number.
Result<callflow::MenuAction> resolve_menu_action(store::Session& s, const std::string& company_id,
                                                 const NamedMenuAction& action, const std::string& field) {
  const auto target = menu_target_kind(action.kind);
  if (!target)
    return callflow::MenuAction{action.kind, action.kind == callflow::MenuActionKind::menu ? action.menu : ""};
  PRIVOX_ASSIGN(callflow::Target resolved,
                resolve_named_target(s, company_id, NamedTarget{*target, action.number}, field));
  return callflow::MenuAction{action.kind, std::move(resolved.ref)};
}

// The body as a menu of `company_id`: numbers resolved to ids.
std::variant<callflow::Menu, Response> menu_from_body(Portal::Impl& p, const Exchange& e,
                                                      const std::string& company_id) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  auto request = menu_request(std::get<nlohmann::json>(parsed));
  if (auto* refusal = std::get_if<Response>(&request)) return std::move(*refusal);
  MenuRequest& r = std::get<MenuRequest>(request);
  r.menu.company_id = company_id;
  Status resolved = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    r.menu.keys.clear();
    for (const auto& [key, action] : r.keys) {
      PRIVOX_ASSIGN(r.menu.keys[key], resolve_menu_action(s, company_id, action, "keys." + std::string(1, key)));
    }
    r.menu.timeout.reset();
    if (r.timeout) {
      PRIVOX_ASSIGN(r.menu.timeout, resolve_menu_action(s, company_id, *r.timeout, "timeout"));
    }
    return {};
  });
  if (!resolved.ok()) return error_response(resolved.error());
  return std::move(r.menu);
}

// The body as a receptionist of `company_id`; the store checks the values.
std::variant<callflow::Receptionist, Response> receptionist_from_body(const Exchange& e,
                                                                      const std::string& company_id) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  if (auto unknown = refuse_unknown_fields(body, {"number", "name", "did", "open_menu", "closed_menu"}))
    return std::move(*unknown);
  callflow::Receptionist r;
  r.company_id = company_id;
  std::optional<Response> bad;
  r.number = string_field(body, "number", bad).value_or("");
  r.name = string_field(body, "name", bad).value_or("");
  r.did = string_field(body, "did", bad);
  r.open_menu_id = string_field(body, "open_menu", bad).value_or("");
  r.closed_menu_id = string_field(body, "closed_menu", bad);
  if (bad) return std::move(*bad);
  if (r.did && r.did->empty()) r.did.reset();  // an emptied field: no DID
  if (r.closed_menu_id && r.closed_menu_id->empty()) r.closed_menu_id.reset();
  return r;
}

// The store's refusals of a menu's id name the company's id, which means nothing to the manager.
// A sub-menu's field is keys.<key> or timeout (a target's ends in .number and reads well already).
Response menu_error(Error error) {
  const bool names_menu = error.field == "timeout" || error.field == "open_menu" || error.field == "closed_menu" ||
                          (error.field.size() == 6 && error.field.starts_with("keys."));
  if (error.code == ErrorCode::not_found && names_menu) error.message = "no menu of your company has this id";
  return error_response(error);
}

// The same for a receptionist, whose conflicts over a number name the company too.
Response receptionist_error(Error error) {
  if (error.code == ErrorCode::conflict && error.field == "number")
    error.message = "a line, ring group or receptionist of your company has this number already";
  if (error.code == ErrorCode::conflict && error.field == "did")
    error.message = "a line or receptionist has this number already";
  return menu_error(std::move(error));
}

// Who still uses menu `id`, in the manager's words (the store's conflict names ids): a receptionist
// by its number, a menu by its name.
std::string menu_user_words(Portal::Impl& p, const std::string& company_id, const std::string& id) {
  callflow::Receptionists receptionists(p.store, p.keys, p.clock);
  if (auto all = receptionists.list(company_id); all.ok())
    for (const callflow::Receptionist& r : *all)
      if (r.open_menu_id == id || r.closed_menu_id == id)
        return "receptionist " + r.number + " plays this menu: change it first";
  if (auto menus = receptionists.list_menus(company_id); menus.ok())
    for (const callflow::Menu& m : *menus) {
      if (m.id == id) continue;
      bool leads = m.timeout && m.timeout->kind == callflow::MenuActionKind::menu && m.timeout->ref == id;
      for (const auto& [key, action] : m.keys)
        leads = leads || (action.kind == callflow::MenuActionKind::menu && action.ref == id);
      if (leads) return "the menu \"" + m.name + "\" leads to this menu: change it first";
    }
  return "something still leads to this menu: change it first";
}

}  // namespace

Response receptionist_menus_list(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto menus = callflow::Receptionists(p.store, p.keys, p.clock).list_menus(c.who.company_id);
  if (!menus.ok()) return error_response(menus.error());
  nlohmann::json items = nlohmann::json::array();
  Status done = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    items = nlohmann::json::array();
    for (const callflow::Menu& m : *menus) {
      PRIVOX_ASSIGN(nlohmann::json item, menu_json(s, m));
      items.push_back(std::move(item));
    }
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  return http::json_response(status::ok, {{"items", std::move(items)}});
}

Response receptionist_menu_create(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto menu = menu_from_body(p, e, c.who.company_id);
  if (auto* refusal = std::get_if<Response>(&menu)) return std::move(*refusal);
  auto id =
      callflow::Receptionists(p.store, p.keys, p.clock).create_menu(std::get<callflow::Menu>(menu), c.who.subject_id);
  if (!id.ok()) return menu_error(id.error());
  return menu_answer(p, status::created, *id);
}

Response receptionist_menu_show(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_menu(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  return menu_answer(p, status::ok, existing->id);
}

Response receptionist_menu_update(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_menu(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  auto menu = menu_from_body(p, e, c.who.company_id);
  if (auto* refusal = std::get_if<Response>(&menu)) return std::move(*refusal);
  callflow::Menu& changed = std::get<callflow::Menu>(menu);
  changed.id = existing->id;
  if (Status s = callflow::Receptionists(p.store, p.keys, p.clock).update_menu(changed, c.who.subject_id); !s.ok())
    return menu_error(s.error());
  return menu_answer(p, status::ok, existing->id);
}

Response receptionist_menu_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_menu(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  if (Status s = callflow::Receptionists(p.store, p.keys, p.clock).remove_menu(existing->id, c.who.subject_id);
      !s.ok()) {
    Error error = s.error();
    if (error.code == ErrorCode::conflict) error.message = menu_user_words(p, c.who.company_id, existing->id);
    return error_response(error);
  }
  return Response{status::no_content, 11};
}

// The body is the WAV file itself, as for a line's greeting (routes_voicemail.cpp): the HTTP
// server's body limit comes first, then Receptionists::set_greeting checks the audio.
Response receptionist_greeting_put(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_menu(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  if (!is_wav_type(e.header("Content-Type")))
    return http::json_error(status::unsupported_media_type, "send the greeting as a WAV file (audio/wav)",
                            "Content-Type");
  const std::string& body = e.request().body();
  if (body.size() > voicemail::kGreetingLimits.max_bytes)
    return http::json_error(status::payload_too_large, "the greeting file is too large", "audio");
  auto duration =
      callflow::Receptionists(p.store, p.keys, p.clock)
          .set_greeting(existing->id,
                        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()),
                        c.who.subject_id);
  if (!duration.ok()) return error_response(duration.error());
  return http::json_response(status::ok, {{"menu_id", existing->id}, {"duration_ms", *duration}});
}

// Hearing a greeting is a read of someone's voice: Receptionists::greeting_audio audits it.
Response receptionist_greeting_get(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_menu(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  if (!existing->has_greeting)
    return http::json_error(status::not_found, "this menu has no greeting: callers hear the default prompt",
                            "greeting");
  auto audio = callflow::Receptionists(p.store, p.keys, p.clock).greeting_audio(existing->id, c.who.subject_id);
  if (!audio.ok()) return error_response(audio.error());
  Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, "audio/ogg");
  res.set(http::bhttp::field::cache_control, "no-store");
  res.body() = std::move(*audio);
  return res;
}

Response receptionist_greeting_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_menu(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  if (Status s = callflow::Receptionists(p.store, p.keys, p.clock).delete_greeting(existing->id, c.who.subject_id);
      !s.ok())
    return error_response(s.error());
  return menu_answer(p, status::ok, existing->id);
}

// A one-use code to record the menu's greeting from a phone of the company (callflow's
// kRecordMenuCode): shown once, here, and never again; the store keeps only its keyed hash.
Response receptionist_phone_recording(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_menu(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  // Read before the code is made: the code's own expiry is the same or a few milliseconds later.
  const int64_t expires_at_us = p.clock.now_us() + callflow::kPhoneRecordingCodeTtlUs;
  auto code = callflow::Receptionists(p.store, p.keys, p.clock).phone_recording_code(existing->id, c.who.subject_id);
  if (!code.ok()) return error_response(code.error());
  Response res = http::json_response(status::created, {{"code", *code},
                                                       {"dial", std::string(callflow::kRecordMenuCode)},
                                                       {"expires_at", format_utc(expires_at_us)}});
  sodium_memzero(code->data(), code->size());
  res.set(http::bhttp::field::cache_control, "no-store");
  return res;
}

Response receptionists_list(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto all = callflow::Receptionists(p.store, p.keys, p.clock).list(c.who.company_id);
  if (!all.ok()) return error_response(all.error());
  nlohmann::json items = nlohmann::json::array();
  for (const callflow::Receptionist& r : *all) items.push_back(receptionist_json(r));
  return http::json_response(status::ok, {{"items", std::move(items)}});
}

Response receptionist_create(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto wanted = receptionist_from_body(e, c.who.company_id);
  if (auto* refusal = std::get_if<Response>(&wanted)) return std::move(*refusal);
  callflow::Receptionists receptionists(p.store, p.keys, p.clock);
  auto id = receptionists.create(std::get<callflow::Receptionist>(wanted), c.who.subject_id);
  if (!id.ok()) return receptionist_error(id.error());
  auto created = receptionists.find(*id);
  if (!created.ok()) return error_response(created.error());
  return http::json_response(status::created, receptionist_json(*created));
}

Response receptionist_show(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_receptionist(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  return http::json_response(status::ok, receptionist_json(*existing));
}

Response receptionist_update(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_receptionist(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  auto wanted = receptionist_from_body(e, c.who.company_id);
  if (auto* refusal = std::get_if<Response>(&wanted)) return std::move(*refusal);
  callflow::Receptionist& changed = std::get<callflow::Receptionist>(wanted);
  changed.id = existing->id;
  callflow::Receptionists receptionists(p.store, p.keys, p.clock);
  if (Status s = receptionists.update(changed, c.who.subject_id); !s.ok()) return receptionist_error(s.error());
  auto now = receptionists.find(existing->id);
  if (!now.ok()) return error_response(now.error());
  return http::json_response(status::ok, receptionist_json(*now));
}

Response receptionist_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_receptionist(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  if (Status s = callflow::Receptionists(p.store, p.keys, p.clock).remove(existing->id, c.who.subject_id); !s.ok())
    return error_response(s.error());
  return Response{status::no_content, 11};
}

}  // namespace privox::portal::routes
