// The signed-in member's voicemail: the messages left in their own lines' boxes, newest first, each
// recording heard only by its box's member (voicemail/store.h audits every read). An office
// manager's own lines only, as any member's: a box is personal content, not the company's log.
// A box's options (PIN, email notice) are the one exception: an office manager may set up any line
// of the company, as they set up the line itself.
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <cctype>

#include "portal/routes.h"
#include "voicemail/greetings.h"
#include "voicemail/options.h"
#include "voicemail/store.h"

namespace privox::portal::routes {
namespace {

// The caller's own boxes, as the line's holder: a withheld caller stays withheld (P13), and a
// message of any other box reads as missing (404).
Result<voicemail::Scope> own_boxes(Portal::Impl& p, const Caller& c) {
  voicemail::Scope scope{privacy::Purpose::service, traffic::Viewer::line_holder, c.who.company_id,
                         std::vector<std::string>{}};
  std::vector<accounts::Extension> lines;
  PRIVOX_TRY(store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(lines, accounts::extensions_of_member(s, c.who.subject_id));
    return {};
  }));
  for (const accounts::Extension& x : lines) scope.boxes->push_back(x.id);
  return scope;
}

// The greeting routes' line: one of the caller's own (another member's or tenant's reads as
// missing). The scope carries only that line, so the store checks it again.
Result<voicemail::Scope> own_line(Portal::Impl& p, const Exchange& e, const Caller& c) {
  PRIVOX_ASSIGN(voicemail::Scope scope, own_boxes(p, c));
  const std::string line(e.param("extension_id"));
  if (std::find(scope.boxes->begin(), scope.boxes->end(), line) == scope.boxes->end())
    return Error{ErrorCode::not_found, "extension_id", "no line of yours has this id"};
  scope.boxes = std::vector<std::string>{line};
  return scope;
}

// The options routes' line: one of the member's own, or for an office manager any line of the
// company (setting up a box is the company's business; the messages in it stay the member's).
Result<voicemail::Scope> options_scope(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (c.who.role != Role::office_manager) return own_line(p, e, c);
  return voicemail::Scope{privacy::Purpose::service, traffic::Viewer::line_holder, c.who.company_id, std::nullopt};
}

// voicemail/options.h names a line out of reach "box"; the route's parameter is extension_id.
Response options_error(const Error& error) {
  if (error.code == ErrorCode::not_found && error.field == "box")
    return error_response(Error{ErrorCode::not_found, "extension_id", "no line you may set up has this id"});
  return error_response(error);
}

Response options_answer(Portal::Impl& p, const voicemail::Scope& scope, const std::string& line) {
  auto options = voicemail::box_options(p.store, scope, line);
  if (!options.ok()) return options_error(options.error());
  nlohmann::json out = voicemail::to_json(*options);
  out["extension_id"] = line;
  out.erase("box_id");
  return http::json_response(status::ok, out);
}

}  // namespace

// An upload is a WAV file sent as it is (audio/wav or audio/x-wav; audio/wave and audio/vnd.wave too).
bool is_wav_type(std::string_view type) {
  std::string t(type.substr(0, type.find(';')));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return t == "audio/wav" || t == "audio/x-wav" || t == "audio/wave" || t == "audio/vnd.wave";
}

Response voicemail_list(Portal::Impl& p, const Exchange&, const Caller& c) {
  auto scope = own_boxes(p, c);
  if (!scope.ok()) return error_response(scope.error());
  auto messages = voicemail::list_messages(p.store, p.keys, p.clock, *scope, c.who.subject_id);
  if (!messages.ok()) return error_response(messages.error());
  nlohmann::json items = nlohmann::json::array();
  for (const voicemail::MessageInfo& m : *messages) {
    nlohmann::json item = voicemail::to_json(m);
    item["extension_id"] = m.box_id;
    item.erase("box_id");
    item.erase("call_record_id");  // the call log's own id; nothing a member does with it here
    items.push_back(std::move(item));
  }
  return http::json_response(status::ok, {{"items", std::move(items)}});
}

Response voicemail_audio(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto scope = own_boxes(p, c);
  if (!scope.ok()) return error_response(scope.error());
  auto message = voicemail::open_audio(p.store, p.keys, p.clock, *scope, std::string(e.param("id")), c.who.subject_id);
  if (!message.ok()) return error_response(message.error());
  Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, "audio/ogg");
  res.set(http::bhttp::field::cache_control, "no-store");
  res.body() = std::move(message->audio);
  return res;
}

Response voicemail_heard(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto scope = own_boxes(p, c);
  if (!scope.ok()) return error_response(scope.error());
  const std::string id(e.param("id"));
  if (Status s = voicemail::mark_heard(p.store, p.clock, *scope, id); !s.ok()) return error_response(s.error());
  return http::json_response(status::ok, {{"id", id}, {"heard", true}});
}

