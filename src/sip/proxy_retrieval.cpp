// Listening to one's voicemail by phone: a line dials *97 and privox answers as a UAS, as it does
// for a deposit, with a menu session of the media endpoint (its keys come back here). The caller
// hears how many new messages wait, then each message, new ones first, and the menu's keys are
// Asterisk's, which office phones' users already know: 5 repeat, 4 previous, 6 next, 7 delete,
// 9 save, 0 mailbox options, # or * to hang up. A message is marked heard once it has been played
// to its owner. The line's digest authentication is the owner's proof; every read is audited as
// the line's.
//
// From any other line of the company, *98 asks for the box's extension and its PIN (each ended by
// '#'), checked with Argon2id off this thread. Three wrong tries end the call, and a box with
// kMaxPinFailures failed logins in kPinFailureWindowUs takes no login at all until the window has
// passed, whichever line they came from: a four-digit PIN then takes years to guess. A box without
// a PIN cannot be opened this way.
//
// The mailbox options (0): 1 or 2 records the box's greeting (the same one plays for busy and
// unavailable), with Asterisk's review (1 accept, 2 listen, 3 record again); 5 changes the PIN,
// entered twice; * goes back to the messages.

#include <fmt/format.h>
#include <sodium.h>

#include <utility>

#include "common/log.h"
#include "media/endpoint.h"
#include "media/prompt.h"
#include "sip/builder.h"
#include "sip/proxy.h"
#include "voicemail/options.h"

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

