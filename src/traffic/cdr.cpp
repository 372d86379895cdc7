#include "traffic/cdr.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <limits>
#include <chrono>
#include <map>
#include <memory>

#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "traffic/module.h"

namespace privox::traffic {
namespace {

constexpr std::string_view kWithheld = "withheld";

// What the data map lets `purpose` read of a record's sealed fields (traffic/datamap.cpp).
bool allowed(std::string_view field, privacy::Purpose purpose) {
  for (const privacy::FieldSpec& f : datamap_part().personal)
    if (f.table == "traffic_records" && f.name == field) return privacy::allows(f.purposes, purpose);
  return false;
}

std::string csv_field(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string time_or_empty(int64_t us) { return us ? format_utc(us) : std::string(); }


constexpr std::string_view kColumns =
    "id, company_id, subject_id, direction, kind, source_enc, destination_enc, source_withheld, started_at_us, "
    "answered_at_us, ended_at_us, duration_ms, outcome, failure_code, end_reason, caller_equipment_enc, "
    "callee_equipment_enc, trunk_id, cost_micros, cost_currency, caller_leg_encrypted, callee_leg_encrypted";

struct ListSql {
  std::string sql;
  store::Params params;
};

ListSql list_sql(const CdrQuery& query) {
  ListSql out{fmt::format("SELECT {} FROM traffic_records WHERE started_at_us >= ?", kColumns),
              {store::Value(query.since_us)}};
  std::string& sql = out.sql;
  store::Params& params = out.params;
  auto add_text = [&](std::string_view clause, const std::string& value) {
    sql += clause;
    params.emplace_back(std::in_place_type<std::string>, value);
  };
  if (!query.company_id.empty()) add_text(" AND company_id = ?", query.company_id);
  if (!query.direction.empty()) add_text(" AND direction = ?", query.direction);
  if (!query.kind.empty()) add_text(" AND kind = ?", query.kind);
  if (query.until_us > 0) {
    sql += " AND started_at_us < ?";
    params.emplace_back(std::in_place_type<int64_t>, query.until_us);
  }
  if (!query.subject_ids.empty()) {
    // Always true of a line's record; it lets the partial traffic_records_by_line serve the query.
    sql += " AND anonymised_at_us IS NULL AND subject_id IN (";
    for (size_t i = 0; i < query.subject_ids.size(); ++i) {
      sql += i ? ", ?" : "?";
      params.emplace_back(std::in_place_type<std::string>, query.subject_ids[i]);
    }
    sql += ")";
  }
  if (query.call_log) sql += " AND log_hidden_at_us IS NULL";
  if (query.after) {
    // A row value, not the equivalent OR: both backends then bound the index range with it
    // instead of filtering every row newer than the cursor.
    sql += query.newest_first ? " AND (started_at_us, id) < (?, ?)" : " AND (started_at_us, id) > (?, ?)";
    params.emplace_back(std::in_place_type<int64_t>, query.after->first);
    params.emplace_back(std::in_place_type<std::string>, query.after->second);
  }
  sql += query.newest_first ? " ORDER BY started_at_us DESC, id DESC LIMIT ?" : " ORDER BY started_at_us, id LIMIT ?";
  params.emplace_back(std::in_place_type<int64_t>, static_cast<int64_t>(query.limit));
  return out;
}

// One entry for the whole read, naming every subject whose records it returned and how many
// (P6: each read stays attributable to each subject, by id only). A read of one subject's records
// carries that subject in the entry's subject_id too, as every other entry does.
Status audit_read(store::Session& s, const privacy::AuditChain& audit, const store::Rows& rows,
                  privacy::Purpose purpose, const std::string& actor) {
  std::map<std::string, int64_t> per_subject;
  for (const store::Row& r : rows) ++per_subject[r.text(2)];
  nlohmann::json subjects = nlohmann::json::object();
  for (const auto& [subject, count] : per_subject) subjects[subject] = count;
  const std::string only = per_subject.size() == 1 ? per_subject.begin()->first : std::string();
  PRIVOX_TRY(audit.append(s, {actor, "traffic.list", only, std::string(privacy::to_string(purpose)),
                              {{"records", rows.size()}, {"subjects", std::move(subjects)}}}));
  return {};
}

// The subjects' data keys, unwrapped through the keyring's cache; nullptr where the key row was
// gone when the records were read (erased), and the cache forgets such a subject.
std::map<std::string, std::shared_ptr<const privacy::SecretKey>, std::less<>> open_keys(
    const privacy::Keyring& keys, const store::Rows& rows, const privacy::subject_keys::WrappedKeys& wrapped) {
  std::map<std::string, std::shared_ptr<const privacy::SecretKey>, std::less<>> out;
  for (const store::Row& r : rows) {
    const auto [slot, first_sight] = out.try_emplace(r.text(2));
    if (!first_sight) continue;
    const auto found = wrapped.find(r.text(2));
    if (found == wrapped.end()) {
      keys.forget_unwrapped(r.text(2));
      continue;
    }
    // A key that does not unwrap (another master key, tampering) leaves its fields unreadable.
    if (auto key = keys.unwrap_cached(found->second, r.text(2)); key.ok()) slot->second = std::move(*key);
  }
  return out;
}

std::vector<CdrRow> open_rows(const privacy::Keyring& keys, const store::Rows& rows,
                              const privacy::subject_keys::WrappedKeys& wrapped, const CdrQuery& query) {
  const privacy::Purpose purpose = query.purpose;
  const auto subject_keys = open_keys(keys, rows, wrapped);
  // The data map's answer per field, looked up once per read rather than once per row.
  const std::map<std::string_view, bool> for_purpose = {{"source", allowed("source", purpose)},
                                                        {"destination", allowed("destination", purpose)},
                                                        {"caller_equipment", allowed("caller_equipment", purpose)},
                                                        {"callee_equipment", allowed("callee_equipment", purpose)}};
  std::vector<CdrRow> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    CdrRow row;
    row.id = r.text(0);
    row.company_id = r.text(1);
    row.subject_id = r.text(2);
    row.direction = r.text(3);
    row.kind = r.text(4);
    const privacy::SecretKey* key = subject_keys.find(row.subject_id)->second.get();
    const bool key_erased = wrapped.find(row.subject_id) == wrapped.end();
    // A sealed field opens only with the subject's key and only for a purpose the map allows;
    // after crypto-shredding it reads as erased.
    auto open = [&](std::string_view field, size_t column) -> std::optional<std::string> {
      if (r.is_null(column) || !for_purpose.at(field)) return std::nullopt;
      if (key_erased) return std::string("erased");
      if (!key) return std::string("unreadable");
      auto value = privacy::open_field(*key, row.subject_id, field, r.blob(column));
      return value.ok() ? std::optional<std::string>(std::move(value).value()) : std::string("unreadable");
    };
    row.source_withheld = r.i64(7) != 0;
    const bool hide_caller = row.source_withheld && !shows_withheld_caller(row.direction, purpose, query.viewer);
    row.source = hide_caller ? std::optional<std::string>(kWithheld) : open("source", 5);
    row.destination = open("destination", 6);
    row.started_at_us = r.i64(8);
    row.answered_at_us = r.is_null(9) ? 0 : r.i64(9);
    row.ended_at_us = r.is_null(10) ? 0 : r.i64(10);
    row.duration_ms = r.is_null(11) ? 0 : r.i64(11);
    row.outcome = r.text(12);
    row.failure_code = r.is_null(13) ? 0 : r.i64(13);
    row.end_reason = r.text_or(14, "");
    row.caller_equipment = hide_caller ? std::optional<std::string>(kWithheld) : open("caller_equipment", 15);
    row.callee_equipment = open("callee_equipment", 16);
    row.trunk_id = r.text_or(17, "");
    if (!r.is_null(18)) row.cost_micros = r.i64(18);
    row.cost_currency = r.text_or(19, "");
    if (!r.is_null(20)) row.caller_encrypted = r.i64(20) != 0;
    if (!r.is_null(21)) row.callee_encrypted = r.i64(21) != 0;
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

Result<std::vector<CdrRow>> list_records(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                         const CdrQuery& query, const std::string& actor) {
  const ListSql statement = list_sql(query);
  store::Rows rows;
  privacy::subject_keys::WrappedKeys wrapped;
  // The transaction holds the store (on SQLite, its one connection) for the read, the subjects'
  // wrapped keys and the audit entry only: opening the sealed fields waits until it commits.
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(rows, s.query(statement.sql, statement.params));
    std::vector<std::string> subjects;
    subjects.reserve(rows.size());
    for (const store::Row& r : rows) subjects.push_back(r.text(2));
    PRIVOX_ASSIGN(wrapped, privacy::subject_keys::read_wrapped(s, subjects));
    if (rows.empty()) return {};
    return audit_read(s, privacy::AuditChain(keys, clock), rows, query.purpose, actor);
  }));
  return open_rows(keys, rows, wrapped, query);
}

Result<std::vector<CdrRow>> records_of_lines(store::Session& s, const privacy::Keyring& keys,
                                             const std::vector<std::string>& lines, privacy::Purpose purpose,
                                             Viewer viewer) {
  if (lines.empty()) return std::vector<CdrRow>{};
  CdrQuery query;
  query.purpose = purpose;
  query.viewer = viewer;
  query.subject_ids = lines;
  query.limit = std::numeric_limits<int32_t>::max();
  const ListSql statement = list_sql(query);
  PRIVOX_ASSIGN(store::Rows rows, s.query(statement.sql, statement.params));
  PRIVOX_ASSIGN(privacy::subject_keys::WrappedKeys wrapped, privacy::subject_keys::read_wrapped(s, lines));
  return open_rows(keys, rows, wrapped, query);
}

Result<std::vector<RecordSummary>> record_summaries(store::Session& s, int64_t since_us, int64_t until_us) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT subject_id, company_id, direction, started_at_us, outcome, "
                                          "duration_ms FROM traffic_records WHERE started_at_us >= ? "
                                          "AND started_at_us < ?",
                                          {since_us, until_us}));
  std::vector<RecordSummary> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows)
    out.push_back({r.text(0), r.text(1), r.text(2), r.text(4), r.i64(3), r.is_null(5) ? -1 : r.i64(5)});
  return out;
}

