#pragma once
// The voicemail store: the messages callers left in a line's box, sealed under the box's subject
// key (the line's), read back only for a named purpose and audited.
//
// Writing: StoreSink takes each finished message from the SIP worker thread (VoicemailSink) and
// seals and stores it on a thread of its own, so the worker never touches the store. The audio
// (Ogg Opus) and the caller are sealed with privacy::seal_field under the box's key and the clear
// audio is wiped as soon as it is sealed (or refused); it is never written or logged in clear. A box
// whose key is gone (erased), or that already holds retention.voicemail_max_messages, gets no new
// message: the refusal is logged with the ids only. When the box's member chose an email notice,
// the same transaction owes them one (voicemail/notices.h).
//
// Reading: every function that opens a message takes the purpose and the actor and writes one
// audit entry per call inside its transaction (ids and counts, never values); the caller is shown
// by the call log's one rule for a withheld caller (traffic::shows_withheld_caller; a voicemail is
// always inbound to its box). Sealed fields open after the commit, through the keyring's cache.
//
// Thread-safety: the free functions are safe from any thread (all state is in the store);
// StoreSink's deposit() from the SIP worker, flush() and stats() from any thread.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "common/worker.h"
#include "privacy/datamap.h"
#include "privacy/keyring.h"
#include "store/store.h"
#include "traffic/cdr.h"
#include "voicemail/message.h"

namespace privox::voicemail {

// ---- writing ----

class StoreSink final : public VoicemailSink {
 public:
  // `store`, `keys` and `clock` must outlive the sink. Starts its writing thread.
  StoreSink(store::Store& store, const privacy::Keyring& keys, const Clock& clock);
  ~StoreSink() override;  // stop(): drains what was deposited
  StoreSink(const StoreSink&) = delete;
  StoreSink& operator=(const StoreSink&) = delete;

  // Takes the message and returns at once; it is sealed and stored on the sink's thread. Refused
  // (counted in stats().dropped, its audio wiped) once stop() began or when kMaxQueued messages wait.
  void deposit(NewMessage message) override;

  // Blocks until every message deposited before the call is stored or refused. Always ok: a
  // message that could not be stored is counted in stats() and logged, not returned.
  Status flush() EXCLUDES(mu_);
  // Stores what was deposited, then stops taking messages. Idempotent.
  void stop();

  struct Stats {
    uint64_t stored = 0;
    uint64_t box_full = 0;  // the box held retention.voicemail_max_messages already
    uint64_t erased = 0;    // the box's key is gone
    uint64_t failed = 0;    // a store error, after with_transaction's retries
    uint64_t dropped = 0;   // never queued (stopping, or the queue was full)
  };
  Stats stats() const EXCLUDES(mu_);

  static constexpr size_t kMaxQueued = 256;  // ~256 x 360 kB of audio at most waiting in memory

 private:
  // A message in the queue. Its clear audio is wiped when it goes, whether it was stored, refused
  // or never queued (Worker::post destroys a refused item).
  struct Deposit {
    explicit Deposit(NewMessage m) : message(std::move(m)) {}
    Deposit(Deposit&&) noexcept = default;
    Deposit& operator=(Deposit&&) = delete;  // would drop the old audio unwiped
    ~Deposit();
    NewMessage message;
  };
  enum class Outcome { stored, box_full, erased, failed };
  Outcome write(const NewMessage& message);

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;