namespace {

constexpr int kMaxLoginTries = 3;        // per call
constexpr int kMaxPinFailures = 5;       // per box, from any line, within the window
constexpr int64_t kPinFailureWindowUs = int64_t{15} * 60 * 1'000'000;
constexpr int64_t kLoginTimeUs = 60'000'000;  // to name a box and its PIN
constexpr size_t kMaxEnteredDigits = 16;
constexpr size_t kMaxTypedAhead = 2 * kMaxEnteredDigits + 4;  // a PIN entered twice and its menu keys
constexpr media::RecordingLimits kGreetingRecording{60'000, 5'000, 1'000, -45.0};

// Collects digits up to '#'. Returns false while the entry goes on (and on a key that only restarts
// it), true with `r.digits` complete.
bool entry_complete(std::string& digits, char key) {
  if (key == '#') return true;
  if (key == '*') {
    sodium_memzero(digits.data(), digits.size());
    digits.clear();
  } else if (digits.size() < kMaxEnteredDigits) {
    digits += key;
  }
  return false;
}

}  // namespace

void Proxy::answer_retrieval(Call& call) {
  Message request;
  ParseError error;
  if (!parse_message(call.request, request, error)) return refuse(call, 500, "Server Internal Error");
  if (call.relayed ? call.relayed_offer.empty() : !carries_sdp(request))
    return refuse(call, 488, "Not Acceptable Here: voicemail needs an SDP offer in the INVITE");
  timers_.cancel(call.ring_timer);
  call.ring_timer = 0;
  const bool login = call.login;
  Retrieval r;
  r.box_id = call.box_id;
  r.company_id = call.box_company_id;
  r.step = login ? MenuStep::box_number : MenuStep::messages;
  r.loading = !login;
  media::SessionPlan plan;
  plan.menu = true;
  if (login) plan.prompts = {voicemail_->prompts.extension};
  const uint64_t session = open_session(call, std::move(plan));  // `call` may be gone after this
  if (!session) return;
  if (login) r.login_timer = timers_.schedule(clock_.now_us() + kLoginTimeUs, [this, session] {
    const auto it = retrievals_.find(session);
    if (it == retrievals_.end() || !it->second.box_id.empty()) return;
    it->second.login_timer = 0;
    voicemail_->endpoint->play(session, {voicemail_->prompts.goodbye}, true);
  });
  retrievals_[session] = std::move(r);
  if (!login) load_box(session);
}

void Proxy::load_box(uint64_t session) {
  const auto it = retrievals_.find(session);
  if (it == retrievals_.end()) return;
  it->second.loading = true;
  voicemail_->boxes->messages(it->second.box_id, [this, session](auto messages) {
    const auto found = retrievals_.find(session);
    if (found == retrievals_.end()) return;  // the caller hung up meanwhile
    if (!messages) {
      found->second.loading = false;
      return voicemail_->endpoint->play(session, {voicemail_->prompts.try_again, voicemail_->prompts.goodbye}, true);
    }
    if (messages->empty()) {
      list_box(session, {}, nullptr);
      return replay_typed_ahead(session);
    }
    const std::string first = messages->front().id;
    voicemail_->boxes->audio(found->second.box_id, first,
                             [this, session, list = std::move(*messages)](const std::shared_ptr<const media::Prompt>& audio) mutable {
                               list_box(session, std::move(list), audio);
                               replay_typed_ahead(session);
                             });
  });
}

void Proxy::list_box(uint64_t session, std::vector<VoicemailBoxes::MessageRef> messages,
                     std::shared_ptr<const media::Prompt> first) {
  const auto it = retrievals_.find(session);
  if (it == retrievals_.end()) return;
  Retrieval& r = it->second;
  r.loading = false;
  const VoicemailPrompts& p = voicemail_->prompts;
  int64_t fresh = 0;
  for (const auto& m : messages) fresh += m.heard ? 0 : 1;
  // "You have three new messages. First message: ..." or "You have no messages", then the options
  // (an empty box is where a member records their first greeting).
  std::vector<VoicemailPrompts::Sound> intro{p.you_have};
  if (messages.empty()) {
    intro.insert(intro.end(), {p.no, p.messages, p.options});
    r.step = MenuStep::options;
    r.messages.clear();
    return voicemail_->endpoint->play(session, std::move(intro), false);
  }
  const int64_t told = fresh > 0 ? fresh : static_cast<int64_t>(messages.size());
  const auto spoken = p.number(told);
  intro.insert(intro.end(), spoken.begin(), spoken.end());
  intro.push_back(fresh > 0 ? p.fresh : p.old);
  intro.push_back(told == 1 ? p.message : p.messages);
  intro.insert(intro.end(), {p.first, p.message});
  if (first) intro.push_back(first);
  intro.push_back(p.instructions);
  if (first && !messages.front().heard) {
    voicemail_->boxes->mark_heard(r.box_id, messages.front().id);
    messages.front().heard = true;
  }
  r.step = MenuStep::messages;
  r.messages = std::move(messages);
  r.current = 0;
  r.audio = std::move(first);
  voicemail_->endpoint->play(session, std::move(intro), false);
}

void Proxy::on_voicemail_key(uint64_t session, char key) {
  if (const auto reception = receptions_.find(session); reception != receptions_.end())
    return reception_key(session, reception->second, key);
  if (const auto conferee = conferees_.find(session); conferee != conferees_.end())
    return conference_key(session, conferee->second, key);
  if (const auto m = menu_recordings_.find(session); m != menu_recordings_.end())
    return menu_recording_key(session, m->second, key);
  const auto it = retrievals_.find(session);
  if (it == retrievals_.end()) return;
  Retrieval& r = it->second;
  // A key while a message loads, or while the store checks or saves, waits for it (up to a bound,
  // so that a key storm holds no more than a few bytes).
  if (r.loading || r.busy) {
    if (r.typed_ahead.size() < kMaxTypedAhead) r.typed_ahead += key;
    return;
  }
  switch (r.step) {
    case MenuStep::box_number:
    case MenuStep::pin: return login_key(session, r, key);
    case MenuStep::messages: return message_key(session, r, key);
    case MenuStep::options: return options_key(session, r, key);
    case MenuStep::greeting: return;  // the prompt before the recording: the endpoint records next
    case MenuStep::review: return review_key(session, r, key);
    case MenuStep::new_pin:
    case MenuStep::repeat_pin: return new_pin_key(session, r, key);
  }
}

void Proxy::replay_typed_ahead(uint64_t session) {
  const auto it = retrievals_.find(session);
  if (it == retrievals_.end()) return;
  // Taken out first: a key that starts another load or save queues the rest behind it again.
  std::string keys = std::exchange(it->second.typed_ahead, {});
  for (const char key : keys) on_voicemail_key(session, key);
  sodium_memzero(keys.data(), keys.size());
}

void Proxy::message_key(uint64_t session, Retrieval& r, char key) {
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
    case '0':
      r.step = MenuStep::options;
      return voicemail_->endpoint->play(session, {p.options}, false);
    case '#':
    case '*': return voicemail_->endpoint->play(session, {p.goodbye}, true);
    default: return voicemail_->endpoint->play(session, {p.instructions}, false);
  }
}