Result<CallCounts> count_calls(store::Session& s, const std::vector<std::string>& lines, int64_t since_us) {
  CallCounts counts;
  if (lines.empty()) return counts;
  std::string sql =
      "SELECT outcome, COUNT(*) FROM traffic_records WHERE kind = 'voice' AND log_hidden_at_us IS NULL "
      "AND started_at_us >= ? AND subject_id IN (";
  store::Params params{store::Value(since_us)};
  for (size_t i = 0; i < lines.size(); ++i) {
    sql += i ? ", ?" : "?";
    params.emplace_back(lines[i]);
  }
  PRIVOX_ASSIGN(store::Rows rows, s.query(sql + ") GROUP BY outcome", params));
  for (const store::Row& r : rows) {
    const int64_t n = r.i64(1);
    counts.total += n;
    if (r.text(0) == "answered") counts.answered += n;
    if (r.text(0) == "open") counts.in_progress += n;
  }
  return counts;
}

Result<std::vector<std::string>> trunks_used_by(store::Session& s, const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  if (lines.empty()) return out;
  std::string sql = "SELECT DISTINCT trunk_id FROM traffic_records WHERE trunk_id IS NOT NULL "
                    "AND anonymised_at_us IS NULL AND subject_id IN (";
  store::Params params;
  for (size_t i = 0; i < lines.size(); ++i) {
    sql += i ? ", ?" : "?";
    params.emplace_back(lines[i]);
  }
  PRIVOX_ASSIGN(store::Rows rows, s.query(sql + ") ORDER BY trunk_id", params));
  for (const store::Row& r : rows) out.push_back(r.text(0));
  return out;
}

