// The proxy answering calls itself, for voicemail (proxy.h's VoicemailDesk): a line's call that no
// device takes is answered by privox as a UAS. The caller's offer (as the media relay rewrote it,
// so the caller keeps sending to rtpengine) is answered by the media endpoint's SDP, which goes
// through the relay's answer like a phone's; the 200 waits for the call's record as any answer does
// (R1). The dialog ends with the caller's BYE, or with privox's own when the endpoint ends the
// session ('#', silence, the longest message, a full box). Each message then goes to the sink with
// a traffic record of kind voicemail.

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>

#include "common/ids.h"
#include "common/log.h"
#include "media/endpoint.h"
#include "media/prompt.h"
#include "media/sdp.h"
#include "sip/builder.h"
#include "sip/proxy.h"
#include "sip/rtpengine.h"

namespace privox::sip {

Result<VoicemailPrompts> load_voicemail_prompts(const std::string& directory) {
  const auto load = [&](const std::string& name) -> Result<std::shared_ptr<const media::Prompt>> {
    const std::string path = fmt::format("{}/{}.wav", directory, name);
    auto prompt = media::load_wav_file(path);
    if (!prompt) return invalid("sounds", fmt::format("voicemail prompt {}: {}", path, prompt.error().message));
    return std::make_shared<const media::Prompt>(std::move(*prompt));
  };
  VoicemailPrompts p;
  PRIVOX_ASSIGN(p.the_person, load("vm-theperson"));
  PRIVOX_ASSIGN(p.is_unavailable, load("vm-isunavail"));
  PRIVOX_ASSIGN(p.is_busy, load("vm-isonphone"));
  PRIVOX_ASSIGN(p.leave_message, load("vm-intro"));
  PRIVOX_ASSIGN(p.mailbox_full, load("vm-mailboxfull"));
  PRIVOX_ASSIGN(p.you_have, load("vm-youhave"));
  PRIVOX_ASSIGN(p.fresh, load("vm-INBOX"));
  PRIVOX_ASSIGN(p.old, load("vm-Old"));
  PRIVOX_ASSIGN(p.message, load("vm-message"));
  PRIVOX_ASSIGN(p.messages, load("vm-messages"));
  PRIVOX_ASSIGN(p.no, load("vm-no"));
  PRIVOX_ASSIGN(p.first, load("vm-first"));
  PRIVOX_ASSIGN(p.next, load("vm-next"));
  PRIVOX_ASSIGN(p.instructions, load("vm-msginstruct"));
  PRIVOX_ASSIGN(p.deleted, load("vm-deleted"));
  PRIVOX_ASSIGN(p.saved, load("vm-msgsaved"));
  PRIVOX_ASSIGN(p.no_more, load("vm-nomore"));
  PRIVOX_ASSIGN(p.goodbye, load("vm-goodbye"));
  PRIVOX_ASSIGN(p.extension, load("extension"));
  PRIVOX_ASSIGN(p.password, load("vm-password"));
  PRIVOX_ASSIGN(p.login_incorrect, load("vm-incorrect"));
  PRIVOX_ASSIGN(p.options, load("vm-options"));
  PRIVOX_ASSIGN(p.record_greeting, load("vm-rec-unv"));
  PRIVOX_ASSIGN(p.review, load("vm-review"));
  PRIVOX_ASSIGN(p.new_password, load("vm-newpassword"));
  PRIVOX_ASSIGN(p.reenter_password, load("vm-reenterpassword"));
  PRIVOX_ASSIGN(p.mismatch, load("vm-mismatch"));
  PRIVOX_ASSIGN(p.password_changed, load("vm-passchanged"));
  PRIVOX_ASSIGN(p.try_again, load("please-try-again"));
  PRIVOX_ASSIGN(p.do_not_disturb, load("do-not-disturb"));
  PRIVOX_ASSIGN(p.activated, load("activated"));
  PRIVOX_ASSIGN(p.deactivated, load("de-activated"));
  PRIVOX_ASSIGN(p.hello, load("hello"));
  PRIVOX_ASSIGN(p.for_, load("for"));
  PRIVOX_ASSIGN(p.invalid, load("invalid"));
  PRIVOX_ASSIGN(p.invalid_extension, load("pbx-invalid"));
  PRIVOX_ASSIGN(p.hold_while_trying, load("pls-hold-while-try"));
  PRIVOX_ASSIGN(p.not_answering, load("number-not-answering"));
  PRIVOX_ASSIGN(p.star, load("digits/star"));
  PRIVOX_ASSIGN(p.pound, load("digits/pound"));
  PRIVOX_ASSIGN(p.conf_get_pin, load("conf-getpin"));
  PRIVOX_ASSIGN(p.conf_invalid_pin, load("conf-invalidpin"));
  PRIVOX_ASSIGN(p.conf_full, load("conf-full"));
  PRIVOX_ASSIGN(p.conf_only_person, load("conf-onlyperson"));
  for (size_t d = 0; d < p.digits.size(); ++d) {
    PRIVOX_ASSIGN(p.digits[d], load(fmt::format("digits/{}", d)));
  }
  for (size_t t = 0; t + 1 < p.tens.size(); ++t) {
    PRIVOX_ASSIGN(p.tens[t], load(fmt::format("digits/{}", 30 + 10 * t)));
  }
  PRIVOX_ASSIGN(p.tens.back(), load("digits/hundred"));
  p.tone = std::make_shared<const media::Prompt>(media::record_tone());
  return p;
}

std::vector<std::shared_ptr<const media::Prompt>> Proxy::greeting(std::string_view number, Unanswered why,
                                                                  const std::shared_ptr<const media::Prompt>& own) const {
  // The member's own greeting, else "The person at extension 1 0 1 is unavailable / on the phone.
  // Please leave your message after the tone."; the tone either way.
  const VoicemailPrompts& p = voicemail_->prompts;
  if (own) return {own, p.tone};
  std::vector<std::shared_ptr<const media::Prompt>> out{p.the_person};
  for (char c : number)
    if (c >= '0' && c <= '9') out.push_back(p.digits[static_cast<size_t>(c - '0')]);
  out.push_back(why == Unanswered::busy ? p.is_busy : p.is_unavailable);
  out.push_back(p.leave_message);
  out.push_back(p.tone);
  return out;
}

bool Proxy::answer_with_voicemail(Call& call, Unanswered why) {
  if (!voicemail_ || !call.invite || call.box_id.empty() || call.cancelled || call.final_sent ||
      call.voicemail_session || call.voicemail_pending)
    return false;
  Message request;
  ParseError error;
  if (!parse_message(call.request, request, error)) return false;
  // A late offer (an INVITE without SDP) would need privox to offer first; such calls end as before.
  if (call.relayed ? call.relayed_offer.empty() : !carries_sdp(request)) return false;
  timers_.cancel(call.ring_timer);
  call.ring_timer = 0;
  for (const Branch& b : call.branches)
    if (b.status == 0) layer_->cancel(b.tx);
  if (call.relayed && call.callee_profile != MediaProfile::rtp) {
    // The phones rung were offered SRTP (TLS phones); privox's endpoint takes plain RTP on
    // loopback, so the relay makes the called side's offer again, plain, before the box answers.
    call.voicemail_pending = true;
    call.callee_profile = MediaProfile::rtp;
    call.relay_pending = true;
    relay_->offer(relay_leg(call.call_id, request.from().tag(), {}, call.caller, request.body(), MediaProfile::rtp),
                  request.body(),
                  [this, server = call.server_tx, why](RelayReply reply) { plain_offer_made(server, why, std::move(reply)); },
                  MediaProfile::rtp);
    return true;
  }
  look_up_box(call, why);
  return true;
}

void Proxy::plain_offer_made(TxId server, Unanswered why, RelayReply reply) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.voicemail_pending = false;
  call.relay_pending = false;
  if (call.cancelled) return refuse(call, 487, "Request Terminated");
  if (!reply.ok()) return refuse(call, 503, "Media relay unavailable");
  call.relayed_offer = std::move(reply.sdp);
  look_up_box(call, why);
}