void Proxy::login_key(uint64_t session, Retrieval& r, char key) {
  const VoicemailPrompts& p = voicemail_->prompts;
  if (!entry_complete(r.digits, key)) return;
  if (r.step == MenuStep::box_number) {
    const ExtensionInfo* line = r.digits.empty() ? nullptr : directory_.by_number(r.company_id, r.digits);
    r.entered_box = line ? line->id : std::string();
    r.digits.clear();
    r.step = MenuStep::pin;
    return voicemail_->endpoint->play(session, {p.password}, false);
  }
  std::string pin = std::move(r.digits);
  r.digits.clear();
  // A box that is not there, or that has had its share of wrong PINs, fails like a wrong PIN.
  if (r.entered_box.empty() || box_locked(r.entered_box)) {
    sodium_memzero(pin.data(), pin.size());
    return pin_checked(session, false);
  }
  r.busy = true;
  voicemail_->boxes->check_pin(r.entered_box, std::move(pin), [this, session](bool opened) { pin_checked(session, opened); });
}

bool Proxy::box_locked(const std::string& box_id) {
  const auto it = pin_failures_.find(box_id);
  if (it == pin_failures_.end()) return false;
  if (clock_.now_us() - it->second.since_us > kPinFailureWindowUs) {
    pin_failures_.erase(it);
    return false;
  }
  return it->second.count >= kMaxPinFailures;
}

void Proxy::pin_checked(uint64_t session, bool opened) {
  const auto it = retrievals_.find(session);
  if (it == retrievals_.end()) return;
  Retrieval& r = it->second;
  const VoicemailPrompts& p = voicemail_->prompts;
  r.busy = false;
  if (opened) {
    pin_failures_.erase(r.entered_box);
    timers_.cancel(r.login_timer);
    r.login_timer = 0;
    r.box_id = std::move(r.entered_box);
    return load_box(session);
  }
  if (!r.entered_box.empty()) {
    const int64_t now = clock_.now_us();
    if (pin_failures_.size() > 100'000) std::erase_if(pin_failures_, [&](const auto& f) {
      return now - f.second.since_us > kPinFailureWindowUs;
    });
    PinFailures& f = pin_failures_[r.entered_box];
    if (f.count == 0 || now - f.since_us > kPinFailureWindowUs) f = {0, now};
    if (++f.count == kMaxPinFailures)
      log::warn("sip", "voicemail.pin_locked",
                {{"box", log::Id(r.entered_box)}, {"minutes", kPinFailureWindowUs / 60'000'000},
                 {"failures", kMaxPinFailures}});
  }
  r.entered_box.clear();
  r.step = MenuStep::box_number;
  if (++r.failed_logins >= kMaxLoginTries)
    return voicemail_->endpoint->play(session, {p.login_incorrect, p.goodbye}, true);
  voicemail_->endpoint->play(session, {p.login_incorrect, p.extension}, false);
  replay_typed_ahead(session);
}

void Proxy::options_key(uint64_t session, Retrieval& r, char key) {
  const VoicemailPrompts& p = voicemail_->prompts;
  switch (key) {
    case '1':
    case '2': {
      r.step = MenuStep::greeting;
      if (const Status started = voicemail_->endpoint->record(session, {p.record_greeting, p.tone}, kGreetingRecording);
          !started.ok()) {
        log::warn("sip", "voicemail.greeting_not_recorded", {{"session", session}, {"error", log::error_code(started.error())}});
        r.step = MenuStep::options;
        return voicemail_->endpoint->play(session, {p.try_again, p.options}, false);
      }
      return;
    }
    case '5':
      r.step = MenuStep::new_pin;
      return voicemail_->endpoint->play(session, {p.new_password}, false);
    case '*':
      if (r.messages.empty()) return voicemail_->endpoint->play(session, {p.no_more, p.goodbye}, true);
      r.step = MenuStep::messages;
      return voicemail_->endpoint->play(session, {p.instructions}, false);
    case '#': return voicemail_->endpoint->play(session, {p.goodbye}, true);
    default: return voicemail_->endpoint->play(session, {p.options}, false);
  }
}

