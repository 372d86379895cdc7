// Listening to one's voicemail by phone: a line dials *97 and privox answers as a UAS, as it does
// for a deposit, with a menu session of the media endpoint (its keys come back here). The caller
// hears how many new messages wait, then each message, new ones first, and the menu's keys are
// Asterisk's, which office phones' users already know: 5 repeat, 4 previous, 6 next, 7 delete,
// 9 save, # or * to hang up. A message is marked heard once it has been played to its owner. The
// line's digest authentication is the owner's proof; every read is audited as the line's.

#include <fmt/format.h>

#include "media/endpoint.h"
#include "media/prompt.h"
#include "sip/builder.h"
#include "sip/proxy.h"

namespace privox::sip {

std::vector<VoicemailPrompts::Sound> VoicemailPrompts::number(int64_t n) const {
  n = std::clamp<int64_t>(n, 0, 199);
  std::vector<Sound> out;
  if (n >= 100) {
    out = {digits[1], tens[7]};
    n -= 100;
    if (n == 0) return out;
  }
  if (n <= 20) {
    out.push_back(digits[static_cast<size_t>(n)]);
  } else {
    out.push_back(n < 30 ? digits[20] : tens[static_cast<size_t>(n / 10 - 3)]);
    if (n % 10) out.push_back(digits[static_cast<size_t>(n % 10)]);
  }
  return out;
}

void Proxy::answer_retrieval(Call& call) {
  Message request;
  ParseError error;
  if (!parse_message(call.request, request, error)) return refuse(call, 500, "Server Internal Error");
  if (call.relayed ? call.relayed_offer.empty() : !carries_sdp(request))
    return refuse(call, 488, "Not Acceptable Here: voicemail needs an SDP offer in the INVITE");
  timers_.cancel(call.ring_timer);
  call.ring_timer = 0;
  call.voicemail_pending = true;
  voicemail_->boxes->messages(call.box_id, [this, server = call.server_tx](auto messages) {
    retrieval_listed(server, std::move(messages));
  });
}

void Proxy::retrieval_listed(TxId server, std::optional<std::vector<VoicemailBoxes::MessageRef>> messages) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  if (!messages) {
    call.voicemail_pending = false;
    return refuse(call, 503, "Service Unavailable: voicemail cannot be read now");
  }
  if (messages->empty()) return retrieval_loaded(server, {}, nullptr);
  const std::string first = messages->front().id;
  voicemail_->boxes->audio(call.box_id, first,
                           [this, server, list = std::move(*messages)](std::shared_ptr<const media::Prompt> audio) mutable {
                             retrieval_loaded(server, std::move(list), std::move(audio));
                           });
}

void Proxy::retrieval_loaded(TxId server, std::vector<VoicemailBoxes::MessageRef> messages,
                             std::shared_ptr<const media::Prompt> first) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.voicemail_pending = false;
  if (call.cancelled) return refuse(call, 487, "Request Terminated");
  const VoicemailPrompts& p = voicemail_->prompts;
  int64_t fresh = 0;
  for (const auto& m : messages) fresh += m.heard ? 0 : 1;
  // "You have three new messages. First message: ..." or "You have no messages. Goodbye."
  std::vector<VoicemailPrompts::Sound> intro{p.you_have};
  if (messages.empty()) {
    intro.insert(intro.end(), {p.no, p.messages, p.goodbye});
  } else {
    const int64_t told = fresh > 0 ? fresh : static_cast<int64_t>(messages.size());
    const auto spoken = p.number(told);
    intro.insert(intro.end(), spoken.begin(), spoken.end());
    intro.push_back(fresh > 0 ? p.fresh : p.old);
    intro.push_back(told == 1 ? p.message : p.messages);
    intro.insert(intro.end(), {p.first, p.message});
    if (first) intro.push_back(first);
    intro.push_back(p.instructions);
  }
  const std::string box = call.box_id;
  media::SessionPlan plan;
  plan.menu = true;
  if (!messages.empty()) plan.prompts = intro;
  const uint64_t session = open_session(call, std::move(plan));  // `call` may be gone after this
  if (!session) return;
  if (messages.empty()) return voicemail_->endpoint->play(session, std::move(intro), true);
  if (first && !messages.front().heard) {
    voicemail_->boxes->mark_heard(box, messages.front().id);
    messages.front().heard = true;
  }
  retrievals_[session] = Retrieval{box, std::move(messages), 0, std::move(first), false};
}

void Proxy::on_voicemail_key(uint64_t session, char key) {
  const auto it = retrievals_.find(session);
  if (it == retrievals_.end() || it->second.loading) return;  // a key while a message loads is dropped
  Retrieval& r = it->second;
  const VoicemailPrompts& p = voicemail_->prompts;
  switch (key) {
    case '5':
      if (r.audio) return voicemail_->endpoint->play(session, {r.audio, p.instructions}, false);
      return voicemail_->endpoint->play(session, {p.instructions}, false);
    case '4': return play_message(session, r.current == 0 ? 0 : r.current - 1, {});
    case '6': return play_message(session, r.current + 1, {});
    case '7':
      if (r.current < r.messages.size()) {
        voicemail_->boxes->remove(r.box_id, r.messages[r.current].id);
        r.messages.erase(r.messages.begin() + static_cast<std::ptrdiff_t>(r.current));
      }
      return play_message(session, r.current, {p.deleted});  // the one after it is now at `current`
    case '9': return play_message(session, r.current + 1, {p.saved});  // heard already: kept as old
    case '#':
    case '*': return voicemail_->endpoint->play(session, {p.goodbye}, true);
    default: return voicemail_->endpoint->play(session, {p.instructions}, false);
  }
}

void Proxy::play_message(uint64_t session, size_t index, std::vector<VoicemailPrompts::Sound> before) {
  const auto it = retrievals_.find(session);
  if (it == retrievals_.end()) return;
  Retrieval& r = it->second;
  const VoicemailPrompts& p = voicemail_->prompts;
  if (index >= r.messages.size()) {
    before.insert(before.end(), {p.no_more, p.goodbye});
    return voicemail_->endpoint->play(session, std::move(before), true);
  }
  r.loading = true;
  voicemail_->boxes->audio(r.box_id, r.messages[index].id,
                           [this, session, index, before = std::move(before)](std::shared_ptr<const media::Prompt> audio) mutable {
                             const auto found = retrievals_.find(session);
                             if (found == retrievals_.end()) return;  // the caller hung up meanwhile
                             Retrieval& now = found->second;
                             const VoicemailPrompts& sounds = voicemail_->prompts;
                             now.loading = false;
                             if (index >= now.messages.size()) return;
                             now.current = index;
                             now.audio = std::move(audio);
                             before.insert(before.end(), {sounds.message});
                             if (now.audio) before.push_back(now.audio);
                             before.push_back(sounds.instructions);
                             if (now.audio && !now.messages[index].heard) {
                               voicemail_->boxes->mark_heard(now.box_id, now.messages[index].id);
                               now.messages[index].heard = true;
                             }
                             voicemail_->endpoint->play(session, std::move(before), false);
                           });
}

}  // namespace privox::sip
