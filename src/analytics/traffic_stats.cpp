#include "analytics/traffic_stats.h"

#include <map>
#include <set>

#include "analytics/cells.h"
#include "privacy/audit.h"
#include "retention/retention.h"
#include "store/settings.h"

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

std::string cell_key(GroupBy by, const store::Row& r) {
  switch (by) {
    case GroupBy::company: return r.text(1);
    case GroupBy::direction: return r.text(2);
    case GroupBy::day: return format_date(utc_date(r.i64(3)));
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
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT subject_id, company_id, direction, started_at_us, outcome, "
                                            "duration_ms FROM traffic_records WHERE started_at_us >= ? "
                                            "AND started_at_us < ?",
                                            {query.since_us, query.until_us}));
    for (const store::Row& r : rows) {
      Tally& t = tallies[cell_key(query.by, r)];
      const std::string& line = r.text(0);
      if (line != retention::kAnonymisedSubject) {
        t.lines.insert(line);
        all_lines.insert(line);
      }
      ++t.calls;
      if (r.text(4) == "answered") ++t.answered;
      if (!r.is_null(5)) t.duration_ms += r.i64(5);
    }
    std::vector<Cell> cells;
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