void Proxy::on_voicemail_recorded(uint64_t session, std::optional<media::Recording> recording) {
  if (menu_greeting_recorded(session, recording)) return;
  const auto it = retrievals_.find(session);
  if (it == retrievals_.end() || it->second.step != MenuStep::greeting) {
    if (recording) sodium_memzero(recording->ogg.data(), recording->ogg.size());
    return;
  }
  Retrieval& r = it->second;
  const VoicemailPrompts& p = voicemail_->prompts;
  if (!recording) {
    r.step = MenuStep::options;
    return voicemail_->endpoint->play(session, {p.try_again, p.options}, false);
  }
  if (!r.greeting.empty()) sodium_memzero(r.greeting.data(), r.greeting.size());
  r.greeting = std::move(recording->ogg);
  r.greeting_ms = recording->duration_ms;
  r.step = MenuStep::review;
  voicemail_->endpoint->play(session, {p.review}, false);
}

void Proxy::review_key(uint64_t session, Retrieval& r, char key) {
  const VoicemailPrompts& p = voicemail_->prompts;
  switch (key) {
    case '1': {
      r.busy = true;
      r.step = MenuStep::options;
      std::string ogg = std::move(r.greeting);
      r.greeting.clear();
      return voicemail_->boxes->set_greeting(r.box_id, std::move(ogg), r.greeting_ms, [this, session](bool saved) {
        const auto found = retrievals_.find(session);
        if (found == retrievals_.end()) return;
        found->second.busy = false;
        const VoicemailPrompts& sounds = voicemail_->prompts;
        voicemail_->endpoint->play(session, {saved ? sounds.saved : sounds.try_again, sounds.options}, false);
        replay_typed_ahead(session);
      });
    }
    case '2': {
      // Decoded here, on the worker: a greeting is at most a minute, and this is rare.
      auto heard = media::load_ogg_opus(r.greeting);
      if (!heard) return voicemail_->endpoint->play(session, {p.try_again, p.review}, false);
      return voicemail_->endpoint->play(session, {std::make_shared<const media::Prompt>(std::move(*heard)), p.review},
                                        false);
    }
    case '3': return options_key(session, r, '1');
    case '*':
      sodium_memzero(r.greeting.data(), r.greeting.size());
      r.greeting.clear();
      r.step = MenuStep::options;
      return voicemail_->endpoint->play(session, {p.options}, false);
    default: return voicemail_->endpoint->play(session, {p.review}, false);
  }
}

void Proxy::new_pin_key(uint64_t session, Retrieval& r, char key) {
  const VoicemailPrompts& p = voicemail_->prompts;
  if (!entry_complete(r.digits, key)) return;
  std::string entered = std::move(r.digits);
  r.digits.clear();
  if (r.step == MenuStep::new_pin) {
    const ExtensionInfo* line = directory_.by_id(r.box_id);
    if (!voicemail::check_pin(entered, line ? line->number : std::string_view()).ok()) {
      sodium_memzero(entered.data(), entered.size());
      return voicemail_->endpoint->play(session, {p.try_again, p.new_password}, false);
    }
    r.new_pin = std::move(entered);
    r.step = MenuStep::repeat_pin;
    return voicemail_->endpoint->play(session, {p.reenter_password}, false);
  }
  const bool same = entered == r.new_pin;
  sodium_memzero(entered.data(), entered.size());
  std::string pin = std::move(r.new_pin);
  r.new_pin.clear();
  if (!same) {
    sodium_memzero(pin.data(), pin.size());
    r.step = MenuStep::new_pin;
    return voicemail_->endpoint->play(session, {p.mismatch, p.new_password}, false);
  }
  r.busy = true;
  r.step = MenuStep::options;
  voicemail_->boxes->set_pin(r.box_id, std::move(pin), [this, session](bool stored) {
    const auto found = retrievals_.find(session);
    if (found == retrievals_.end()) return;
    found->second.busy = false;
    const VoicemailPrompts& sounds = voicemail_->prompts;
    voicemail_->endpoint->play(session, {stored ? sounds.password_changed : sounds.try_again, sounds.options}, false);
    replay_typed_ahead(session);
  });
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
                             replay_typed_ahead(session);
                           });
}

}  // namespace privox::sip
