// The virtual receptionist (callflow/receptionist.h): privox answers a call to a receptionist's
// number or DID itself, as it answers for voicemail, with a menu session of the media endpoint,
// and plays the menu the company's hours choose (read off this thread by the ReceptionistDesk).
// Keys arrive as RFC 4733 events or in-band tones (the endpoint) or as SIP INFO (here). A key sends
// the caller to a line, a ring group or a line's box, into a sub-menu, to dial-by-extension, or
// plays the menu again; nothing pressed for the menu's time runs its timeout action, or plays it
// again, kMaxMenuPlays times in all, and then says goodbye.
//
// Handing the caller on is the part a plain proxy cannot do: privox answered the call, so the
// caller's dialog is with privox. privox starts a leg of its own, an INVITE it sends to itself
// (its Request-URI carries the session and a random token, checked in constant time), so the
// proxy routes the leg exactly like a call: forwarding, do-not-disturb, groups in every strategy,
// the line's box when nobody answers, and a traffic record of its own naming the caller and the
// line. The leg offers the SDP the relay made for the caller's call, and when it is answered the
// relay is told that the caller's other side now sends from the answer's address (an answer under
// privox's own tag, with port latching), so the caller's media moves to whoever answered without
// any re-INVITE towards the caller, whose carrier may refuse one. privox stays in both dialogs:
// a BYE on either side ends the other. The same joint is what a transfer of a trunk's party needs.

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>

#include "common/ids.h"
#include "common/log.h"
#include "fraud/guard.h"
#include "media/endpoint.h"
#include "media/prompt.h"
#include "media/sdp.h"
#include "numbers/e164.h"
#include "rating/store.h"
#include "sip/builder.h"
#include "sip/proxy.h"
#include "sip/rtpengine.h"
#include "wallet/book.h"

