// voicemail/'s part in erasing a member (privacy/erasure_part.h). A box is the line's, sealed under
// the line's key, which outlives the member (the line stays with the company). So the member's
// lines' messages, greetings and box options are deleted here, rows and all; erasure refuses beforehand while a legal hold is
// in force, so nothing held is touched. A copy in a backup stays sealed under the line's key.
#include "voicemail/module.h"
#include "voicemail/greetings.h"
#include "voicemail/notices.h"
#include "voicemail/options.h"
#include "voicemail/store.h"

namespace privox::voicemail {
namespace {

Result<std::vector<privacy::ErasureItem>> erase(const privacy::ErasureSubject& subject,
                                                const privacy::ErasureContext& context) {
  std::vector<privacy::ErasureItem> items;
  PRIVOX_ASSIGN(const int64_t deleted, delete_messages_of_boxes(context.tx, subject.lines));
  if (deleted > 0)
    items.push_back({.item = "voicemail messages", .outcome = "erased", .count = deleted, .how = "rows deleted"});
  PRIVOX_ASSIGN(const int64_t greetings, delete_greetings_of_boxes(context.tx, subject.lines));
  if (greetings > 0)
    items.push_back({.item = "voicemail greetings", .outcome = "erased", .count = greetings, .how = "rows deleted"});
  // Notices still owed name only ids, but they are the member's: they go with the messages.
  PRIVOX_ASSIGN(const int64_t notices, delete_notices_of_boxes(context.tx, subject.lines));
  if (notices > 0)
    items.push_back({.item = "voicemail email notices not yet sent", .outcome = "erased", .count = notices,
                     .how = "rows deleted"});
  PRIVOX_ASSIGN(const int64_t options, delete_options_of_boxes(context.tx, subject.lines));
  if (options > 0)
    items.push_back({.item = "voicemail PINs and email choices", .outcome = "erased", .count = options,
                     .how = "rows deleted"});
  return items;
}

}  // namespace

privacy::ErasureParticipantSpec erasure_participant() { return {"voicemail", erase}; }

}  // namespace privox::voicemail
