// The schema of callflow/'s tables, a line's forwarding and do-not-disturb, the company's ring
// groups, its virtual receptionists with their menus (and the codes that record a menu's greeting
// by phone) and its conference rooms, as migration parts (store/schema.h).
// Released parts are never edited: a change is a part of a new version.
#include "callflow/module.h"

namespace privox::callflow {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {19,
       "callflow",
       "call forwarding, do-not-disturb and ring groups",
       {
           // One row per line that has any forwarding or do-not-disturb (callflow/forwarding.h).
           // Per condition: the target's kind and, for a line, group or voicemail box, its id in
           // `_ref`; an external number is sealed under the line's key in `_number_enc` (it may be
           // the member's own mobile), so erasing or destroying that key leaves every copy unreadable.
           R"(CREATE TABLE line_forwarding (
             line_id TEXT PRIMARY KEY REFERENCES extensions (id),
             company_id TEXT NOT NULL,
             dnd {i64} NOT NULL DEFAULT 0 CHECK (dnd IN (0, 1)),
             always_kind TEXT CHECK (always_kind IN ('line', 'group', 'voicemail', 'external')),
             always_ref TEXT,
             always_number_enc {blob},
             busy_kind TEXT CHECK (busy_kind IN ('line', 'group', 'voicemail', 'external')),
             busy_ref TEXT,
             busy_number_enc {blob},
             no_answer_kind TEXT CHECK (no_answer_kind IN ('line', 'group', 'voicemail', 'external')),
             no_answer_ref TEXT,
             no_answer_number_enc {blob},
             unregistered_kind TEXT CHECK (unregistered_kind IN ('line', 'group', 'voicemail', 'external')),
             unregistered_ref TEXT,
             unregistered_number_enc {blob},
             no_answer_seconds {i64} NOT NULL CHECK (no_answer_seconds BETWEEN 5 AND 120),
             updated_at_us {i64} NOT NULL))",
           "CREATE INDEX line_forwarding_company ON line_forwarding (company_id)",
           // A company's ring groups (callflow/groups.h). The overflow is the company's
           // configuration and names no person, so an external overflow number is kept in clear
           // in overflow_ref.
           R"(CREATE TABLE ring_groups (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL REFERENCES companies (id),
             number TEXT NOT NULL,
             name TEXT NOT NULL,
             strategy TEXT NOT NULL CHECK (strategy IN ('simultaneous', 'sequential', 'round_robin')),
             ring_seconds {i64} NOT NULL CHECK (ring_seconds BETWEEN 5 AND 120),
             overflow_kind TEXT CHECK (overflow_kind IN ('line', 'group', 'voicemail', 'external')),
             overflow_ref TEXT,
             created_at_us {i64} NOT NULL,
             updated_at_us {i64} NOT NULL,
             UNIQUE (company_id, number)))",
           // A group's members in ringing order; a line removed leaves every group it was in.
           R"(CREATE TABLE ring_group_members (
             group_id TEXT NOT NULL REFERENCES ring_groups (id),
             position {i64} NOT NULL,
             line_id TEXT NOT NULL REFERENCES extensions (id),
             PRIMARY KEY (group_id, position),
             UNIQUE (group_id, line_id)))",
           "CREATE INDEX ring_group_members_line ON ring_group_members (line_id)",
       }},
      {20,
       "callflow",
       "virtual receptionists and their menus",
       {
           // A company's menus (callflow/receptionist.h). Each menu is a subject of its own: its
           // greeting (someone's recorded voice) is sealed under the menu's key in greeting_enc,
           // and removing the menu destroys the key. The timeout action, like a key's, is the
           // company's configuration: a kind and, for a line, group, box or menu, its id in
           // `_ref`, for an external number the number in E.164 (a business number the company
           // chose, as a ring group's overflow).
           R"(CREATE TABLE receptionist_menus (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL REFERENCES companies (id),
             name TEXT NOT NULL,
             timeout_seconds {i64} NOT NULL CHECK (timeout_seconds BETWEEN 2 AND 30),
             timeout_kind TEXT CHECK (timeout_kind IN
               ('line', 'group', 'voicemail', 'external', 'menu', 'dial_by_extension', 'repeat')),
             timeout_ref TEXT,
             greeting_enc {blob},
             greeting_ms {i64} NOT NULL DEFAULT 0,
             created_at_us {i64} NOT NULL,
             updated_at_us {i64} NOT NULL))",
           "CREATE INDEX receptionist_menus_company ON receptionist_menus (company_id)",
           // What each key of a menu does; `ref` is '' for dial_by_extension and repeat.
           R"(CREATE TABLE receptionist_menu_keys (
             menu_id TEXT NOT NULL REFERENCES receptionist_menus (id),
             menu_key TEXT NOT NULL CHECK (menu_key IN
               ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#')),
             kind TEXT NOT NULL CHECK (kind IN
               ('line', 'group', 'voicemail', 'external', 'menu', 'dial_by_extension', 'repeat')),
             ref TEXT NOT NULL,
             PRIMARY KEY (menu_id, menu_key)))",
           "CREATE INDEX receptionist_menu_keys_target ON receptionist_menu_keys (kind, ref)",
           // A receptionist's number shares the company's plan with its lines and ring groups
           // (checked in code; the UNIQUE catches two receptionists written at once), and its DID
           // is unique among receptionists here and among lines in code.
           R"(CREATE TABLE receptionists (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL REFERENCES companies (id),
             number TEXT NOT NULL,
             name TEXT NOT NULL,
             did TEXT UNIQUE,
             open_menu_id TEXT NOT NULL REFERENCES receptionist_menus (id),
             closed_menu_id TEXT REFERENCES receptionist_menus (id),
             created_at_us {i64} NOT NULL,
             updated_at_us {i64} NOT NULL,
             UNIQUE (company_id, number)))",
       }},
      {20,
       "callflow",
       "a company's music on hold",
       {
           // One row per company that uploaded its own music (callflow/music.h): the company's
           // content, not personal data, kept as the 8 kHz mono 16-bit WAV rtpengine plays.
           // content_hash names the file every node writes for its rtpengine.
           R"(CREATE TABLE company_music (
             company_id TEXT PRIMARY KEY REFERENCES companies (id),
             wav {blob} NOT NULL,
             duration_ms {i64} NOT NULL,
             content_hash TEXT NOT NULL,
             updated_at_us {i64} NOT NULL))",
       }},
      {21,
       "callflow",
       "conference rooms",
       {
           // A conference bridge's rooms (callflow/conference.h): a company's own, numbered in its
           // plan, or one line's (line_id set, number NULL: dialled as *88 and the line's number).
           // Each room is a subject of its own: its PIN (4-12 digits, a secret the host hands
           // out, read back by the portal) is sealed under the room's key in pin_enc, never kept
           // in clear. Its number shares the company's plan with lines, ring groups and
           // receptionists (checked in code; the UNIQUE catches two rooms written at once; NULLs
           // never clash), its DID the public numbers of lines and receptionists.
           R"(CREATE TABLE conference_rooms (
             id TEXT PRIMARY KEY,
             company_id TEXT NOT NULL REFERENCES companies (id),
             line_id TEXT UNIQUE REFERENCES extensions (id),
             number TEXT,
             name TEXT NOT NULL,
             did TEXT UNIQUE,
             pin_enc {blob} NOT NULL,
             created_at_us {i64} NOT NULL,
             updated_at_us {i64} NOT NULL,
             CHECK ((line_id IS NULL) = (number IS NOT NULL)),
             UNIQUE (company_id, number)))",
       }},
      {22,
       "callflow",
       "codes to record a menu's greeting by phone",
       {
           // One live code per menu (callflow/receptionist.h, kRecordMenuCode): six digits an
           // office manager keys after *87 to record the menu's greeting from a line of the
           // company. Only a keyed hash is kept (the keyring's blind index over the menu's id and
           // the code), so a copy of the store, whose key lives outside it, does not give the code
           // away; a new code replaces the row, a claimed one deletes it, and the menu's removal
           // takes it along.
           R"(CREATE TABLE menu_recording_codes (
             menu_id TEXT PRIMARY KEY REFERENCES receptionist_menus (id) ON DELETE CASCADE,
             company_id TEXT NOT NULL REFERENCES companies (id),
             code_hash {blob} NOT NULL,
             expires_at_us {i64} NOT NULL))",
           "CREATE INDEX menu_recording_codes_company ON menu_recording_codes (company_id, expires_at_us)",
       }},
  };
}

}  // namespace privox::callflow