Response voicemail_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto scope = own_boxes(p, c);
  if (!scope.ok()) return error_response(scope.error());
  const std::string id(e.param("id"));
  if (Status s = voicemail::delete_message(p.store, p.keys, p.clock, *scope, id, c.who.subject_id); !s.ok())
    return error_response(s.error());
  return http::json_response(status::ok, {{"deleted", true}});
}

// The member's own greeting for one of their lines. The body is the WAV file itself; the HTTP
// server refuses a body over its limit (http::ServerOptions::max_body_bytes, 1 MiB) with 413 before
// this runs, which holds 60 s of 8 kHz 16-bit mono. voicemail::set_greeting checks the rest.
Response voicemail_greeting_put(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto scope = own_line(p, e, c);
  if (!scope.ok()) return error_response(scope.error());
  if (!is_wav_type(e.header("Content-Type")))
    return http::json_error(status::unsupported_media_type, "send the greeting as a WAV file (audio/wav)",
                            "Content-Type");
  const std::string& body = e.request().body();
  if (body.size() > voicemail::kGreetingLimits.max_bytes)
    return http::json_error(status::payload_too_large, "the greeting file is too large", "audio");
  const std::string line(e.param("extension_id"));
  auto duration = voicemail::set_greeting(
      p.store, p.keys, p.clock, *scope, line,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()), c.who.subject_id);
  if (!duration.ok()) return error_response(duration.error());
  return http::json_response(status::ok, {{"extension_id", line}, {"duration_ms", *duration}});
}

Response voicemail_greeting_get(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto scope = own_line(p, e, c);
  if (!scope.ok()) return error_response(scope.error());
  auto audio = voicemail::greeting_audio(p.store, p.keys, p.clock, *scope, std::string(e.param("extension_id")),
                                         c.who.subject_id);
  if (!audio.ok()) return error_response(audio.error());
  Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, "audio/ogg");
  res.set(http::bhttp::field::cache_control, "no-store");
  res.body() = std::move(*audio);
  return res;
}

Response voicemail_greeting_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto scope = own_line(p, e, c);
  if (!scope.ok()) return error_response(scope.error());
  const std::string line(e.param("extension_id"));
  if (Status s = voicemail::delete_greeting(p.store, p.keys, p.clock, *scope, line, c.who.subject_id); !s.ok())
    return error_response(s.error());
  return http::json_response(status::ok, {{"extension_id", line}, {"deleted", true}});
}

// A box's options: its PIN (set or not, never the PIN) and the email-notice choice.
Response voicemail_options_get(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto scope = options_scope(p, e, c);
  if (!scope.ok()) return options_error(scope.error());
  return options_answer(p, *scope, std::string(e.param("extension_id")));
}

// {"email_notice": "off|notice|audio"} and/or {"pin": "1234"} ({"pin": null} removes it). Every
// value is checked before anything changes; the PIN is never echoed, not even in a refusal.
Response voicemail_options_put(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto parsed = json_body(e);
  if (auto* refused = std::get_if<Response>(&parsed)) return std::move(*refused);
  auto scope = options_scope(p, e, c);
  if (!scope.ok()) return options_error(scope.error());
  const auto& body = std::get<nlohmann::json>(parsed);
  std::optional<voicemail::EmailNotice> notice;
  if (const auto it = body.find("email_notice"); it != body.end()) {
    if (it->is_string()) notice = voicemail::parse_email_notice(it->get<std::string>());
    if (!notice) return http::json_error(status::bad_request, "must be off, notice or audio", "email_notice");
  }
  const auto pin = body.find("pin");
  const bool has_pin = pin != body.end();
  if (has_pin && !pin->is_null() && !pin->is_string())
    return http::json_error(status::bad_request, "send the PIN as a string of digits, or null to remove it", "pin");
  if (!notice && !has_pin) return http::json_error(status::bad_request, "give email_notice, pin, or both", "body");
  const std::string line(e.param("extension_id"));
  if (has_pin && pin->is_string()) {
    if (Status s = voicemail::set_pin(p.store, p.keys, p.clock, *scope, line, pin->get_ref<const std::string&>(),
                                      c.who.subject_id);
        !s.ok())
      return options_error(s.error());
  } else if (has_pin) {
    const Status s = voicemail::clear_pin(p.store, p.keys, p.clock, *scope, line, c.who.subject_id);
    // Removing a PIN that is not there leaves the box as asked: no error.
    if (!s.ok() && !(s.error().code == ErrorCode::not_found && s.error().field == "pin")) return options_error(s.error());
  }
  if (notice) {
    if (Status s = voicemail::set_email_notice(p.store, p.keys, p.clock, *scope, line, *notice, c.who.subject_id);
        !s.ok())
      return options_error(s.error());
  }
  return options_answer(p, *scope, line);
}

}  // namespace privox::portal::routes