void Proxy::look_up_box(Call& call, Unanswered why) {
  if (!voicemail_->boxes) return open_voicemail(call, why, {});
  // Whether the box is full, and its greeting, decide what the caller hears; the store answers off
  // this thread.
  call.voicemail_pending = true;
  voicemail_->boxes->prepare(call.box_id, [this, server = call.server_tx, why](const VoicemailBoxes::BoxState& box) {
    box_looked_up(server, why, box);
  });
}

void Proxy::box_looked_up(TxId server, Unanswered why, const VoicemailBoxes::BoxState& box) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.voicemail_pending = false;
  if (call.cancelled) return refuse(call, 487, "Request Terminated");
  open_voicemail(call, why, box);
}

void Proxy::open_voicemail(Call& call, Unanswered why, const VoicemailBoxes::BoxState& box) {
  media::SessionPlan plan;
  if (box.full) {
    plan.prompts = {voicemail_->prompts.mailbox_full};
    plan.record = false;
  } else {
    plan.prompts = greeting(call.box_number, why, box.greeting);
  }
  plan.limits.max_ms = voicemail_->max_message_ms;
  plan.limits.silence_ms = voicemail_->silence_ms;
  plan.limits.min_ms = voicemail_->min_message_ms;
  const uint64_t session = open_session(call, std::move(plan));
  if (!session) return;
  voicemail::NewMessage meta;
  meta.id = new_id(clock_.now_us());
  meta.company_id = call.box_company_id;
  meta.box_id = call.box_id;
  meta.box_number = call.box_number;
  meta.caller = call.record.source;
  meta.caller_withheld = call.record.source_withheld;
  meta.call_record_id = call.record.id;
  meta.direction = call.record.direction == traffic::Direction::internal ? traffic::Direction::internal
                                                                         : traffic::Direction::inbound;
  meta.received_at_us = clock_.now_us();
  voicemail_sessions_[session] = std::move(meta);
}