namespace privox::sip {

namespace {

constexpr int64_t kExtensionDigitTimeUs = 4'000'000;  // between the keys of an extension
constexpr size_t kMaxExtensionDigits = 8;
constexpr int kMaxMenusPerCall = 20;
constexpr std::string_view kLegParam = "privox-leg";

std::string random_token() {
  uint8_t bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  std::string out;
  for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

// The header's value with its tag parameter, or with `tag` added when it has none.
std::string with_tag(std::string_view value, std::string_view tag) {
  return fmt::format("{};tag={}", value, tag);
}

}  // namespace

// A key from a SIP INFO's body: application/dtmf-relay ("Signal=5\r\nDuration=160") or
// application/dtmf ("5"); '\0' when it carries none.
char Proxy::info_key(const Message& request) {
  std::string_view body = request.body();
  const size_t signal = body.find("Signal=");
  if (signal != std::string_view::npos) body.remove_prefix(signal + 7);
  while (!body.empty() && (body.front() == ' ' || body.front() == '\t')) body.remove_prefix(1);
  if (body.empty()) return '\0';
  const char key = body.front();
  return callflow::is_menu_key(key) ? key : '\0';
}

void Proxy::answer_receptionist(Call& call, const callflow::Receptionist& receptionist) {
  if (!receptionist_ || !voicemail_ || !relay_ || call.relayed_offer.empty())
    return refuse(call, 480, "Temporarily Unavailable: the receptionist needs the media relay and endpoint");
  timers_.cancel(call.ring_timer);
  call.ring_timer = 0;
  call.voicemail_pending = true;  // a CANCEL meanwhile is answered when the plan is back
  receptionist_->prepare(receptionist.id, [this, server = call.server_tx](std::shared_ptr<const ReceptionPlan> plan) {
    reception_prepared(server, std::move(plan));
  });
}

void Proxy::reception_prepared(TxId server, std::shared_ptr<const ReceptionPlan> plan) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.voicemail_pending = false;
  if (call.cancelled) {
    relay_->remove(call.call_id);
    return refuse(call, 487, "Request Terminated");
  }
  if (!plan || !plan->menus.count(plan->first_menu)) {
    log::warn("sip", "receptionist.no_plan", {});
    relay_->remove(call.call_id);
    return refuse(call, 480, "Temporarily Unavailable");
  }
  Message request;
  ParseError error;
  if (!parse_message(call.request, request, error)) return refuse(call, 500, "Server Internal Error");
  Reception r;
  r.plan = std::move(plan);
  r.menu = r.plan->first_menu;
  r.call_id = call.call_id;
  r.caller_tag = std::string(request.from().tag());
  r.source = call.record.source;
  r.withheld = call.record.source_withheld;
  r.direction = call.record.direction;
  r.trunk_id = call.record.trunk_id;
  r.owner_id = call.receptionist_id;
  if (const callflow::Receptionist* receptionist = directory_.receptionist_by_id(call.receptionist_id);
      receptionist && receptionist->did)
    r.owner_did = *receptionist->did;
  const std::string offer = call.relayed_offer;
  media::SessionPlan session_plan;
  session_plan.menu = true;
  const uint64_t session = open_session(call, std::move(session_plan));  // `call` may be gone after this
  if (!session) return;
  r.own_tag = fmt::format("vm{:x}", session);
  r.offer = offer;
  Reception& held = receptions_[session] = std::move(r);
  if (auto answered = calls_.find(server); answered != calls_.end())
    answered->second.record.callee_equipment = "privox receptionist";
  if (auto own = own_dialogs_.find(held.call_id); own != own_dialogs_.end())
    own->second.record.callee_equipment = "privox receptionist";
  play_menu(session, held);
}

std::vector<std::shared_ptr<const media::Prompt>> Proxy::default_menu_greeting(const ReceptionMenu& menu) const {
  // "Hello. For extension 2 0 1, 1. For extension 3 0 0, 2." from Debian's Asterisk prompts.
  const VoicemailPrompts& p = voicemail_->prompts;
  std::vector<std::shared_ptr<const media::Prompt>> out{p.hello};
  const auto say_key = [&](char key) {
    if (key >= '0' && key <= '9') out.push_back(p.digits[static_cast<size_t>(key - '0')]);
    else out.push_back(key == '*' ? p.star : p.pound);
  };
  for (const auto& [key, action] : menu.keys) {
    using K = callflow::MenuActionKind;
    if (action.kind == K::repeat || action.kind == K::menu) continue;
    out.push_back(p.for_);
    if (action.kind != K::external) out.push_back(p.extension);
    if (const auto spoken = menu.spoken.find(key); spoken != menu.spoken.end() && action.kind != K::dial_by_extension)
      for (char c : spoken->second)
        if (c >= '0' && c <= '9') out.push_back(p.digits[static_cast<size_t>(c - '0')]);
    say_key(key);
  }
  return out;
}

void Proxy::play_menu(uint64_t session, Reception& r, std::vector<std::shared_ptr<const media::Prompt>> before) {
  const auto menu = r.plan->menus.find(r.menu);
  // Menus whose timeouts lead to each other would play to a silent caller for ever: a call hears
  // at most kMaxMenusPerCall of them, then goodbye.
  if (menu == r.plan->menus.end() || ++r.menus_played > kMaxMenusPerCall) {
    r.mode = Reception::Mode::connecting;  // no more keys
    return voicemail_->endpoint->play(session, {voicemail_->prompts.goodbye}, true);
  }
  ++r.plays;
  r.mode = Reception::Mode::menu;
  std::vector<std::shared_ptr<const media::Prompt>> prompts = std::move(before);
  if (menu->second.greeting) prompts.push_back(menu->second.greeting);
  else for (auto& prompt : default_menu_greeting(menu->second)) prompts.push_back(std::move(prompt));
  int64_t play_ms = 0;
  for (const auto& prompt : prompts) play_ms += prompt ? prompt->duration_ms() : 0;
  voicemail_->endpoint->play(session, std::move(prompts), false);
  // The endpoint does not say when a menu's prompts end; they take what they take, so the wait
  // for a key starts then.
  timers_.cancel(r.timer);
  r.timer = timers_.schedule(clock_.now_us() + play_ms * 1000 + int64_t{menu->second.timeout_seconds} * 1'000'000,
                             [this, session] { reception_timeout(session); });
}

void Proxy::reception_timeout(uint64_t session) {
  const auto it = receptions_.find(session);
  if (it == receptions_.end()) return;
  Reception& r = it->second;
  r.timer = 0;
  if (r.mode == Reception::Mode::extension) return reception_key(session, r, '#');  // what was dialled so far
  if (r.mode != Reception::Mode::menu) return;
  const ReceptionMenu& menu = r.plan->menus.at(r.menu);
  if (menu.timeout) return take_action(session, r, *menu.timeout);
  if (r.plays >= callflow::kMaxMenuPlays) {
    r.mode = Reception::Mode::connecting;  // no more keys
    return voicemail_->endpoint->play(session, {voicemail_->prompts.goodbye}, true);
  }
  play_menu(session, r);
}

void Proxy::reception_key(uint64_t session, Reception& r, char key) {
  if (r.mode == Reception::Mode::extension) {
    timers_.cancel(r.timer);
    r.timer = 0;
    if (key != '#' && key != '*' && r.digits.size() < kMaxExtensionDigits) {
      r.digits += key;
      r.timer = timers_.schedule(clock_.now_us() + kExtensionDigitTimeUs, [this, session] { reception_timeout(session); });
      return;
    }
    const std::string digits = std::move(r.digits);
    r.digits.clear();
    const ExtensionInfo* line = digits.empty() ? nullptr : directory_.by_number(r.plan->company_id, digits);
    if (!line) return play_menu(session, r, {voicemail_->prompts.invalid_extension});
    return send_leg(session, r, {callflow::MenuActionKind::line, line->id});
  }
  if (r.mode != Reception::Mode::menu) return;  // connecting: the caller waits
  const ReceptionMenu& menu = r.plan->menus.at(r.menu);
  const auto action = menu.keys.find(key);
  if (action == menu.keys.end()) {
    if (r.plays >= callflow::kMaxMenuPlays + 2) return voicemail_->endpoint->play(session, {voicemail_->prompts.goodbye}, true);
    return play_menu(session, r, {voicemail_->prompts.invalid});
  }
  take_action(session, r, action->second);
}

void Proxy::take_action(uint64_t session, Reception& r, const callflow::MenuAction& action) {
  timers_.cancel(r.timer);
  r.timer = 0;
  using K = callflow::MenuActionKind;
  switch (action.kind) {
    case K::repeat:
      r.plays = 0;
      return play_menu(session, r);
    case K::menu:
      if (!r.plan->menus.count(action.ref)) return play_menu(session, r, {voicemail_->prompts.invalid});
      r.menu = action.ref;
      r.plays = 0;
      return play_menu(session, r);
    case K::dial_by_extension:
      r.mode = Reception::Mode::extension;
      r.digits.clear();
      voicemail_->endpoint->play(session, {voicemail_->prompts.extension}, false);
      r.timer = timers_.schedule(clock_.now_us() + kExtensionDigitTimeUs * 3, [this, session] { reception_timeout(session); });
      return;
    case K::line:
    case K::group:
    case K::voicemail:
    case K::external:
      return send_leg(session, r, action);
  }
}

void Proxy::send_leg(uint64_t session, Reception& r, const callflow::MenuAction& target) {
  Peer self;
  if (!Peer::parse(strip_brackets(config_.host), config_.port, TransportKind::udp, self)) {
    log::warn("sip", "receptionist.no_self_address", {});
    return play_menu(session, r, {voicemail_->prompts.not_answering});
  }
  if (!r.transfer && !own_dialogs_.count(r.call_id)) return;
  r.mode = Reception::Mode::connecting;
  r.target = target;
  r.leg_token = random_token();
  r.leg_call_id = fmt::format("{}@{}", new_id(clock_.now_us()), strip_brackets(config_.host));
  r.leg_cseq = 1;
  const std::string branch = new_branch();
  const std::string host = config_.host;
  const std::string from = r.withheld ? std::string(kAnonymousFrom)
                                      : fmt::format("<sip:{}@{}>", r.source.empty() ? "unknown" : r.source, host);
  r.leg_from = with_tag(from, fmt::format("lg{:x}", session));
  r.leg_to = fmt::format("<sip:{}@{}>", target.ref, host);
  std::string invite = fmt::format("INVITE sip:{}@{}:{};{}={}.{} SIP/2.0\r\n", callflow::to_string(target.kind), host,
                                   config_.port, kLegParam, session, r.leg_token);
  append_header(invite, "Via", via_for(self, branch));
  append_header(invite, "Max-Forwards", "70");
  append_header(invite, "From", r.leg_from);
  append_header(invite, "To", r.leg_to);
  append_header(invite, "Call-ID", r.leg_call_id);
  append_header(invite, "CSeq", "1 INVITE");
  append_header(invite, "Contact", fmt::format("<sip:leg-{}@{}:{}>", session, host, config_.port));
  if (r.withheld) append_header(invite, "Privacy", "id");
  if (!r.replaces.empty()) append_header(invite, "Replaces", r.replaces);
  append_header(invite, "Content-Type", "application/sdp");
  append_header(invite, "Content-Length", std::to_string(r.offer.size()));
  invite += "\r\n";
  invite += r.offer;  // the relay's offer for the caller's call
  if (!r.transfer) voicemail_->endpoint->play(session, {voicemail_->prompts.hold_while_trying}, false);
  r.leg_tx = layer_->send_request(self, std::move(invite), Method::invite, branch);
  leg_invites_[r.leg_tx] = session;
  legs_[r.leg_call_id] = session;
}

Proxy::Call& Proxy::open_leg_call(TxId tx, const Message& request, const Peer& from, const Reception& r,
                                  traffic::CallRecord record) {
  Call& call = calls_[tx];
  call.server_tx = tx;
  call.caller = from;
  call.caller_tag = std::string(request.from().tag());
  call.invite = true;
  call.call_id = std::string(request.call_id());
  call.request = std::string(request.bytes());
  call.record = std::move(record);
  call.hide_caller = r.withheld;  // a withheld caller stays withheld past the menu or transfer
  call.flow_company = r.plan->company_id;
  return call;
}

void Proxy::close_dialog_record(const std::string& call_id, std::string_view reason) {
  const auto dialog = dialogs_.find(call_id);
  if (dialog == dialogs_.end()) return;
  traffic::CallRecord record = std::move(dialog->second.record);
  dialogs_.erase(dialog);
  record.ended_at_us = clock_.now_us();
  record.outcome = traffic::Outcome::answered;
  record.end_reason = std::string(reason);
  traffic_.closed(record);
}

bool Proxy::handle_leg(TxId tx, const Message& request, const Peer& from) {
  const auto param = request.request_uri().param(kLegParam);
  if (!param) return false;
  const auto refuse_leg = [&](int status, std::string_view reason) {
    respond(tx, request, status, reason);
    return true;
  };
  if (request.method() != Method::invite || !names_us(request.request_uri())) return refuse_leg(403, "Forbidden");
  const size_t dot = param->find('.');
  uint64_t session = 0;
  if (dot == std::string_view::npos) return refuse_leg(403, "Forbidden");
  for (char c : param->substr(0, dot)) {
    if (c < '0' || c > '9' || session > (UINT64_MAX - 9) / 10) return refuse_leg(403, "Forbidden");
    session = session * 10 + static_cast<uint64_t>(c - '0');
  }
  const auto it = receptions_.find(session);
  const std::string_view token = param->substr(dot + 1);
  if (it == receptions_.end() || it->second.leg_token.size() != token.size() ||
      sodium_memcmp(it->second.leg_token.data(), token.data(), token.size()) != 0)
    return refuse_leg(403, "Forbidden");
  Reception& r = it->second;
  sodium_memzero(r.leg_token.data(), r.leg_token.size());
  r.leg_token.clear();  // one leg, one use

  const int64_t now = clock_.now_us();
  traffic::CallRecord record;
  record.id = new_id(now);
  record.kind = traffic::Kind::voice;
  record.started_at_us = now;
  record.direction = r.direction;
  record.company_id = r.plan->company_id;
  record.source = r.source;
  record.source_withheld = r.withheld;
  record.trunk_id = r.trunk_id;
  record.caller_equipment = "privox receptionist";

  using K = callflow::MenuActionKind;
  if (r.target.kind == K::external) {
    leg_to_trunk(tx, request, from, r, std::move(record));
    return true;
  }
  const ExtensionInfo* line = nullptr;
  const callflow::RingGroup* group = nullptr;
  if (r.target.kind == K::line || r.target.kind == K::voicemail) {
    line = directory_.by_id(r.target.ref);
    if (line && line->company_id != r.plan->company_id) line = nullptr;
  } else if (r.target.kind == K::group) {
    group = directory_.group_by_id(r.target.ref);
    if (group && (group->company_id != r.plan->company_id || group->member_line_ids.empty())) group = nullptr;
  }
  if (!line && !group) {
    // Gone since the menu was read, or of another company: the caller goes to the company's
    // default, its main line's box, rather than back to the menu (configuration never fails a call).
    // A transfer's failed leg gives the call back to its transferor instead.
    if (!r.transfer) line = directory_.main_line(r.plan->company_id);
    log::warn("sip", "receptionist.target_unusable",
              {{"kind", static_cast<int64_t>(r.target.kind)}, {"to_main_line_box", int64_t{line ? 1 : 0}}});
    if (!line) return refuse_leg(404, "Not Found: the menu's target is gone");
    r.target = {K::voicemail, line->id};
  }
  // A group's calls are its first member's in the records (a line's key seals the parties).
  record.subject_id = line ? line->id : group->member_line_ids.front();
  record.destination = line ? line->number : group->number;

  const bool featured = group || (r.target.kind == K::line && has_features(*line));
  std::vector<Target> targets;
  if (line && r.target.kind == K::line && !featured) targets = targets_of(*line, now);

  Call& call = open_leg_call(tx, request, from, r, std::move(record));
  if (line) {
    call.box_id = line->id;
    call.box_company_id = line->company_id;
    call.box_number = line->number;
    call.acting_line = line->id;
  } else {
    call.acting_line = call.record.subject_id;
  }
  layer_->respond(tx, build_response(request, 100, "Trying", ""), 100);
  if (r.target.kind == K::voicemail) {
    if (!answer_with_voicemail(call, Unanswered::unavailable)) refuse(call, 480, "Temporarily Unavailable");
    return true;
  }
  if (featured) {
    call.needs_routing = true;
    call.stage = group ? Call::Stage::group : Call::Stage::line;
    call.stage_id = group ? group->id : line->id;
    route(call);
    return true;
  }
  const int64_t ring = std::min(voicemail_->ring_time_us, config_.ring_timeout_us);
  call.ring_timer = timers_.schedule(now + ring, [this, tx] { ring_timeout(tx); });
  if (targets.empty()) {
    if (!answer_with_voicemail(call, Unanswered::unavailable)) refuse(call, 480, "Temporarily Unavailable");
    return true;
  }
  fork(call, request, targets);
  return true;
}

void Proxy::leg_to_trunk(TxId tx, const Message& request, const Peer& from, const Reception& r,
                         traffic::CallRecord record) {
  const TrunkInfo* trunk = directory_.outbound_trunk();
  const std::string& e164 = r.target.ref;  // stored in E.164 (callflow/targets.h)
  const int64_t now = record.started_at_us;
  record.direction = traffic::Direction::outbound;
  record.subject_id = r.owner_id;
  record.source = r.owner_did;
  record.destination = e164;
  std::optional<std::string> refused;
  int status = 503;
  if (!trunk) {
    refused = "No route to the public network";
  } else {
    record.trunk_id = trunk->id;
    status = 403;
    const numbers::Destination where = rates_ ? destinations_.of(e164) : numbers::Destination{};
    refused = destination_refused(r.plan->company_id, r.plan->country, e164, where);
    if (!refused && wallet_ && rates_)
      if (auto no = wallet_->admit(*rates_->table(), record.id, r.plan->company_id, r.plan->country, where.region, e164, now)) {
        refused = no->reason;
        status = no->status;
      }
    if (!refused && fraud_)
      if (auto no = fraud_->admit(r.owner_id, r.plan->company_id, 0, now)) {
        refused = no->reason;
        status = no->status;
      }
  }
  if (refused) {
    record.ended_at_us = now;
    record.outcome = traffic::Outcome::failed;
    record.failure_code = status;
    traffic_.closed(record);
    return respond(tx, request, status, *refused);
  }
  Call& call = open_leg_call(tx, request, from, r, std::move(record));
  call.to_trunk = true;
  if (!r.owner_did.empty())
    call.asserted = fmt::format("<sip:{}@{}>", r.owner_did, strip_brackets(config_.host));
  layer_->respond(tx, build_response(request, 100, "Trying", ""), 100);
  call.ring_timer = timers_.schedule(now + config_.ring_timeout_us, [this, tx] { ring_timeout(tx); });
  fork(call, request, {{trunk->address, fmt::format("sip:{}@{}", e164, trunk->address.host_port()), std::nullopt}});
}

void Proxy::leg_answered(uint64_t session, const Message& response) {
  const auto it = receptions_.find(session);
  if (it == receptions_.end()) return;
  Reception& r = it->second;
  r.leg_to = std::string(response.first_value(Header::to));
  const auto contact = parse_name_addr(response.first_value(Header::contact));
  r.leg_remote = contact ? std::string(contact->uri_text) : std::string();
  r.leg_route.clear();
  // The route set is the 2xx's Record-Route in reverse (RFC 3261 §12.1.2); here it is this proxy's
  // own entry, so that the leg's requests pass through the proxy and close its record.
  std::vector<std::string_view> routes;
  response.for_each(Header::record_route, [&](std::string_view value) {
    routes.push_back(value);
    return true;
  });
  for (auto route = routes.rbegin(); route != routes.rend(); ++route) append_header(r.leg_route, "Route", *route);
  send_leg_request(r, "ACK");
  if (r.mode != Reception::Mode::connecting || !carries_sdp(response)) {
    // The caller left while it rang, or an answer privox cannot join: the leg ends at once.
    send_leg_request(r, "BYE");
    if (r.mode != Reception::Mode::connecting) return end_reception(session, true);
    return leg_failed(session, 488);
  }
  r.leg_answer = std::string(response.body());
  move_replaced_side(r, r.leg_answer, [this, session](const RelayReply& reply) { leg_joined(session, reply); });
}

void Proxy::move_replaced_side(const Reception& r, std::string_view sdp, std::function<void(const RelayReply&)> done) {
  if (!r.replaced_side_offered)
    return relay_->answer_keeping_ports({r.call_id, r.caller_tag, r.own_tag}, sdp, std::move(done));
  // As if the replaced side sent a re-INVITE with the target's SDP and the carrier answered it with
  // what it answered before: nothing goes to the carrier.
  relay_->offer_keeping_ports({r.call_id, r.own_tag, r.caller_tag}, sdp,
                              [this, call_id = r.call_id, own = r.own_tag, other = r.caller_tag, carrier = r.carrier_sdp,
                               done = std::move(done)](const RelayReply& offered) mutable {
                                if (!offered.ok()) return done(offered);
                                relay_->answer_keeping_ports({call_id, own, other}, carrier, std::move(done));
                              });
}

void Proxy::leg_joined(uint64_t session, const RelayReply& reply) {
  const auto it = receptions_.find(session);
  if (it == receptions_.end()) return;
  Reception& r = it->second;
  if (!reply.ok()) {
    log::warn("sip", "receptionist.join_failed", {{"outcome", static_cast<int64_t>(reply.outcome)}});
    send_leg_request(r, "BYE");
    return leg_failed(session, 503);
  }
  r.mode = Reception::Mode::connected;
  if (r.transfer) {
    // The carrier's party now hears the target: its music stops, and the transferor is told.
    if (!music_for(r.plan->company_id).empty()) relay_->stop_media(r.call_id, r.caller_tag);
    notify_transferor(r, "SIP/2.0 200 OK", true);
    return log::info("sip", "transfer.joined", {{"kind", static_cast<int64_t>(r.target.kind)}});
  }
  // The caller's media now goes to the leg's answerer: the menu's session has nothing left to do.
  voicemail_->endpoint->discard(session);
  if (auto own = own_dialogs_.find(r.call_id); own != own_dialogs_.end()) own->second.session = session;
  log::info("sip", "receptionist.joined", {{"kind", static_cast<int64_t>(r.target.kind)}});
}

void Proxy::leg_failed(uint64_t session, int status) {
  const auto it = receptions_.find(session);
  if (it == receptions_.end()) return;
  Reception& r = it->second;
  legs_.erase(r.leg_call_id);
  r.leg_tx = 0;
  if (r.mode == Reception::Mode::connected) return;
  log::info("sip", "receptionist.leg_failed", {{"status", int64_t{status}}});
  if (r.transfer) {
    if (!music_for(r.plan->company_id).empty()) relay_->stop_media(r.call_id, r.caller_tag);
    notify_transferor(r, fmt::format("SIP/2.0 {} Transfer failed", status), true);
    if (r.transferor_here) {
      // The transferor is still in the call: it goes on as it was (the media never moved).
      if (auto dialog = dialogs_.find(r.call_id); dialog != dialogs_.end()) dialog->second.transfer = 0;
    } else {
      hang_up_carrier(r);
    }
    receptions_.erase(it);
    return;
  }
  r.plays = 0;
  play_menu(session, r, {voicemail_->prompts.not_answering});
}

void Proxy::send_leg_request(Reception& r, std::string_view method) {
  Peer self;
  if (r.leg_remote.empty() || !Peer::parse(strip_brackets(config_.host), config_.port, TransportKind::udp, self)) return;
  const std::string branch = new_branch();
  const bool ack = method == "ACK";
  if (!ack) ++r.leg_cseq;
  std::string request = fmt::format("{} {} SIP/2.0\r\n", method, r.leg_remote);
  append_header(request, "Via", via_for(self, branch));
  request += r.leg_route;
  append_header(request, "Max-Forwards", "70");
  append_header(request, "From", r.leg_from);
  append_header(request, "To", r.leg_to);
  append_header(request, "Call-ID", r.leg_call_id);
  append_header(request, "CSeq", fmt::format("{} {}", ack ? 1 : r.leg_cseq, method));
  append_header(request, "Content-Length", "0");
  request += "\r\n";
  if (ack) return sender_.send(self, request);  // a 2xx's ACK is its own transaction's (§17.1.1.3)
  layer_->send_request(self, std::move(request), method == "BYE" ? Method::bye : Method::invite, branch);
}

bool Proxy::handle_joined_in_dialog(TxId tx, const Message& request) {
  // Only a request for the leg's own Contact is privox's: the leg's requests that privox sends to
  // itself name the answerer, and pass through the proxy like any.
  if (request.request_uri().user.substr(0, 4) != "leg-" || !names_us(request.request_uri())) return false;
  const auto leg = legs_.find(std::string(request.call_id()));
  if (leg == legs_.end()) return false;
  const uint64_t session = leg->second;
  const auto it = receptions_.find(session);
  if (it == receptions_.end()) return false;
  Reception& r = it->second;
  switch (request.method()) {
    case Method::bye: {
      // The leg's answerer hung up: its record closes as a proxied call's does, and the caller's too.
      close_dialog_record(r.leg_call_id, "bye");
      respond(tx, request, 200, "OK");
      r.leg_remote.clear();  // nothing more to send on the leg
      end_reception(session, false);
      return true;
    }
    case Method::invite: {
      // A hold or resume from the answerer: the relay learns its new SDP, the held caller hears
      // music, and the answer repeats the relay's offer with the direction that matches.
      const bool hold = media::is_hold(request.body());
      if (carries_sdp(request)) move_replaced_side(r, request.body(), [](const RelayReply&) {});
      if (const std::string& music = music_for(r.plan->company_id); !music.empty()) {
        if (hold) relay_->play_media(r.call_id, r.caller_tag, music);
        else relay_->stop_media(r.call_id, r.caller_tag);
      }
      const std::string contact = fmt::format("<sip:leg-{}@{}:{}>", session, config_.host, config_.port);
      const ExtraHeader extra[] = {{"Contact", contact}, {"Content-Type", "application/sdp"}};
      const std::string sdp = media::with_direction(r.offer, media::answering(media::audio_direction(request.body())));
      layer_->respond(tx, build_response(request, 200, "OK", "", extra, sdp), 200);
      return true;
    }
    default:
      respond(tx, request, 200, "OK");
      return true;
  }
}

void Proxy::end_reception(uint64_t session, bool caller_gone) {
  const auto it = receptions_.find(session);
  if (it == receptions_.end()) return;
  Reception r = std::move(it->second);
  receptions_.erase(it);
  timers_.cancel(r.timer);
  leg_invites_.erase(r.leg_tx);
  legs_.erase(r.leg_call_id);
  if (caller_gone) {
    // The caller hung up: a leg still ringing is cancelled, an answered one ended.
    if (r.mode == Reception::Mode::connecting && r.leg_tx && r.leg_remote.empty()) layer_->cancel(r.leg_tx);
    else if (!r.leg_remote.empty()) send_leg_request(r, "BYE");
    return;
  }
  // The leg's answerer hung up: privox ends the caller's dialog with its own BYE.
  if (r.transfer) return hang_up_carrier(r);
  const auto own = own_dialogs_.find(r.call_id);
  if (own == own_dialogs_.end()) return;
  const std::string branch = new_branch();
  std::string bye = own->second.bye;
  const size_t first_line = bye.find("\r\n") + 2;
  bye.insert(first_line, fmt::format("Via: {}\r\n", via_for(own->second.caller, branch)));
  layer_->send_request(own->second.caller, std::move(bye), Method::bye, branch);
  end_own_dialog(r.call_id, "bye");
}

}  // namespace privox::sip
