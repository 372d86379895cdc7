#pragma once
// A box's options, chosen by its member (table voicemail_box_options, voicemail/schema.cpp):
// - the PIN that opens the box from any of the company's lines (*98, then the extension and the
//   PIN). Kept only as an Argon2id string (crypto_pwhash_str), never the PIN; a box without one
//   cannot be opened that way at all, only from its own line (*97).
// - whether a new message is emailed to the line's member: off (the default), a notice without the
//   audio, or the notice with the audio attached, which is a separate choice because the recording
//   then leaves privox's sealed store for the member's mailbox.
//
// The member's changes are audited (voicemail.pin_set, .pin_clear, .email_notice_set: ids and the
// choice, never the PIN); the SIP side's PIN check is not, as it reads no personal data, but its
// failures are logged with the box id only and bounded per box (sip/proxy_retrieval.cpp).
//
// Thread-safety: free functions, all state in the store; safe from any thread. pin_matches costs
// an Argon2id verification (~50 ms, 64 MiB): call it off any latency-sensitive thread.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "store/store.h"
#include "voicemail/store.h"

namespace privox::voicemail {

enum class EmailNotice { off, notice, audio };
std::string_view to_string(EmailNotice notice);
// "off", "notice" or "audio"; nullopt for anything else.
std::optional<EmailNotice> parse_email_notice(std::string_view text);

// A PIN is 4 to 12 digits, not all the same digit and not the line's own extension number: both
// are the first guesses of anyone trying boxes from a line of the company.
inline constexpr size_t kMinPinDigits = 4;
inline constexpr size_t kMaxPinDigits = 12;
// Errors: invalid on "pin" naming what is wrong; the PIN itself is never in the message.
Status check_pin(std::string_view pin, std::string_view extension_number);

struct BoxOptions {
  std::string box_id;
  bool has_pin = false;
  EmailNotice email_notice = EmailNotice::off;
  int64_t updated_at_us = 0;  // 0: never set
};

// {box_id, has_pin, email_notice, updated_at?}: never the PIN or its hash (the CLI, the portal, the
// access export).
nlohmann::json to_json(const BoxOptions& options);

// The box's options (defaults when its member never chose). Not audited: ids and two choices.
// Errors: not_found on "box" when the scope does not reach the box (another tenant's or member's
// line reads exactly as a missing one).
Result<BoxOptions> box_options(store::Store& store, const Scope& scope, const std::string& box_id);

// Sets the box's PIN, replacing any, audited `voicemail.pin_set`. Errors: as check_pin, and
// not_found as box_options.
Status set_pin(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
               const std::string& box_id, std::string_view pin, const std::string& actor);
// Removes the box's PIN, audited `voicemail.pin_clear`. Errors: not_found as box_options, or on
// "pin" when the box has none.
Status clear_pin(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                 const std::string& box_id, const std::string& actor);
// Sets the email-notice choice, audited `voicemail.email_notice_set` (detail the choice).
// Errors: not_found as box_options.
Status set_email_notice(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                        const std::string& box_id, EmailNotice notice, const std::string& actor);

// ---- for the services (inside the caller's transaction) ----
// The box's Argon2id PIN string; nullopt when it has none.
Result<std::optional<std::string>> pin_hash_of(store::Session& s, const std::string& box_id);
// Whether `pin` matches the stored string, in constant time (crypto_pwhash_str_verify).
bool pin_matches(const std::string& pin_hash, std::string_view pin);
// The box's email-notice choice (off when never set).
Result<EmailNotice> email_notice_of(store::Session& s, const std::string& box_id);

// ---- rights (inside the caller's transaction; the caller audits) ----
// The options these boxes' members chose, by box id (the access export: never the PIN's hash).
Result<std::vector<BoxOptions>> options_of_boxes(store::Session& s, const std::vector<std::string>& boxes);
// Deletes the options of these boxes; returns how many (erasure).
Result<int64_t> delete_options_of_boxes(store::Session& s, const std::vector<std::string>& boxes);

}  // namespace privox::voicemail
