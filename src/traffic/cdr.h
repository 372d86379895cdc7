#pragma once
// Reading traffic records back (`privox cdr list`): each personal field opened under its
// subject's key only when the data map lets the named purpose use it, a withheld caller shown
// only for billing and legal, and every subject whose records were read named in the audit chain.

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "privacy/datamap.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::traffic {

using privox::parse_time;  // common/clock.h; named here too for the call-log cursors

// Who reads the records, for the rule of a withheld caller (shows_withheld_caller).
enum class Viewer {
  staff,        // the operator's staff, with the purpose they named
  line_holder,  // the member the lines belong to, reading their own records (an access export)
};

struct CdrQuery {
  privacy::Purpose purpose = privacy::Purpose::billing;
  Viewer viewer = Viewer::staff;
  int64_t since_us = 0;  // records started at or after
  std::string company_id;  // empty: every company
  size_t limit = 100'000;
  int64_t until_us = 0;                  // records started before; 0: no bound
  std::vector<std::string> subject_ids;  // non-empty: only these lines (extension ids)
  std::string direction;                 // internal | outbound | inbound; empty: any
  std::string kind;                      // voice | sms; empty: any
  // A member's call log: leaves out the records the retention limits hid from it
  // (log_hidden_at_us); billing and legal views keep them.
  bool call_log = false;
  // Newest first, starting after this (started_at_us, id) cursor; without it, oldest first.
  bool newest_first = false;
  std::optional<std::pair<int64_t, std::string>> after;
};

struct CdrRow {
  std::string id, company_id, subject_id, direction, kind;
  std::optional<std::string> source, destination;  // nullopt: not for this purpose
  bool source_withheld = false;
  int64_t started_at_us = 0, answered_at_us = 0, ended_at_us = 0, duration_ms = 0;
  std::string outcome;
  int64_t failure_code = 0;
  std::string end_reason, trunk_id;
  std::optional<std::string> caller_equipment, callee_equipment;
  // What the call cost (rating/), in millionths of `cost_currency`; nullopt when not rated.
  std::optional<int64_t> cost_micros;
  std::string cost_currency;
  // Whether the caller's and the callee's legs were encrypted (TLS and SRTP); nullopt: not known.
  std::optional<bool> caller_encrypted, callee_encrypted;
};

// The records the query selects, in its order. One write transaction reads them with their
// subjects' wrapped keys and appends ONE `traffic.list` audit entry for the whole read (none when
// nothing matched): detail {"records": total, "subjects": {subject id: count, ...}} names every
// subject read, and the entry's subject_id is that subject when there is only one (else empty).
// The sealed fields are opened after the commit, through Keyring::unwrap_cached: a field reads
// "erased" when its subject's key was gone at the read, "unreadable" when it does not open.
// Thread-safe. Errors are store errors only (nothing is returned, and nothing audited, when one
// occurs).
Result<std::vector<CdrRow>> list_records(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                         const CdrQuery& query, const std::string& actor);

// Every record of these lines, oldest first, read and opened inside the caller's transaction for
// `purpose` (an access export reads its subject's lines for purpose service, and audits the export
// as a whole). The same decoding as list_records.
Result<std::vector<CdrRow>> records_of_lines(store::Session& s, const privacy::Keyring& keys,
                                             const std::vector<std::string>& lines, privacy::Purpose purpose,
                                             Viewer viewer);

// What statistics read of a record: its unsealed columns only, never a party or a device.
struct RecordSummary {
  std::string subject_id;  // the line, or kAnonymisedSubject (anonymise.h)
  std::string company_id, direction, outcome;
  int64_t started_at_us = 0;
  int64_t duration_ms = -1;  // -1: none (never answered, or still open)
};
// Every record started in [since_us, until_us), in no particular order.
Result<std::vector<RecordSummary>> record_summaries(store::Session& s, int64_t since_us, int64_t until_us);

// How many calls these lines took part in since a moment, by how they went: what a dashboard
// shows. Voice calls only, and only those still in the members' call log (log_hidden_at_us);
// counted from unsealed columns, so nothing personal is opened or returned.
struct CallCounts {
  int64_t total = 0, answered = 0, in_progress = 0;
  int64_t not_answered() const { return total - answered - in_progress; }
};
Result<CallCounts> count_calls(store::Session& s, const std::vector<std::string>& lines, int64_t since_us);

// The trunks that carried any record of these lines, sorted (for the disclosure register: a
// carrier received the traffic data of the calls it routed).
Result<std::vector<std::string>> trunks_used_by(store::Session& s, const std::vector<std::string>& lines);

// The one rule for a caller who withheld their number (SIP Privacy: id, P13): the number and the
// caller's device are shown to staff only for billing or legal, and to the line's own member only
// where their line placed the call (the number is their own); everyone else reads "withheld".
bool shows_withheld_caller(std::string_view direction, privacy::Purpose purpose, Viewer viewer);

// A header line, then one line per record (RFC 4180 quoting).
// A cost in micro-units as an exact decimal of its currency: 12500 -> "0.0125", 2000000 -> "2.00".
std::string cost_text(int64_t micros);
std::string to_csv(const std::vector<CdrRow>& rows);
nlohmann::json to_json(const std::vector<CdrRow>& rows);


}  // namespace privox::traffic
