#pragma once
// The outbox of voicemail email notices (table voicemail_notices). A member who chose a notice for
// their box (voicemail/options.h: `notice`, or `audio` with the recording attached) is owed one
// email per new message. StoreSink writes the notice's row in the transaction that stores the
// message, so the notice is durable exactly when the message is: a restart loses none, and a
// message stored before the member chose is never announced. notify/voicemail_notices.h sends
// them: it takes the due rows, counts an attempt on each before it tries (so a crash mid-send
// retries on the schedule rather than at once), and removes the row once the email is sent, given
// up, or moot (the message or its box gone, the choice turned off). A row holds ids and the
// schedule only, nothing of the message.
//
// Thread-safety: free functions on the caller's transaction; safe from any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "store/store.h"

namespace privox::voicemail {

struct PendingNotice {
  std::string message_id, box_id, company_id;
  int64_t attempts = 0;            // tries so far
  int64_t next_attempt_at_us = 0;  // due from then
};

// Owes the message's box member a notice, first due at `now_us`. A message queued twice keeps
// its first row. Called by StoreSink inside the transaction that stores the message.
Status queue_notice(store::Session& s, const std::string& message_id, const std::string& box_id,
                    const std::string& company_id, int64_t now_us);

// The notices due at `now_us`, soonest due first, at most `limit`.
Result<std::vector<PendingNotice>> due_notices(store::Session& s, int64_t now_us, size_t limit);

// Counts one attempt at the notice and makes it due again at `retry_at_us` (when this attempt
// fails). False when it is no longer due at `now_us` (another pass took it) or is gone.
Result<bool> begin_notice_attempt(store::Session& s, const std::string& message_id, int64_t now_us,
                                  int64_t retry_at_us);

// Removes the notice: sent, given up or moot. Removing one that is gone is not an error.
Status finish_notice(store::Session& s, const std::string& message_id);

// Removes the notices of these boxes; returns how many (erasure).
Result<int64_t> delete_notices_of_boxes(store::Session& s, const std::vector<std::string>& boxes);

}  // namespace privox::voicemail
