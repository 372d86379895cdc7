// The signed-in member's voicemail: the messages left in their own lines' boxes, newest first, each
// recording heard only by its box's member (voicemail/store.h audits every read). An office
// manager's own lines only, as any member's: a box is personal content, not the company's log.
#include <nlohmann/json.hpp>

#include "portal/routes.h"
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

}  // namespace

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

}  // namespace privox::portal::routes
