// The schema of callflow/'s tables, a line's forwarding and do-not-disturb and the company's ring
// groups, as a migration part (store/schema.h). Released parts are never edited: a change is a
// part of a new version.
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
  };
}

}  // namespace privox::callflow