uint64_t Proxy::open_session(Call& call, media::SessionPlan plan) {
  Message request;
  ParseError error;
  if (!parse_message(call.request, request, error)) {
    refuse(call, 500, "Server Internal Error");
    return 0;
  }
  const std::string_view offer = call.relayed ? std::string_view(call.relayed_offer) : request.body();
  auto choice = media::choose_audio(offer);
  if (!choice) {
    if (call.relayed) relay_->remove(call.call_id);
    refuse(call, 488, "Not Acceptable Here: voicemail takes G.711 (PCMU or PCMA) only");
    return 0;
  }
  plan.remote = *choice;
  auto opened = voicemail_->endpoint->open(std::move(plan));
  if (!opened) {
    log::warn("sip", "voicemail.cannot_answer", {{"error", log::error_code(opened.error())}});
    if (call.relayed) relay_->remove(call.call_id);
    refuse(call, 480, "Temporarily Unavailable");
    return 0;
  }
  call.voicemail_session = opened->session;
  uint64_t session_id = 0;
  randombytes_buf(&session_id, sizeof session_id);
  const std::string sdp = media::write_answer(*choice, voicemail_->endpoint->address(), opened->port, session_id >> 1);
  if (!call.relayed) {
    send_voicemail_answer(call, sdp);  // may forget `call`
    return opened->session;
  }
  call.relay_pending = true;
  const std::string to_tag = fmt::format("vm{:x}", opened->session);
  RelayLeg leg{call.call_id, request.from().tag(), to_tag};
  leg.branch = relay_branch(call.callee_profile);  // the offer it answers: relayed_offer
  relay_->answer(leg, sdp,
                 [this, server = call.server_tx](const RelayReply& reply) { voicemail_answer_ready(server, reply); },
                 answer_profile(call));
  return opened->session;
}

void Proxy::voicemail_answer_ready(TxId server, const RelayReply& reply) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.relay_pending = false;
  if (call.cancelled) {
    relay_->remove(call.call_id);
    return refuse(call, 487, "Request Terminated");
  }
  if (!reply.ok()) {
    relay_->remove(call.call_id);
    return refuse(call, reply.outcome == RelayReply::Outcome::refused ? 488 : 503, "Media relay unavailable");
  }
  send_voicemail_answer(call, reply.sdp);
}