  mutable Mutex mu_;
  CondVar done_cv_;
  uint64_t done_ GUARDED_BY(mu_) = 0;  // deposits up to this sequence number are stored or refused
  Stats stats_ GUARDED_BY(mu_);
  Worker<Deposit> worker_;  // last: its thread uses everything above
};

// ---- reading ----

// Which messages a read may reach. A member reads their own lines' boxes only (boxes set); staff
// name a purpose and may narrow to one company or box.
struct Scope {
  privacy::Purpose purpose = privacy::Purpose::service;
  traffic::Viewer viewer = traffic::Viewer::staff;
  std::string company_id;                         // empty: every company
  std::optional<std::vector<std::string>> boxes;  // set: only these boxes (empty: none at all)
};

struct MessageInfo {
  std::string id, company_id, box_id;
  // The caller's number or address; "withheld" when the rule hides it, "erased" when the box's key
  // is gone, "unreadable" when it does not open; nullopt when none was recorded or the purpose may
  // not see it.
  std::optional<std::string> caller;
  bool caller_withheld = false;
  std::string call_record_id;
  int64_t received_at_us = 0, duration_ms = 0;
  std::string end_reason;
  int64_t heard_at_us = 0;  // 0: new
};

// The scope's messages, newest first, at most `limit`. One write transaction reads them and the
// boxes' wrapped keys and appends ONE `voicemail.list` audit entry (none when nothing matched):
// detail {"messages": n, "boxes": {box id: count}}, subject_id the box when only one was read.
// Errors: store errors only.
Result<std::vector<MessageInfo>> list_messages(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                               const Scope& scope, const std::string& actor, size_t limit = 1000);

struct MessageAudio {
  MessageInfo info;
  std::string audio;  // Ogg Opus in clear: the caller wipes it (sodium_memzero) once sent
};
// One message with its audio, audited `voicemail.listen` (subject the box, detail the message id).
// Errors: not_found on "id" when no message of the scope has the id (another tenant's or member's
// message reads exactly as a missing one); invalid on "purpose" when the data map does not let the
// purpose hear recordings; erased when the box's key is gone; corrupt when the audio does not open.
Result<MessageAudio> open_audio(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                const Scope& scope, const std::string& message_id, const std::string& actor);

// One message of `box_id` for its email notice (notify/voicemail_notices.h), as the box's holder
// lists it (purpose service, a withheld caller withheld), with the audio only when `with_audio`.
// The notice discloses the caller's number, and an attached recording, to the member's mailbox:
// each attempt appends ONE `voicemail.email` audit entry (subject the box, detail {message, audio,
// attempt}) in the reading transaction, before the email is handed to the relay. Errors as
// open_audio (not_found once the message is deleted, erased once the box is).
Result<MessageAudio> open_for_email(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                    const std::string& box_id, const std::string& message_id, bool with_audio,
                                    int64_t attempt, const std::string& actor);

// Marks the message heard (the first time only; later calls change nothing). Errors: not_found on
// "id" as open_audio.
Status mark_heard(store::Store& store, const Clock& clock, const Scope& scope, const std::string& message_id);

// Deletes the message row (and any email notice still owed for it; voicemail/notices.h), asks the
// store to purge the deleted bytes, audited `voicemail.delete`. Errors: not_found on "id" as open_audio.
Status delete_message(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                      const std::string& message_id, const std::string& actor);

// New (never heard) and old messages per box, for message-waiting indication; boxes without
// messages are absent. Unsealed columns only: nothing is opened or audited.
struct BoxCounts {
  int64_t fresh = 0, heard = 0;
  int64_t total() const { return fresh + heard; }
};
Result<std::map<std::string, BoxCounts>> count_by_box(store::Session& s, const std::vector<std::string>& boxes);
// How many messages the box holds (the count limit, retention.voicemail_max_messages).
Result<int64_t> count_in_box(store::Session& s, const std::string& box_id);

// ---- rights and retention (inside the caller's transaction; the caller audits) ----

// Every message of these boxes with its audio, oldest first, opened for `purpose` as `viewer`:
// the access export (rights/). Audio and caller as list_messages and open_audio would give them; a
// message whose audio does not open is left out of `audio` (empty) and keeps its info.
Result<std::vector<MessageAudio>> messages_of_boxes(store::Session& s, const privacy::Keyring& keys,
                                                    const std::vector<std::string>& boxes, privacy::Purpose purpose,
                                                    traffic::Viewer viewer);

// Deletes every message of these boxes; returns how many (erasure).
Result<int64_t> delete_messages_of_boxes(store::Session& s, const std::vector<std::string>& boxes);

// One batch of the retention job: of the messages received before `cutoff_us` and after the
// (received_at_us, id) cursor, the first `limit` in that order are looked at; those of boxes in
// `held` stay, the rest are deleted.
struct ExpiryBatch {
  int64_t seen = 0;  // 0: nothing left to look at
  int64_t deleted = 0;
  std::vector<std::string> held_boxes;  // sorted, unique
  int64_t cursor_us = 0;                // the last message looked at
  std::string cursor_id;
};
Result<ExpiryBatch> delete_expired(store::Session& s, int64_t cutoff_us, int64_t after_us, const std::string& after_id,
                                   size_t limit, const std::unordered_set<std::string>& held);

// Message metadata as JSON (the CLI, the export's index): {id, box_id, received_at, duration_ms,
// end_reason, caller_withheld, caller?, heard_at?, call_record_id?}.
nlohmann::json to_json(const MessageInfo& m);

}  // namespace privox::voicemail
