// A receptionist menu's greeting recorded by phone (callflow::kRecordMenuCode): SIP knows lines,
// not who may manage a company's menus, so an office manager first takes a one-use code from the
// portal; any line of the company then dials the code's feature code, keys the code and '#'
// (RFC 4733, tones or SIP INFO), hears the tone, and speaks; '#', silence or a minute ends it, and
// the greeting is stored as the menu's (sealed under the menu's key, the line named as the actor).
// The code is claimed off this thread by the receptionist's desk, compared there in constant time
// and gone once claimed; three wrong codes, or three recordings too short to keep, end the call.

#include <sodium.h>

#include "common/log.h"
#include "media/endpoint.h"
#include "sip/proxy.h"

namespace privox::sip {

namespace {
constexpr int kMaxTries = 3;
constexpr media::RecordingLimits kMenuGreetingRecording{60'000, 5'000, 1'000, -45.0};
}  // namespace

void Proxy::answer_menu_recording(Call& call) {
  MenuRecording m;
  m.company_id = call.record.company_id;
  m.line_id = call.record.subject_id;
  media::SessionPlan plan;
  plan.menu = true;
  plan.prompts = {voicemail_->prompts.password};
  const uint64_t session = open_session(call, std::move(plan));  // `call` may be gone after this
  if (session) menu_recordings_.emplace(session, std::move(m));
}

void Proxy::menu_recording_key(uint64_t session, MenuRecording& m, char key) {
  if (m.busy || !m.menu_id.empty()) return;  // claiming, or recording: the endpoint takes the keys
  if (key != '#') {
    if (key >= '0' && key <= '9' && m.digits.size() < callflow::kPhoneRecordingCodeDigits) m.digits += key;
    return;
  }
  m.busy = true;
  std::string code = std::exchange(m.digits, {});
  receptionist_->claim_recording(m.company_id, std::move(code), [this, session](std::optional<std::string> menu_id) {
    menu_code_claimed(session, std::move(menu_id));
  });
}

void Proxy::menu_code_claimed(uint64_t session, std::optional<std::string> menu_id) {
  const auto it = menu_recordings_.find(session);
  if (it == menu_recordings_.end()) return;
  MenuRecording& m = it->second;
  m.busy = false;
  const VoicemailPrompts& p = voicemail_->prompts;
  if (!menu_id) {
    if (++m.tries >= kMaxTries) return voicemail_->endpoint->play(session, {p.login_incorrect, p.goodbye}, true);
    return voicemail_->endpoint->play(session, {p.login_incorrect, p.password}, false);
  }
  m.menu_id = std::move(*menu_id);
  m.tries = 0;
  if (const Status started = voicemail_->endpoint->record(session, {p.tone}, kMenuGreetingRecording); !started.ok()) {
    log::warn("sip", "receptionist.greeting_not_recorded", {{"session", session}, {"error", log::error_code(started.error())}});
    voicemail_->endpoint->play(session, {p.try_again, p.goodbye}, true);
  }
}

bool Proxy::menu_greeting_recorded(uint64_t session, std::optional<media::Recording>& recording) {
  const auto it = menu_recordings_.find(session);
  if (it == menu_recordings_.end()) return false;
  MenuRecording& m = it->second;
  const VoicemailPrompts& p = voicemail_->prompts;
  if (!recording) {  // too short to keep
    if (++m.tries >= kMaxTries) {
      voicemail_->endpoint->play(session, {p.try_again, p.goodbye}, true);
      return true;
    }
    if (const Status again = voicemail_->endpoint->record(session, {p.try_again, p.tone}, kMenuGreetingRecording); !again.ok())
      voicemail_->endpoint->play(session, {p.goodbye}, true);
    return true;
  }
  m.busy = true;
  receptionist_->save_greeting(m.menu_id, std::move(recording->ogg), recording->duration_ms, m.line_id,
                               [this, session](bool saved) {
                                 const auto found = menu_recordings_.find(session);
                                 if (found == menu_recordings_.end()) return;
                                 found->second.busy = false;
                                 const VoicemailPrompts& sounds = voicemail_->prompts;
                                 if (saved) voicemail_->endpoint->play(session, {sounds.saved, sounds.goodbye}, true);
                                 else voicemail_->endpoint->play(session, {sounds.try_again, sounds.goodbye}, true);
                               });
  sodium_memzero(recording->ogg.data(), recording->ogg.size());
  return true;
}

void Proxy::end_menu_recording(uint64_t session) {
  const auto it = menu_recordings_.find(session);
  if (it == menu_recordings_.end()) return;
  sodium_memzero(it->second.digits.data(), it->second.digits.size());
  menu_recordings_.erase(it);
}

}  // namespace privox::sip