bool shows_withheld_caller(std::string_view direction, privacy::Purpose purpose, Viewer viewer) {
  if (viewer == Viewer::line_holder) return direction != "inbound";
  return purpose == privacy::Purpose::billing || purpose == privacy::Purpose::legal;
}

std::string cost_text(int64_t micros) {
  std::string fraction = fmt::format("{:06d}", micros % 1'000'000);
  while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
  return fmt::format("{}.{}", micros / 1'000'000, fraction);
}

namespace {
std::string_view flag_text(std::optional<bool> flag) { return flag ? (*flag ? "1" : "0") : ""; }
}  // namespace

std::string to_csv(const std::vector<CdrRow>& rows) {
  std::string out =
      "id,company_id,direction,kind,source,source_withheld,destination,started_at,answered_at,ended_at,duration_ms,"
      "outcome,failure_code,end_reason,caller_equipment,callee_equipment,trunk_id,cost,cost_currency,caller_encrypted,"
      "callee_encrypted\n";
  for (const CdrRow& r : rows) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r.id, r.company_id, r.direction, r.kind,
                       csv_field(r.source.value_or("")), r.source_withheld ? 1 : 0,
                       csv_field(r.destination.value_or("")), time_or_empty(r.started_at_us),
                       time_or_empty(r.answered_at_us), time_or_empty(r.ended_at_us), r.duration_ms, r.outcome,
                       r.failure_code ? std::to_string(r.failure_code) : "", csv_field(r.end_reason),
                       csv_field(r.caller_equipment.value_or("")), csv_field(r.callee_equipment.value_or("")),
                       r.trunk_id, r.cost_micros ? cost_text(*r.cost_micros) : "", r.cost_currency,
                       flag_text(r.caller_encrypted), flag_text(r.callee_encrypted));
  }
  return out;
}

nlohmann::json to_json(const std::vector<CdrRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const CdrRow& r : rows) {
    nlohmann::json j = {{"id", r.id},           {"company_id", r.company_id}, {"direction", r.direction},
                        {"kind", r.kind},       {"source_withheld", r.source_withheld},
                        {"started_at", format_utc(r.started_at_us)},      {"outcome", r.outcome},
                        {"duration_ms", r.duration_ms}};
    if (r.source) j["source"] = *r.source;
    if (r.destination) j["destination"] = *r.destination;
    if (r.answered_at_us) j["answered_at"] = format_utc(r.answered_at_us);
    if (r.ended_at_us) j["ended_at"] = format_utc(r.ended_at_us);
    if (r.failure_code) j["failure_code"] = r.failure_code;
    if (!r.end_reason.empty()) j["end_reason"] = r.end_reason;
    if (r.caller_equipment) j["caller_equipment"] = *r.caller_equipment;
    if (r.callee_equipment) j["callee_equipment"] = *r.callee_equipment;
    if (!r.trunk_id.empty()) j["trunk_id"] = r.trunk_id;
    if (r.caller_encrypted) j["caller_encrypted"] = *r.caller_encrypted;
    if (r.callee_encrypted) j["callee_encrypted"] = *r.callee_encrypted;
    if (r.cost_micros) {
      j["cost"] = cost_text(*r.cost_micros);  // a decimal amount of cost_currency, exact
      j["cost_micros"] = *r.cost_micros;
      if (!r.cost_currency.empty()) j["cost_currency"] = r.cost_currency;
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace privox::traffic
