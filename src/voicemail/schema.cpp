// The schema of voicemail/'s one table, the messages callers left in a line's box, as a migration
// part (store/schema.h). Released parts are never edited: a change is a part of a new version.
#include "voicemail/module.h"

namespace privox::voicemail {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {12,
       "voicemail",
       "voicemail messages",
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
       }},
  };
}

}  // namespace privox::voicemail