void Proxy::send_voicemail_answer(Call& call, std::string_view sdp) {
  Message request;
  ParseError error;
  if (!parse_message(call.request, request, error)) return refuse(call, 500, "Server Internal Error");
  const std::string to_tag = fmt::format("vm{:x}", call.voicemail_session);
  const std::string contact = fmt::format("<sip:voicemail@{}:{}{}>", config_.host, config_.port,
                                          call.caller.uri_param());
  const ExtraHeader extra[] = {{"Contact", contact}, {"Content-Type", "application/sdp"}};
  std::string answer = build_response(request, 200, "OK", to_tag, extra, sdp);

  // The BYE privox sends if the endpoint ends first: to the caller's Contact, through the route set
  // its INVITE recorded (RFC 3261 §12.1.1), with the dialog's tags the other way round.
  const auto caller_contact = parse_name_addr(request.first_value(Header::contact));
  std::string bye = fmt::format("BYE {} SIP/2.0\r\n", caller_contact ? caller_contact->uri_text : request.from().uri_text);
  request.for_each(Header::record_route, [&](std::string_view value) {
    append_header(bye, "Route", value);
    return true;
  });
  append_header(bye, "Max-Forwards", "70");
  append_header(bye, "From", fmt::format("{};tag={}", request.first_value(Header::to), to_tag));
  append_header(bye, "To", request.first_value(Header::from));
  append_header(bye, "Call-ID", call.call_id);
  append_header(bye, "CSeq", "1 BYE");
  append_header(bye, "Content-Length", "0");
  bye += "\r\n";

  call.record.answered_at_us = clock_.now_us();
  call.record.callee_equipment = "privox voicemail";
  if (const auto meta = voicemail_sessions_.find(call.voicemail_session); meta != voicemail_sessions_.end())
    meta->second.received_at_us = call.record.answered_at_us;
  call.final_sent = true;
  call.answer_held = true;
  call.held_status = 200;
  call.held_answer = std::move(answer);
  own_dialogs_[call.call_id] =
      OwnDialog{call.voicemail_session, call.record, call.relayed, call.caller, std::move(bye), std::string(sdp)};
  traffic_.opened(call.record, [this, server = call.server_tx](const Status& durable) { release_answer(server, durable); });
}

bool Proxy::handle_own_in_dialog(TxId tx, const Message& request) {
  const auto it = own_dialogs_.find(std::string(request.call_id()));
  if (it == own_dialogs_.end()) return false;
  const auto reception = receptions_.find(it->second.session);
  switch (request.method()) {
    case Method::bye:
      respond(tx, request, 200, "OK");
      voicemail_->endpoint->hang_up(it->second.session);
      if (reception != receptions_.end()) end_reception(reception->first, true);
      end_own_dialog(it->first, "bye");
      return true;
    case Method::info:
      // Key presses as SIP INFO (application/dtmf-relay or application/dtmf), as some phones and
      // carriers send them instead of RFC 4733 events.
      respond(tx, request, 200, "OK");
      // Through the endpoint, as its own keys come: a recording under way takes them ('#' ends it).
      if (const char key = info_key(request)) voicemail_->endpoint->press(it->second.session, key);
      return true;
    case Method::invite:
      if (reception != receptions_.end()) {
        // A session refresh or a hold from the receptionist's caller: privox's answer stands, with
        // the direction that answers the offer's; the leg's party hears music while held.
        const bool hold = media::is_hold(request.body());
        const std::string& music = music_for(reception->second.plan->company_id);
        if (reception->second.mode == Reception::Mode::connected && !music.empty()) {
          if (hold) relay_->play_media(it->first, reception->second.own_tag, music);
          else relay_->stop_media(it->first, reception->second.own_tag);
        }
        const ExtraHeader extra[] = {{"Content-Type", "application/sdp"}};
        const std::string sdp = media::with_direction(it->second.answer, media::answering(media::audio_direction(request.body())));
        layer_->respond(tx, build_response(request, 200, "OK", "", extra, sdp), 200);
        return true;
      }
      if (conferees_.count(it->second.session)) {
        // A session refresh or a hold in a conference: privox's answer stands, with the direction
        // that answers the offer's (a held member still hears the room; nothing plays instead).
        const ExtraHeader extra[] = {{"Content-Type", "application/sdp"}};
        const std::string sdp = media::with_direction(it->second.answer, media::answering(media::audio_direction(request.body())));
        layer_->respond(tx, build_response(request, 200, "OK", "", extra, sdp), 200);
        return true;
      }
      // A re-INVITE (hold, a new codec) is not taken: the message goes on as it began.
      respond(tx, request, 488, "Not Acceptable Here: voicemail keeps the call's media as it is");
      return true;
    default:
      respond(tx, request, 200, "OK");
      return true;
  }
}

