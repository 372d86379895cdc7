// The schema of voicemail/'s tables, the messages callers left in a line's box, the line's own
// greeting, the box's options and the outbox of email notices, as a migration part
// (store/schema.h). Released parts are never edited: a change is a part of a new version.
#include "voicemail/module.h"

namespace privox::voicemail {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {12,
       "voicemail",
       "voicemail messages and greetings",
       {
           // One row per message (P5's voicemails, P7's limits). box_id is the line whose box it
           // is: the data subject, whose key seals the caller and the audio (Ogg Opus), so erasing
           // or destroying that key leaves every copy, backups too, unreadable. No foreign keys:
           // the retention job and erasure remove messages, not a cascade.
           R"(CREATE TABLE voicemail_messages (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL,
             box_id TEXT NOT NULL,
             caller_enc {blob},
             caller_withheld {i64} NOT NULL DEFAULT 0 CHECK (caller_withheld IN (0, 1)),
             call_record_id TEXT,
             received_at_us {i64} NOT NULL,
             duration_ms {i64} NOT NULL,
             end_reason TEXT NOT NULL,
             audio_enc {blob} NOT NULL,
             heard_at_us {i64}))",
           // A box's messages newest first (the portal, counts per box, the count limit).
           "CREATE INDEX voicemail_messages_by_box ON voicemail_messages (box_id, received_at_us, id)",
           // The retention job walks messages oldest first with a (received_at_us, id) cursor.
           "CREATE INDEX voicemail_messages_by_age ON voicemail_messages (received_at_us, id)",
           // One row per box with its own greeting (voicemail/greetings.h); a new upload replaces
           // it. The audio is Ogg Opus at 8 kHz sealed under the line's key like a message's, so
           // erasing or destroying that key leaves it unreadable too.
           R"(CREATE TABLE voicemail_greetings (
             box_id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL,
             audio_enc {blob} NOT NULL,
             duration_ms {i64} NOT NULL,
             updated_at_us {i64} NOT NULL))",
       }},
      {13,
       "voicemail",
       "voicemail box options: PIN and email notice",
       {
           // One row per box whose owner chose something: the PIN that opens the box from any of
           // the company's lines (an Argon2id string from crypto_pwhash_str, never the PIN), and
           // whether a new message is announced by email to the line's member (off, a notice
           // without the audio, or the notice with the audio attached: a separate choice).
           R"(CREATE TABLE voicemail_box_options (
             box_id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL,
             pin_hash TEXT,
             email_notice TEXT NOT NULL DEFAULT 'off' CHECK (email_notice IN ('off', 'notice', 'audio')),
             updated_at_us {i64} NOT NULL))",
       }},
      {14,
       "voicemail",
       "voicemail email notices waiting to be sent",
       {
           // The outbox of email notices (voicemail/notices.h): one row per stored message whose
           // box's member had chosen a notice when it was stored, written in the transaction that
           // stores the message, so that a notice survives a restart and none is made for a message
           // stored before the choice. Ids and the retry schedule only; the row goes once the email
           // is sent, given up, or moot (the message deleted).
           R"(CREATE TABLE voicemail_notices (
             message_id TEXT PRIMARY KEY,
             box_id TEXT NOT NULL,
             company_id TEXT NOT NULL,
             attempts {i64} NOT NULL DEFAULT 0,
             next_attempt_at_us {i64} NOT NULL))",
           // The sender takes the due ones, soonest first.
           "CREATE INDEX voicemail_notices_due ON voicemail_notices (next_attempt_at_us, message_id)",
       }},
  };
}

}  // namespace privox::voicemail
