#include "analytics/traffic_stats.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "analytics/cells.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "store/settings.h"
#include "traffic/anonymise.h"
#include "traffic/cdr.h"

namespace privox::analytics {
namespace {

std::string_view group_name(GroupBy by) {
  switch (by) {
    case GroupBy::company: return "company";
    case GroupBy::direction: return "direction";
    case GroupBy::day: return "day";
  }
  return "?";
}

struct Tally {
  std::set<std::string> lines;
  int64_t calls = 0, answered = 0, duration_ms = 0;
};

std::string cell_key(GroupBy by, const traffic::RecordSummary& r) {
  switch (by) {
    case GroupBy::company: return r.company_id;
    case GroupBy::direction: return r.direction;
    case GroupBy::day: return format_date(utc_date(r.started_at_us));
  }
  return "";
}

}  // namespace

Result<nlohmann::json> traffic_stats(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                     const TrafficStatsQuery& query, const std::string& actor) {
  PRIVOX_ASSIGN(int64_t k, min_cell_size(store));
  std::map<std::string, Tally> tallies;
  std::set<std::string> all_lines;
  const privacy::AuditChain audit(keys, clock);
  nlohmann::json out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    tallies.clear();
    all_lines.clear();
    // Distinct lines per cell need the line of every record; the counting happens here, not in
    // SQL, so that the same code serves any grouping. One pass over the period's records.
    PRIVOX_ASSIGN(std::vector<traffic::RecordSummary> records,
                  traffic::record_summaries(s, query.since_us, query.until_us));
    for (const traffic::RecordSummary& r : records) {
      Tally& t = tallies[cell_key(query.by, r)];
      if (r.subject_id != traffic::kAnonymisedSubject) {
        t.lines.insert(r.subject_id);
        all_lines.insert(r.subject_id);
      }
      ++t.calls;
      if (r.outcome == "answered") ++t.answered;
      if (r.duration_ms >= 0) t.duration_ms += r.duration_ms;
    }
    std::vector<Cell> cells;
    cells.reserve(tallies.size());
    for (const auto& [key, t] : tallies)
      cells.push_back({key, static_cast<int64_t>(t.lines.size()),
                       {{"calls", t.calls}, {"answered", t.answered}, {"minutes", t.duration_ms / 60'000}}, false});
    const bool total_released = suppress_small_cells(cells, static_cast<int64_t>(all_lines.size()), k);
    nlohmann::json released = nlohmann::json::array();
    int64_t suppressed = 0;
    for (const Cell& c : cells) {
      released.push_back(to_json(c));
      suppressed += c.suppressed ? 1 : 0;
    }
    out = {{"by", group_name(query.by)}, {"k", k}, {"cells", released}};
    out["people"] = total_released ? nlohmann::json(all_lines.size()) : nlohmann::json("suppressed");
    PRIVOX_TRY(audit.append(s, {actor, "stats.calls", "", "",
                                {{"by", group_name(query.by)}, {"cells", cells.size()}, {"suppressed", suppressed}}}));
    return {};
  }));
  return out;
}

}  // namespace privox::analytics
