#pragma once
// A line's own voicemail greeting: what callers hear instead of the default greeting built from
// prompts. The member uploads a WAV file (untrusted input: media::load_wav checks it and brings it
// to 8 kHz mono); it is encoded to Ogg Opus in memory, sealed under the box's subject key (the
// line's) with privacy::seal_field, like a message's audio, and never stored or logged in clear.
// One greeting per box (table voicemail_greetings, voicemail/schema.cpp): a new upload replaces it.
//
// The member's reads and changes are audited (voicemail.greeting_set, .greeting_listen,
// .greeting_delete: ids and the duration, never the audio); the SIP side's read to play it to a
// caller is not (greeting_for_caller).
//
// Thread-safety: free functions, all state in the store; safe from any thread.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "media/prompt.h"
#include "privacy/keyring.h"
#include "store/store.h"
#include "voicemail/store.h"

namespace privox::voicemail {

// What an upload may be: a WAV file of at most 16 MB that plays for 1 to 60 seconds. The portal's
// uploads are bounded lower by the HTTP server's body limit (http::ServerOptions::max_body_bytes,
// 1 MiB): 60 s of 8 kHz 16-bit mono, or ~30 s of 16 kHz, fits; the CLI takes the full 16 MB.
inline constexpr media::PromptLimits kGreetingLimits{16u << 20, 60'000, 1'000};

// Stores `wav` as the box's greeting, replacing any, audited `voicemail.greeting_set` (detail the
// duration). Returns the greeting's duration in ms. The clear buffers (samples, Ogg) are wiped.
// Errors: invalid on "audio" naming what is wrong with the upload (not a WAV file, empty, too
// large, too short or too long); not_found on "box" when the scope does not reach the box (another
// tenant's or member's line reads exactly as a missing one); erased when the box's key is gone.
Result<int64_t> set_greeting(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                             const std::string& box_id, std::span<const uint8_t> wav, const std::string& actor);

// Stores a greeting the member recorded by phone (Ogg Opus at 8 kHz, as media::Recorder makes it)
// as the box's greeting, like set_greeting; `ogg` is wiped. Errors: invalid on "audio" when it
// plays for less than 1 or more than 60 seconds; otherwise as set_greeting.
Status set_recorded_greeting(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                             const std::string& box_id, std::string& ogg, int64_t duration_ms, const std::string& actor);
// Deletes the box's greeting (callers hear the default one again), audited
// `voicemail.greeting_delete`. Errors: not_found on "box" when the scope does not reach the box or
// it has no greeting.
Status delete_greeting(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                       const std::string& box_id, const std::string& actor);

// The box's greeting as stored, Ogg Opus in clear (the caller wipes it once sent), audited
// `voicemail.greeting_listen`. Errors: invalid on "purpose" when the data map does not let the
// purpose hear it; not_found on "box" as delete_greeting; erased when the box's key is gone;
// corrupt when it does not open.
Result<std::string> greeting_audio(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                   const Scope& scope, const std::string& box_id, const std::string& actor);

// ---- the SIP side, rights and erasure (inside the caller's transaction; not audited) ----

// The box's greeting, Ogg Opus in clear, to play to a caller; nullopt when the box has none or its
// key is gone (the caller then hears the default greeting). Errors: corrupt when it does not open;
// store errors.
Result<std::optional<std::string>> greeting_for_caller(store::Session& s, const privacy::Keyring& keys,
                                                       const std::string& box_id);

struct GreetingAudio {
  std::string box_id;
  int64_t duration_ms = 0, updated_at_us = 0;
  std::string audio;  // Ogg Opus in clear; empty when it does not open
};
// The greetings of these boxes, by box id (the access export).
Result<std::vector<GreetingAudio>> greetings_of_boxes(store::Session& s, const privacy::Keyring& keys,
                                                      const std::vector<std::string>& boxes);

// Deletes the greetings of these boxes; returns how many (erasure).
Result<int64_t> delete_greetings_of_boxes(store::Session& s, const std::vector<std::string>& boxes);

}  // namespace privox::voicemail
