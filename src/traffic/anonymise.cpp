#include "traffic/anonymise.h"

#include <fmt/format.h>

#include <algorithm>

#include "numbers/number_prefix.h"

namespace privox::traffic {
namespace {

// Rows per UPDATE ... FROM (VALUES ...): few distinct statements for the SQLite statement cache,
// well under both backends' limits on parameters.
constexpr size_t kUpdateChunk = 500;

// Written so both backends bound a scan of traffic_records_to_anonymise with the first two terms.
std::string range_sql(const DueKey& from, const DueKey& to, store::Params& params) {
  params.insert(params.end(), {from.ended_at_us, to.ended_at_us, from.ended_at_us, from.id, to.ended_at_us, to.id});
  return "ended_at_us >= ? AND ended_at_us <= ? AND (ended_at_us > ? OR id > ?) AND (ended_at_us < ? OR id <= ?)";
}

// " AND subject_id [NOT] IN (...)" over `ids`; nothing for an empty NOT IN.
std::string in_sql(bool in, const std::vector<std::string>& ids, store::Params& params) {
  if (ids.empty()) return in ? " AND 1 = 0" : "";
  std::string sql = in ? " AND subject_id IN (" : " AND subject_id NOT IN (";
  for (size_t i = 0; i < ids.size(); ++i) {
    sql += i ? ", ?" : "?";
    params.push_back(ids[i]);
  }
  return sql + ")";
}

}  // namespace

Result<std::optional<DueKey>> Anonymiser::batch_end(store::Session& s, int64_t cutoff_us, const DueKey& after,
                                                    size_t limit) {
  const std::string due = "SELECT ended_at_us, id FROM traffic_records WHERE anonymised_at_us IS NULL "
                          "AND ended_at_us < ? AND ended_at_us >= ? AND (ended_at_us > ? OR id > ?) ";
  const store::Params params{cutoff_us, after.ended_at_us, after.ended_at_us, after.id};
  store::Params at_limit = params;
  at_limit.push_back(static_cast<int64_t>(limit) - 1);
  PRIVOX_ASSIGN(store::Rows rows, s.query(due + "ORDER BY ended_at_us, id LIMIT 1 OFFSET ?", at_limit));
  if (rows.empty()) {
    PRIVOX_ASSIGN(rows, s.query(due + "ORDER BY ended_at_us DESC, id DESC LIMIT 1", params));
  }
  if (rows.empty()) return std::optional<DueKey>();
  return std::optional<DueKey>(DueKey{rows[0].i64(0), rows[0].text(1)});
}

Result<std::vector<std::string>> Anonymiser::held_in(store::Session& s, const DueKey& from, const DueKey& to,
                                                     const std::vector<std::string>& held) {
  std::vector<std::string> out;
  if (held.empty()) return out;
  store::Params params;
  std::string sql = "SELECT DISTINCT subject_id FROM traffic_records WHERE anonymised_at_us IS NULL AND ";
  sql += range_sql(from, to, params);  // in this order: each appends its parameters
  sql += in_sql(true, held, params);
  PRIVOX_ASSIGN(store::Rows rows, s.query(sql + " ORDER BY subject_id", params));
  for (const store::Row& r : rows) out.push_back(r.text(0));
  return out;
}

Result<int64_t> Anonymiser::anonymise_range(store::Session& s, const DueKey& from, const DueKey& to,
                                            const std::vector<std::string>& held) {
  store::Params params;
  std::string condition = range_sql(from, to, params);
  condition += in_sql(false, held, params);
  return anonymise_where(s, condition, params);
}

Result<int64_t> Anonymiser::anonymise_lines(store::Session& s, const std::vector<std::string>& lines,
                                            int64_t cutoff_us) {
  if (lines.empty()) return int64_t{0};
  store::Params params{cutoff_us};
  std::string condition = "ended_at_us < ?";
  condition += in_sql(true, lines, params);
  return anonymise_where(s, condition, params);
}

Result<int64_t> Anonymiser::anonymise_where(store::Session& s, const std::string& condition,
                                            const store::Params& params) {
  PRIVOX_ASSIGN(const int64_t opened, anonymise_unprefixed(s, condition, params));
  PRIVOX_ASSIGN(const int64_t prefixed, anonymise_prefixed(s, condition, params));
  return opened + prefixed;
}

// Records written with their prefixes (traffic/store_sink.h): one UPDATE, nothing to open.
// "" meant "nothing to keep" while linked; anonymised, that is NULL.
Result<int64_t> Anonymiser::anonymise_prefixed(store::Session& s, const std::string& condition,
                                               const store::Params& params) {
  std::string sql = fmt::format(
      "UPDATE traffic_records SET subject_id = '{}', source_prefix = nullif(source_prefix, ''), "
      "destination_prefix = nullif(destination_prefix, ''), source_enc = NULL, destination_enc = NULL, "
      "caller_equipment_enc = NULL, callee_equipment_enc = NULL, anonymised_at_us = ?, "
      "log_hidden_at_us = coalesce(log_hidden_at_us, ?) WHERE anonymised_at_us IS NULL AND "
      "source_prefix IS NOT NULL AND ",
      kAnonymisedSubject);
  store::Params all{now_us_, now_us_};
  all.insert(all.end(), params.begin(), params.end());
  return s.exec(sql + condition, all);
}

// Records written before prefixes were stored: each one's sealed parties are opened to cut them.
Result<int64_t> Anonymiser::anonymise_unprefixed(store::Session& s, const std::string& condition,
                                                 const store::Params& params) {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query("SELECT id, subject_id, source_enc, destination_enc, source_withheld FROM traffic_records "
                        "WHERE anonymised_at_us IS NULL AND source_prefix IS NULL AND " + condition,
                        params));
  // The prefix of a sealed number; NULL when there is none to keep or the line's key is gone
  // (crypto-shredded parties cannot be read, so nothing of them survives).
  auto prefix_of = [](const privacy::SecretKey* key, const std::string& subject, std::string_view field,
                      const store::Row& r, size_t column, bool withheld) -> store::Value {
    if (!key || withheld || r.is_null(column)) return store::null_value();
    auto number = privacy::open_field(*key, subject, field, r.blob(column));
    if (!number.ok()) return store::null_value();
    auto prefix = numbers::number_prefix(*number);
    return prefix ? store::Value{*prefix} : store::null_value();
  };
  std::vector<std::pair<std::string_view, store::Params>> by_line;
  by_line.reserve(rows.size());
  for (const store::Row& r : rows) {
    const std::string& subject = r.text(1);
    PRIVOX_ASSIGN(const privacy::SecretKey* key, key_for(s, subject));
    const bool withheld = r.i64(4) != 0;
    by_line.emplace_back(subject, store::Params{r.text(0), prefix_of(key, subject, "source", r, 2, withheld),
                                                prefix_of(key, subject, "destination", r, 3, false)});
  }
  // Updated line by line: the indexes keyed by subject_id then lose their entries page after
  // page instead of one entry on each of thousands of pages.
  std::stable_sort(by_line.begin(), by_line.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<store::Params> updates;
  updates.reserve(by_line.size());
  for (auto& [line, update] : by_line) updates.push_back(std::move(update));
  PRIVOX_TRY(apply(s, updates));
  return static_cast<int64_t>(updates.size());
}

// Unwrapped keys are kept for the whole run: one unwrap per line instead of one per record.
Result<const privacy::SecretKey*> Anonymiser::key_for(store::Session& s, const std::string& subject) {
  auto it = keys_cache_.find(subject);
  if (it == keys_cache_.end()) {
    auto loaded = privacy::subject_keys::load(s, keys_, subject);
    if (!loaded.ok() && loaded.error().code != ErrorCode::erased) return loaded.error();
    std::optional<privacy::SecretKey> key;
    if (loaded.ok()) key = std::move(loaded).value();
    it = keys_cache_.emplace(subject, std::move(key)).first;
  }
  return it->second ? &*it->second : nullptr;
}

// One UPDATE per chunk, joined to the chunk's values: one round trip for hundreds of records.
Status Anonymiser::apply(store::Session& s, const std::vector<store::Params>& updates) const {
  for (size_t start = 0; start < updates.size(); start += kUpdateChunk) {
    const size_t n = std::min(kUpdateChunk, updates.size() - start);
    std::string sql = fmt::format(
        "UPDATE traffic_records SET subject_id = '{}', source_prefix = v.column2, destination_prefix = v.column3, "
        "source_enc = NULL, destination_enc = NULL, caller_equipment_enc = NULL, callee_equipment_enc = NULL, "
        "anonymised_at_us = ?, log_hidden_at_us = coalesce(log_hidden_at_us, ?) FROM (VALUES ",
        kAnonymisedSubject);
    store::Params params{now_us_, now_us_};
    params.reserve(2 + 3 * n);
    for (size_t i = 0; i < n; ++i) {
      sql += i ? ", (?, ?, ?)" : "(?, ?, ?)";
      for (const store::Value& v : updates[start + i]) params.push_back(v);
    }
    sql += ") AS v WHERE traffic_records.id = v.column1";
    PRIVOX_TRY(s.exec(sql, params));
  }
  return {};
}

Result<KeptRecords> records_not_yet_due(store::Session& s, const std::vector<std::string>& lines, int64_t cutoff_us) {
  KeptRecords out;
  if (lines.empty()) return out;
  // Open calls (no end yet) are not due either; their end, once they have one, starts the period.
  store::Params params{cutoff_us};
  const std::string sql = "SELECT count(*), max(coalesce(ended_at_us, started_at_us)) FROM traffic_records "
                          "WHERE anonymised_at_us IS NULL AND (ended_at_us IS NULL OR ended_at_us >= ?)" +
                          in_sql(true, lines, params);
  PRIVOX_ASSIGN(store::Rows rows, s.query(sql, params));
  out.count = rows[0].i64(0);
  if (!rows[0].is_null(1)) out.latest_end_us = rows[0].i64(1);
  return out;
}

Result<int64_t> hide_from_log_older_than(store::Session& s, int64_t cutoff_us, size_t limit, int64_t now_us) {
  PRIVOX_ASSIGN(store::Rows old, s.query("SELECT id FROM traffic_records WHERE log_hidden_at_us IS NULL "
                                         "AND started_at_us < ? ORDER BY started_at_us, id LIMIT ?",
                                         {cutoff_us, static_cast<int64_t>(limit)}));
  int64_t hidden = 0;
  for (size_t start = 0; start < old.size(); start += kUpdateChunk) {
    const size_t n = std::min(kUpdateChunk, old.size() - start);
    std::string sql = "UPDATE traffic_records SET log_hidden_at_us = ? WHERE id IN (";
    store::Params params{now_us};
    for (size_t i = 0; i < n; ++i) {
      sql += i ? ", ?" : "?";
      params.push_back(old[start + i].text(0));
    }
    PRIVOX_ASSIGN(const int64_t changed, s.exec(sql + ")", params));
    hidden += changed;
  }
  return hidden;
}

Result<std::vector<std::string>> lines_over_log_limit(store::Session& s, const std::string& after, int64_t max_entries,
                                                      size_t limit) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT subject_id FROM traffic_records WHERE log_hidden_at_us IS NULL "
                                          "AND subject_id > ? AND subject_id <> ? GROUP BY subject_id "
                                          "HAVING count(*) > ? ORDER BY subject_id LIMIT ?",
                                          {after, std::string(kAnonymisedSubject), max_entries,
                                           static_cast<int64_t>(limit)}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(r.text(0));
  return out;
}

Result<int64_t> hide_from_log_beyond(store::Session& s, const std::string& line, int64_t max_entries, int64_t now_us) {
  // The newest entry past the limit; it and everything older leave the log.
  // anonymised_at_us IS NULL: always true of a line's record, and what lets traffic_records_by_line
  // serve the order.
  PRIVOX_ASSIGN(store::Rows edge, s.query("SELECT started_at_us, id FROM traffic_records WHERE subject_id = ? "
                                          "AND anonymised_at_us IS NULL AND log_hidden_at_us IS NULL "
                                          "ORDER BY started_at_us DESC, id DESC "
                                          "LIMIT 1 OFFSET ?",
                                          {line, max_entries}));
  if (edge.empty()) return int64_t{0};
  return s.exec("UPDATE traffic_records SET log_hidden_at_us = ? WHERE subject_id = ? "
                "AND anonymised_at_us IS NULL AND log_hidden_at_us IS NULL "
                "AND (started_at_us < ? OR (started_at_us = ? AND id <= ?))",
                {now_us, line, edge[0].i64(0), edge[0].i64(0), edge[0].text(1)});
}

}  // namespace privox::traffic
