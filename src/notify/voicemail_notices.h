#pragma once
// Problem: a member who chose an email notice for their voicemail box (voicemail/options.h) is owed
// one email per new message, whether privox restarts or the relay is down for a while, and the
// email may say no more than their own voicemail page would. VoicemailNotifier works off the outbox
// of voicemail/notices.h, whose rows StoreSink writes with each message stored while the choice was
// on (so a message left before the member chose is never announced). For each due notice:
//   1. one attempt is counted and the next one scheduled (retry_delays_us) before anything is sent,
//      so a crash mid-send retries on the schedule, never in a loop;
//   2. the box's choice is read again: `off` now drops the notice, and `notice` attaches no audio
//      even if it was `audio` when the message came;
//   3. the line's member now gets it (an unassigned line or an erased member drops the notice),
//      at their email read for purpose service (consent::show_member, audited `member.show`);
//   4. the message is opened by voicemail::open_for_email (audited `voicemail.email`): the caller as
//      the line's holder sees it (withheld stays withheld), the recording only for `audio`;
//   5. the email says when (UTC), how long and from whom, links to the portal's voicemail page and,
//      for `audio`, carries the recording as voicemail-<id>.opus (audio/ogg); every clear copy of
//      the audio is wiped once the relay answered;
//   6. sent: the notice is removed. The relay refused or could not be reached: retried on the
//      schedule, given up after the last delay (the notice removed). A moot notice (the message
//      deleted, the box erased) is removed without an email.
// Logs name ids and error codes only: never a number, an address, or the relay's answer (which may
// quote the address). Delivery is at least once: a crash after the relay took an email and before
// its notice is removed sends it again at the next attempt.
//
// Thread-safety: start() and stop() from the owning thread; run_once() from one thread at a time
// (the worker's, once started). The store's job lock "voicemail-notices" keeps the passes to one
// node at a time.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "common/worker.h"
#include "notify/mailer.h"
#include "privacy/keyring.h"
#include "store/store.h"
#include "voicemail/notices.h"
#include "voicemail/store.h"

namespace privox::notify {

struct VoicemailNoticeOptions {
  std::string portal_url;  // the portal's public address (setting portal.public_url)
  // The wait after each failed attempt; the attempt after the last wait is the last one (eight
  // attempts over about 22 hours by default).
  std::vector<int64_t> retry_delays_us = {60'000'000,    300'000'000,    900'000'000,   3'600'000'000,
                                          10'800'000'000, 21'600'000'000, 43'200'000'000};
  int64_t poll_every_us = 2'000'000;
  size_t batch = 20;  // notices a pass takes at most
};

// What one pass did, by notice.
struct NoticePass {
  int64_t sent = 0;
  int64_t retrying = 0;  // failed; due again later
  int64_t given_up = 0;  // failed for the last time
  int64_t dropped = 0;   // moot: the choice off, the line unassigned, the member or message gone
};

class VoicemailNotifier {
 public:
  // `store`, `keys` and `clock` must outlive the notifier; it owns `mailer` (used by its own
  // thread only). Starts nothing.
  VoicemailNotifier(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                    std::unique_ptr<Mailer>&& mailer, VoicemailNoticeOptions options);
  ~VoicemailNotifier();  // stop()
  VoicemailNotifier(const VoicemailNotifier&) = delete;
  VoicemailNotifier& operator=(const VoicemailNotifier&) = delete;

  // A pass every poll_every_us on a thread of its own.
  void start();
  // Lets the notice being sent finish, then returns. Idempotent.
  void stop();
  // One pass over the notices due now, on the caller's thread. Errors: the store's, when the
  // outbox could not be read; a notice's own failure is counted, not returned.
  Result<NoticePass> run_once();

 private:
  enum class Outcome { sent, retrying, given_up, dropped, taken };
  Result<Outcome> attempt(const voicemail::PendingNotice& notice);
  Result<Outcome> failed(const voicemail::PendingNotice& notice, int64_t attempt, const Error& error,
                         bool from_relay);
  Result<Outcome> drop(const voicemail::PendingNotice& notice, log::Code why);  // why: a code for the log

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  const std::unique_ptr<Mailer> mailer_;
  const VoicemailNoticeOptions options_;

  // Nothing is posted to it: its tick is the pass. Last, so that it stops first.
  Worker<Task> worker_;
};

// The notice for message `m` of line `line_number`, to `to`, saying whether the recording is
// attached (`attached`). `portal_url` without a trailing slash.
Email voicemail_notice_email(const std::string& to, const voicemail::MessageInfo& m, std::string_view line_number,
                             std::string_view portal_url, bool attached);
// The name of message `id`'s recording as attached: voicemail-<id>.opus.
std::string voicemail_attachment_name(std::string_view id);

}  // namespace privox::notify
