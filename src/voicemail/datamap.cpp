// The data map's part for voicemail/: the messages callers leave in a line's box (privacy/datamap.h).
// Content (the policy's "voicemails"): kept for the service only, within the operator's count and
// age limits (retention.voicemail_max_messages, retention.voicemail_max_age_days), deleted when the
// line's member is erased, and in their access export. A line's own greeting (the member's voice,
// played to whoever calls the line): kept while the line exists and is theirs, until they replace
// or delete it, deleted when they are erased, and in their access export. A box's options (its PIN,
// as a one-way hash, and the email-notice choice): kept while the line is theirs, deleted on erasure.
#include "voicemail/module.h"

#include <array>

namespace privox::voicemail {
namespace {

using privacy::Category;
using privacy::ErasureTreatment;
using privacy::FieldSpec;
using privacy::Format;
using privacy::LegalBasis;
using privacy::Protection;
using privacy::PurposeSet;
using privacy::RetentionRule;
using privacy::StructuralColumn;
using enum privacy::Purpose;

// Legal: a message under a legal hold may have to be produced to an authority.
constexpr PurposeSet kVoicemail = service | legal;
constexpr std::string_view kMetaInClear =
    "needed in clear to list a box newest first, count its new and old messages and delete the oldest when "
    "the operator's limits say so; says when and how a message was left, not who left it or what it says: "
    "the caller and the audio are sealed under the line's key";

constexpr std::string_view kGreetingMetaInClear =
    "needed in clear to show the member how long their greeting is and when they set it; says nothing of what "
    "it says: the audio is sealed under the line's key";

// The box's options serve the member's own use of their box, and nothing else.
constexpr PurposeSet kOptions = static_cast<PurposeSet>(privacy::Purpose::service);
constexpr std::string_view kOptionsInClear =
    "a choice among three words (or when it was made): needed in clear to decide, as a message is stored, whether "
    "and how to email its owner; says nothing of who called or what was said";

// clang-format off
constexpr std::array<FieldSpec, 13> kFields = {
  FieldSpec{"voicemail_caller", "voicemail_messages", "caller_enc", "", Category::content, false,
            kVoicemail, LegalBasis::contract, RetentionRule::operator_limit,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 256, "the number or SIP address of who left the message, as the call log knows it",
            "Who left a voicemail",
            "The number or address of the person who left you a voicemail, unless they withheld it."},
  FieldSpec{"voicemail_caller_withheld", "voicemail_messages", "caller_withheld", "", Category::content, true,
            kVoicemail, LegalBasis::contract, RetentionRule::operator_limit,
            ErasureTreatment::erase, "", true,
            Protection::none, "a flag, not a number: every reader must see it to keep a withheld caller withheld (P13)",
            Format::recorded, 1, "whether the caller withheld their number (SIP Privacy: id)",
            "Whether a voicemail's caller hid their number",
            "Whether the person who left you a voicemail withheld their number, so that we keep it hidden from you too."},
  FieldSpec{"voicemail_received_at", "voicemail_messages", "received_at_us", "", Category::content, true,
            kVoicemail, LegalBasis::contract, RetentionRule::operator_limit,
            ErasureTreatment::erase, "", true, Protection::none, kMetaInClear,
            Format::recorded, 20, "when the voicemail was left (UTC)",
            "When a voicemail was left",
            "When someone left you a voicemail."},
  FieldSpec{"voicemail_duration", "voicemail_messages", "duration_ms", "", Category::content, true,
            kVoicemail, LegalBasis::contract, RetentionRule::operator_limit,
            ErasureTreatment::erase, "", true, Protection::none, kMetaInClear,
            Format::recorded, 20, "how long the recording is, in milliseconds",
            "How long a voicemail is",
            "How long the voicemail someone left you lasts."},
  FieldSpec{"voicemail_end_reason", "voicemail_messages", "end_reason", "", Category::content, true,
            kVoicemail, LegalBasis::contract, RetentionRule::operator_limit,
            ErasureTreatment::erase, "", true, Protection::none, kMetaInClear,
            Format::recorded, 16, "why the recording ended: hangup, key, silence or max_length",
            "Why a voicemail recording ended",
            "Whether the caller hung up, pressed a key, fell silent or reached the longest message you can receive."},
  FieldSpec{"voicemail_audio", "voicemail_messages", "audio_enc", "", Category::content, true,
            kVoicemail, LegalBasis::contract, RetentionRule::operator_limit,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 8'000'000, "the recorded message, Ogg Opus mono; never stored or logged in clear",
            "Voicemail recordings",
            "The recording of each voicemail someone left you, which only you can listen to."},
  FieldSpec{"voicemail_heard_at", "voicemail_messages", "heard_at_us", "", Category::content, false,
            kVoicemail, LegalBasis::contract, RetentionRule::operator_limit,
            ErasureTreatment::erase, "", true, Protection::none, kMetaInClear,
            Format::recorded, 20, "when the box's member first marked the message heard (UTC); empty while new",
            "When you heard a voicemail",
            "When you first listened to or marked a voicemail as heard, so that your phone can tell you of new ones."},
  FieldSpec{"voicemail_greeting", "voicemail_greetings", "audio_enc", "", Category::content, true,
            kVoicemail, LegalBasis::contract, RetentionRule::while_line_is_theirs,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 2'000'000, "the line's own voicemail greeting as uploaded by its member, Ogg Opus mono 8 kHz, at most 60 s; never stored or logged in clear",
            "Your voicemail greeting",
            "The greeting you recorded for your line, which callers hear when you do not answer."},
  FieldSpec{"voicemail_greeting_duration", "voicemail_greetings", "duration_ms", "", Category::content, true,
            kVoicemail, LegalBasis::contract, RetentionRule::while_line_is_theirs,
            ErasureTreatment::erase, "", true, Protection::none, kGreetingMetaInClear,
            Format::recorded, 20, "how long the greeting plays, in milliseconds",
            "How long your voicemail greeting is",
            "How long the greeting you recorded for your line plays."},
  FieldSpec{"voicemail_greeting_updated_at", "voicemail_greetings", "updated_at_us", "", Category::content, true,
            kVoicemail, LegalBasis::contract, RetentionRule::while_line_is_theirs,
            ErasureTreatment::erase, "", true, Protection::none, kGreetingMetaInClear,
            Format::recorded, 20, "when the greeting was last uploaded (UTC)",
            "When you set your voicemail greeting",
            "When you last uploaded the greeting for your line."},
  FieldSpec{"voicemail_pin_hash", "voicemail_box_options", "pin_hash", "", Category::content, false,
            kOptions, LegalBasis::contract, RetentionRule::while_line_is_theirs,
            ErasureTreatment::erase, "", false,
            Protection::none, "a one-way Argon2id hash of the PIN, salted per box: nothing to decrypt, and needed to "
            "check the PIN before the box's messages are opened",
            Format::token, 128, "the PIN that opens the box from any of the company's lines, as an Argon2id hash; never the PIN",
            "Voicemail PIN (stored only as a one-way hash)",
            "The PIN you chose to reach your voicemail from another phone, kept only as a one-way hash that lets us check it."},
  FieldSpec{"voicemail_email_notice", "voicemail_box_options", "email_notice", "", Category::content, true,
            kOptions, LegalBasis::contract, RetentionRule::while_line_is_theirs,
            ErasureTreatment::erase, "", true,
            Protection::none, kOptionsInClear,
            Format::recorded, 8, "whether a new message is emailed to the line's member: off, notice (no audio) or audio",
            "Voicemail email notice",
            "Whether we email you when someone leaves you a voicemail, and whether the recording is attached."},
  FieldSpec{"voicemail_options_updated_at", "voicemail_box_options", "updated_at_us", "", Category::content, true,
            kOptions, LegalBasis::contract, RetentionRule::while_line_is_theirs,
            ErasureTreatment::erase, "", true, Protection::none, kOptionsInClear,
            Format::recorded, 20, "when the box's PIN or email choice last changed (UTC)",
            "When you changed your voicemail options",
            "When you last set your voicemail PIN or your email notice choice."},
};

constexpr std::array<StructuralColumn, 13> kStructural = {
  StructuralColumn{"voicemail_messages", "id", "random identifier of a voicemail message"},
  StructuralColumn{"voicemail_messages", "company_id", "which tenant the box belongs to; a business, not a person"},
  StructuralColumn{"voicemail_messages", "box_id", "pseudonymous id of the line (extension) whose box it is; its key seals the caller and the audio"},
  StructuralColumn{"voicemail_messages", "call_record_id", "random identifier of the traffic record of the call that left the message"},
  StructuralColumn{"voicemail_greetings", "box_id", "pseudonymous id of the line (extension) whose greeting it is; its key seals the audio"},
  StructuralColumn{"voicemail_greetings", "company_id", "which tenant the line belongs to; a business, not a person"},
  StructuralColumn{"voicemail_box_options", "box_id", "pseudonymous id of the line (extension) whose options they are"},
  StructuralColumn{"voicemail_box_options", "company_id", "which tenant the line belongs to; a business, not a person"},
  StructuralColumn{"voicemail_notices", "message_id", "random identifier of the voicemail message an email notice is owed for; the row goes once it is sent, given up or moot"},
  StructuralColumn{"voicemail_notices", "box_id", "pseudonymous id of the line whose member the notice is for"},
  StructuralColumn{"voicemail_notices", "company_id", "which tenant the line belongs to; a business, not a person"},
  StructuralColumn{"voicemail_notices", "attempts", "how many times sending the notice was tried: delivery bookkeeping, bounded and deleted with the row"},
  StructuralColumn{"voicemail_notices", "next_attempt_at_us", "when the next try to send the notice is due: delivery bookkeeping, no closer to the message's own received time (kept beside it) and deleted with the row within a day"},
};
// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"voicemail", kFields, kStructural}; }

}  // namespace privox::voicemail
