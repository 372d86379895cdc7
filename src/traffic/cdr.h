#pragma once
// Reading traffic records back (`privox cdr list`): each personal field opened under its
// subject's key only when the data map lets the named purpose use it, a withheld caller shown
// only for billing and legal, and every subject whose records were read named in the audit chain.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "privacy/datamap.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::traffic {

struct CdrQuery {
  privacy::Purpose purpose = privacy::Purpose::billing;
  int64_t since_us = 0;  // records started at or after
  std::string company_id;  // empty: every company
  size_t limit = 100'000;
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
};

Result<std::vector<CdrRow>> list_records(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                         const CdrQuery& query, const std::string& actor);

// A header line, then one line per record (RFC 4180 quoting).
std::string to_csv(const std::vector<CdrRow>& rows);
nlohmann::json to_json(const std::vector<CdrRow>& rows);

// "2026-11-26", "2026-11-26T10:00:00Z" (fraction allowed) or seconds since the epoch.
std::optional<int64_t> parse_time(std::string_view text);

}  // namespace privox::traffic