void Proxy::end_own_dialog(const std::string& call_id, std::string_view reason) {
  const auto it = own_dialogs_.find(call_id);
  if (it == own_dialogs_.end()) return;
  traffic::CallRecord record = std::move(it->second.record);
  if (it->second.relayed && relay_) relay_->remove(call_id);
  own_dialogs_.erase(it);
  record.ended_at_us = clock_.now_us();
  record.outcome = traffic::Outcome::answered;
  record.end_reason = std::string(reason);
  traffic_.closed(record);
}

void Proxy::on_voicemail_ended(media::SessionEnd end) {
  // A receptionist's menu that said goodbye (a joined one was discarded and never ends here).
  end_reception(end.session, true);
  end_conferee(end.session);
  end_menu_recording(end.session);
  if (const auto r = retrievals_.find(end.session); r != retrievals_.end()) {
    timers_.cancel(r->second.login_timer);
    for (std::string* secret : {&r->second.digits, &r->second.new_pin, &r->second.typed_ahead, &r->second.greeting})
      sodium_memzero(secret->data(), secret->size());
    retrievals_.erase(r);
  }
  VoicemailTotals& t = voicemail_totals_;
  ++t.sessions;
  t.recorded += end.recording ? 1 : 0;
  t.packets_in += end.packets_in;
  t.packets_out += end.packets_out;
  t.late_or_lost += end.late_or_lost;
  t.refused += end.refused;
  const auto meta_it = voicemail_sessions_.find(end.session);
  if (meta_it != voicemail_sessions_.end()) {
    voicemail::NewMessage message = std::move(meta_it->second);
    voicemail_sessions_.erase(meta_it);
    if (end.recording) file_message(std::move(message), *end.recording);
  } else if (end.recording) {
    // A greeting being recorded by phone when the member hung up: not confirmed, not kept.
    sodium_memzero(end.recording->ogg.data(), end.recording->ogg.size());
  }
  // The endpoint ended first ('#', silence, the longest message, goodbye): privox hangs up.
  for (auto& [call_id, dialog] : own_dialogs_) {
    if (dialog.session != end.session) continue;
    const std::string branch = new_branch();
    std::string bye = dialog.bye;
    const size_t first_line = bye.find("\r\n") + 2;
    bye.insert(first_line, fmt::format("Via: {}\r\n", via_for(dialog.caller, branch)));
    layer_->send_request(dialog.caller, std::move(bye), Method::bye, branch);
    end_own_dialog(std::string(call_id), "voicemail");
    break;
  }
}

void Proxy::file_message(voicemail::NewMessage message, media::Recording& recording) {
  const int64_t now = clock_.now_us();
  // The message's own traffic record (P5: the policy's "voicemails" are traffic too).
  traffic::CallRecord record;
  record.id = new_id(now);
  record.company_id = message.company_id;
  record.subject_id = message.box_id;
  record.direction = message.direction;
  record.kind = traffic::Kind::voicemail;
  record.source = message.caller;
  record.destination = message.box_number;
  record.source_withheld = message.caller_withheld;
  // Its duration is the message's: answered when the recording began, after the greeting.
  record.started_at_us = message.received_at_us;
  record.ended_at_us = now;
  record.answered_at_us = std::max(record.started_at_us, now - recording.duration_ms * 1000);
  record.outcome = traffic::Outcome::answered;
  record.end_reason = media::to_string(recording.end);
  traffic_.closed(record);
  message.duration_ms = recording.duration_ms;
  message.end_reason = media::to_string(recording.end);
  message.audio = std::move(recording.ogg);
  voicemail_->sink->deposit(std::move(message));
}

}  // namespace privox::sip
