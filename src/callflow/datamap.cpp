// The data map's part for callflow/ (privacy/datamap.h). A line's forwarding to an external number
// may send calls to the member's own mobile: that number is theirs, kept for the service only
// while the line is theirs, sealed under the line's key, in their access export and deleted when
// they are erased. Everything else (which condition goes to which line, group or box, the
// do-not-disturb switch, ring groups, receptionists and their menus) is the company's configuration
// of its own phone system and names no person: ids, switches and numbers of the company's plan. A
// menu's greeting is the exception: someone's recorded voice, sealed under the menu's own key. A
// conference room's PIN is no person's data but a credential, so it is sealed under the room's own
// key too (like a line's digest HA1, a structural column that says so), and so is the one-use code
// that records a menu's greeting by phone, kept only as a keyed hash.
#include <array>

#include "callflow/module.h"

namespace privox::callflow {
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

constexpr PurposeSet kService = static_cast<PurposeSet>(privacy::Purpose::service);

// clang-format off
constexpr FieldSpec forward_number(std::string_view name, std::string_view column, std::string_view description,
                                   std::string_view label, std::string_view plain) {
  return FieldSpec{name, "line_forwarding", column, "", Category::identity_contact, false,
                   kService, LegalBasis::contract, RetentionRule::while_line_is_theirs,
                   ErasureTreatment::erase, "", true, Protection::per_subject, "",
                   Format::phone, 16, description, label, plain};
}

constexpr std::array<FieldSpec, 5> kFields = {
  forward_number("forward_always_number", "always_number_enc",
                 "the external number (E.164) every call to the line is forwarded to, sealed under the line's key",
                 "Number your calls are always forwarded to",
                 "The outside number, such as your mobile, that you had every call to your line sent to."),
  forward_number("forward_busy_number", "busy_number_enc",
                 "the external number (E.164) calls go to when the line is busy, sealed under the line's key",
                 "Number your calls go to when you are busy",
                 "The outside number, such as your mobile, that calls go to when your line is busy or on do-not-disturb."),
  forward_number("forward_no_answer_number", "no_answer_number_enc",
                 "the external number (E.164) calls go to when the line does not answer in time, sealed under the line's key",
                 "Number your calls go to when you do not answer",
                 "The outside number, such as your mobile, that calls go to when you do not answer in time."),
  forward_number("forward_unregistered_number", "unregistered_number_enc",
                 "the external number (E.164) calls go to when no phone of the line is connected, sealed under the line's key",
                 "Number your calls go to when your phone is off",
                 "The outside number, such as your mobile, that calls go to when none of your phones is connected."),
  // A menu's greeting is someone's recorded voice (content, like a voicemail greeting), though the
  // company's rather than a member's: no member is linked to it, so it is in no one's export; the
  // company replaces or deletes it, and removing the menu destroys its key.
  FieldSpec{"receptionist_menu_greeting", "receptionist_menus", "greeting_enc", "", Category::content, false,
            kService, LegalBasis::contract, RetentionRule::while_company_active,
            ErasureTreatment::erase, "", false, Protection::per_subject, "",
            Format::recorded, 2'000'000,
            "the greeting of a virtual receptionist's menu as the company uploaded or recorded it (a voice recording), "
            "Ogg Opus mono 8 kHz, at most 60 s, sealed under the menu's own key; never stored or logged in clear",
            "Phone menu greetings",
            "A greeting someone at your company recorded for one of its phone menus, which callers hear when the virtual receptionist answers."},
};

constexpr std::string_view kKind =
    "which kind of target a condition sends calls to (line, group, voicemail, external): configuration, no person's data";
constexpr std::string_view kMenuActionKind =
    "what a menu key or timeout does (line, group, voicemail, external, menu, dial_by_extension, repeat): "
    "configuration, no person's data";
constexpr std::string_view kMenuActionRef =
    "the id of the company's line, ring group, voicemail box or menu a key or timeout sends callers to, or the "
    "company's external number (a business number it chose, as a ring group's overflow); empty for the rest";
constexpr std::string_view kRef =
    "the id of the company's line, ring group or voicemail box a condition sends calls to; never an external number, "
    "which is sealed in its own column";

constexpr std::array<StructuralColumn, 66> kStructural = {
  StructuralColumn{"line_forwarding", "line_id", "pseudonymous id of the line (extension) whose forwarding it is; its key seals the external numbers"},
  StructuralColumn{"line_forwarding", "company_id", "which tenant the line belongs to; a business, not a person"},
  StructuralColumn{"line_forwarding", "dnd", "a switch: whether the line's phones ring at all; the company's phone system setting, not a fact about a person"},
  StructuralColumn{"line_forwarding", "always_kind", kKind},
  StructuralColumn{"line_forwarding", "always_ref", kRef},
  StructuralColumn{"line_forwarding", "busy_kind", kKind},
  StructuralColumn{"line_forwarding", "busy_ref", kRef},
  StructuralColumn{"line_forwarding", "no_answer_kind", kKind},
  StructuralColumn{"line_forwarding", "no_answer_ref", kRef},
  StructuralColumn{"line_forwarding", "unregistered_kind", kKind},
  StructuralColumn{"line_forwarding", "unregistered_ref", kRef},
  StructuralColumn{"line_forwarding", "no_answer_seconds", "how long the line rings before its no-answer forward: a setting"},
  StructuralColumn{"line_forwarding", "updated_at_us", "when the line's forwarding last changed: bookkeeping of a setting, deleted with the row"},
  StructuralColumn{"ring_groups", "id", "random identifier of a ring group"},
  StructuralColumn{"ring_groups", "company_id", "which tenant the group belongs to; a business, not a person"},
  StructuralColumn{"ring_groups", "number", "the group's number in the company's own plan (2-8 digits), not a public number"},
  StructuralColumn{"ring_groups", "name", "what the company calls the group (\"Sales\"); the portal refuses card numbers in it and it names a team, not a person"},
  StructuralColumn{"ring_groups", "strategy", "how the group rings its lines: a setting"},
  StructuralColumn{"ring_groups", "ring_seconds", "how long each step rings: a setting"},
  StructuralColumn{"ring_groups", "overflow_kind", kKind},
  StructuralColumn{"ring_groups", "overflow_ref", "the id of the line, group or box the group overflows to, or the company's external overflow number (a business number it chose, not a member's)"},
  StructuralColumn{"ring_groups", "created_at_us", "when the group was created: bookkeeping of the company's configuration"},
  StructuralColumn{"ring_groups", "updated_at_us", "when the group last changed: bookkeeping of the company's configuration"},
  StructuralColumn{"ring_group_members", "group_id", "random identifier of the ring group"},
  StructuralColumn{"ring_group_members", "position", "the line's place in the group's ringing order"},
  StructuralColumn{"ring_group_members", "line_id", "pseudonymous id of a member line of the group"},
  StructuralColumn{"receptionist_menus", "id", "random identifier of a receptionist's menu; the subject whose key seals its greeting"},
  StructuralColumn{"receptionist_menus", "company_id", "which tenant the menu belongs to; a business, not a person"},
  StructuralColumn{"receptionist_menus", "name", "what the company calls the menu (\"Main menu\"); the portal refuses card numbers in it and it names a menu, not a person"},
  StructuralColumn{"receptionist_menus", "timeout_seconds", "how long the menu waits for a key after its greeting: a setting"},
  StructuralColumn{"receptionist_menus", "timeout_kind", kMenuActionKind},
  StructuralColumn{"receptionist_menus", "timeout_ref", kMenuActionRef},
  StructuralColumn{"receptionist_menus", "greeting_ms", "how long the menu's greeting plays; says nothing of what it says or whose voice it is"},
  StructuralColumn{"receptionist_menus", "created_at_us", "when the menu was created: bookkeeping of the company's configuration"},
  StructuralColumn{"receptionist_menus", "updated_at_us", "when the menu or its greeting last changed: bookkeeping of the company's configuration"},
  StructuralColumn{"receptionist_menu_keys", "menu_id", "random identifier of the menu"},
  StructuralColumn{"receptionist_menu_keys", "menu_key", "which key of the keypad (0-9, *, #) the row is for"},
  StructuralColumn{"receptionist_menu_keys", "kind", kMenuActionKind},
  StructuralColumn{"receptionist_menu_keys", "ref", kMenuActionRef},
  StructuralColumn{"menu_recording_codes", "menu_id", "random identifier of the menu whose greeting the code records by phone"},
  StructuralColumn{"menu_recording_codes", "company_id", "which tenant the menu belongs to; a business, not a person: a code works only from the company's own lines"},
  StructuralColumn{"menu_recording_codes", "code_hash", "the one-use code (6 digits) an office manager keys after *87 to record the menu's greeting, a credential, not about a person: "
                   "kept only as a keyed BLAKE2b hash (the keyring's blind-index key, which never enters the store) bound to the menu, "
                   "never in clear in the store, an audit entry, a log or an error; deleted when claimed, replaced or the menu goes"},
  StructuralColumn{"menu_recording_codes", "expires_at_us", "when the code stops working (10 minutes after it was asked for)"},
  StructuralColumn{"receptionists", "id", "random identifier of a virtual receptionist"},
  StructuralColumn{"receptionists", "company_id", "which tenant the receptionist belongs to; a business, not a person"},
  StructuralColumn{"receptionists", "number", "the receptionist's number in the company's own plan (2-8 digits), not a public number"},
  StructuralColumn{"receptionists", "name", "what the company calls the receptionist (\"Front desk\"); the portal refuses card numbers in it and it names a service, not a person"},
  StructuralColumn{"receptionists", "did", "the company's public number (E.164) the receptionist answers: a business number, as a line's DID"},
  StructuralColumn{"receptionists", "open_menu_id", "random identifier of the menu played while the company is open"},
  StructuralColumn{"receptionists", "closed_menu_id", "random identifier of the menu played after hours and on holidays"},
  StructuralColumn{"receptionists", "created_at_us", "when the receptionist was created: bookkeeping of the company's configuration"},
  StructuralColumn{"receptionists", "updated_at_us", "when the receptionist last changed: bookkeeping of the company's configuration"},
  StructuralColumn{"company_music", "company_id", "which tenant the music on hold belongs to; a business, not a person"},
  StructuralColumn{"company_music", "wav", "the music a company plays to callers on hold: the company's content, not personal data (not a recording of a call or of someone's voice message)"},
  StructuralColumn{"company_music", "duration_ms", "how long the company's music on hold plays"},
  StructuralColumn{"company_music", "content_hash", "SHA-256 of the stored music: names the file each node writes for its media relay"},
  StructuralColumn{"company_music", "updated_at_us", "when the company's music on hold last changed: bookkeeping of its configuration"},
  StructuralColumn{"conference_rooms", "id", "random identifier of a conference room; the subject whose key seals its PIN and its calls' parties"},
  StructuralColumn{"conference_rooms", "company_id", "which tenant the room belongs to; a business, not a person"},
  StructuralColumn{"conference_rooms", "line_id", "pseudonymous id of the line whose own room it is (dialled as *88 and the line's number); NULL for a company room"},
  StructuralColumn{"conference_rooms", "number", "a company room's number in the company's own plan (2-8 digits), not a public number; NULL for a line's room"},
  StructuralColumn{"conference_rooms", "name", "what the company calls the room (\"Weekly sales call\"); the portal refuses card numbers in it and it names a meeting place, not a person"},
  StructuralColumn{"conference_rooms", "did", "the company's public number (E.164) that reaches the room: a business number, as a line's DID"},
  StructuralColumn{"conference_rooms", "pin_enc", "the room's PIN (4-12 digits), a credential the host hands out to callers, not about a person: "
                   "sealed (XChaCha20-Poly1305) under the room's own key, read back only audited (conference.pin_read), "
                   "never in clear in the store, an audit entry, a log or an error"},
  StructuralColumn{"conference_rooms", "created_at_us", "when the room was created: bookkeeping of the company's configuration"},
  StructuralColumn{"conference_rooms", "updated_at_us", "when the room last changed: bookkeeping of the company's configuration"},
};
// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"callflow", kFields, kStructural}; }

}  // namespace privox::callflow
