// Conference bridges (callflow/conference.h): privox answers a call to a room's number or DID (or a
// line's own room, dialled as kLineRoomCode and the line's number) with a menu session of its media
// endpoint, asks for the room's PIN, and once it is right joins the caller to the room, which the
// endpoint mixes: each person hears everyone else, and a tone as people come and go.
//
// The PIN is read off this thread when the call arrives (the desk), compared in constant time
// once the caller presses '#' (or has keyed in as many digits as a PIN may have), and wiped when
// the caller goes. Three wrong PINs end the call. A room holds at most
// `conference.max_participants` people; the next hears that it is full.
//
// Each participant's call is a dialog with privox and its own traffic record: the caller, the room
// dialled, answered and ended like any call (withheld callers stay withheld). The plain proxy path
// pays one directory look-up for a number that is no line, group or receptionist.

#include <fmt/format.h>
#include <sodium.h>

#include "common/log.h"
#include "media/endpoint.h"
#include "sip/proxy.h"
#include "sip/rtpengine.h"

namespace privox::sip {

namespace {
constexpr int kMaxPinTries = 3;
}  // namespace

const callflow::ConferenceRoom* Proxy::room_dialled(std::string_view company_id, std::string_view dialled) {
  if (dialled.starts_with(callflow::kLineRoomCode)) {
    const ExtensionInfo* line = directory_.by_number(company_id, dialled.substr(callflow::kLineRoomCode.size()));
    return line ? directory_.room_of_line(line->id) : nullptr;
  }
  return directory_.room_by_number(company_id, dialled);
}

void Proxy::answer_conference(Call& call) {
  if (!conference_ || !voicemail_)
    return refuse(call, 480, "Temporarily Unavailable: conferences need the media endpoint");
  timers_.cancel(call.ring_timer);
  call.ring_timer = 0;
  call.voicemail_pending = true;  // a CANCEL meanwhile is answered when the PIN is back
  conference_->prepare(call.room_id, [this, server = call.server_tx](std::optional<std::string> pin) {
    conference_prepared(server, std::move(pin));
  });
}

void Proxy::conference_prepared(TxId server, std::optional<std::string> pin) {
  const auto wipe = [&pin] {
    if (pin) sodium_memzero(pin->data(), pin->size());
  };
  const auto it = calls_.find(server);
  if (it == calls_.end()) return wipe();
  Call& call = it->second;
  call.voicemail_pending = false;
  if (call.cancelled || !pin) {
    wipe();
    if (call.relayed) relay_->remove(call.call_id);
    if (call.cancelled) return refuse(call, 487, "Request Terminated");
    log::warn("sip", "conference.no_pin", {});
    return refuse(call, 404, "No such number");
  }
  Conferee c;
  c.room_id = call.room_id;
  c.pin = std::move(*pin);
  media::SessionPlan plan;
  plan.menu = true;
  plan.prompts = {voicemail_->prompts.conf_get_pin};
  const uint64_t session = open_session(call, std::move(plan));  // `call` may be gone after this
  if (!session) {
    sodium_memzero(c.pin.data(), c.pin.size());
    return;
  }
  conferees_.emplace(session, std::move(c));
  if (auto answered = calls_.find(server); answered != calls_.end())
    answered->second.record.callee_equipment = "privox conference";
  for (auto& [call_id, own] : own_dialogs_)
    if (own.session == session) own.record.callee_equipment = "privox conference";
}

void Proxy::conference_key(uint64_t session, Conferee& c, char key) {
  if (c.joined) return;  // keys in a conference are nobody's business
  const VoicemailPrompts& p = voicemail_->prompts;
  if (key != '#') {
    if (key < '0' || key > '9') return;
    c.digits += key;
    if (c.digits.size() < callflow::kMaxConferencePin) return;
  }
  const bool right = !c.digits.empty() && c.digits.size() == c.pin.size() &&
                     sodium_memcmp(c.digits.data(), c.pin.data(), c.pin.size()) == 0;
  sodium_memzero(c.digits.data(), c.digits.size());
  c.digits.clear();
  if (!right) {
    if (++c.tries >= kMaxPinTries)
      return voicemail_->endpoint->play(session, {p.conf_invalid_pin, p.goodbye}, true);
    return voicemail_->endpoint->play(session, {p.conf_invalid_pin, p.conf_get_pin}, false);
  }
  ConferenceRoomState& room = conference_rooms_[c.room_id];
  if (room.members >= max_conferees_) {
    if (room.members == 0) conference_rooms_.erase(c.room_id);
    return voicemail_->endpoint->play(session, {p.conf_full, p.goodbye}, true);
  }
  if (room.mix_id == 0) room.mix_id = next_mix_id_++;
  c.joined = true;
  sodium_memzero(c.pin.data(), c.pin.size());
  if (++room.members > 1) return voicemail_->endpoint->join(session, room.mix_id);
  // The first in the room hears so, then joins (whoever comes meanwhile is mixed from then on).
  const media::Prompt& alone = *p.conf_only_person;
  voicemail_->endpoint->play(session, {p.conf_only_person}, false);
  const int64_t after_us = static_cast<int64_t>(alone.samples.size()) * 125;  // 8 kHz
  timers_.schedule(clock_.now_us() + after_us, [this, session, mix = room.mix_id] {
    if (conferees_.count(session)) voicemail_->endpoint->join(session, mix);
  });
}

void Proxy::end_conferee(uint64_t session) {
  const auto it = conferees_.find(session);
  if (it == conferees_.end()) return;
  Conferee& c = it->second;
  sodium_memzero(c.pin.data(), c.pin.size());
  sodium_memzero(c.digits.data(), c.digits.size());
  if (c.joined) {
    const auto room = conference_rooms_.find(c.room_id);
    if (room != conference_rooms_.end() && --room->second.members == 0) conference_rooms_.erase(room);
  }
  conferees_.erase(it);
}

}  // namespace privox::sip
