#include "traffic/cdr.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <map>

#include "privacy/audit.h"

namespace privox::traffic {
namespace {

constexpr std::string_view kWithheld = "withheld";

bool allowed(std::string_view field, privacy::Purpose purpose) {
  const privacy::FieldSpec* f = privacy::find_field("traffic_records", field);
  return f && privacy::allows(f->purposes, purpose);
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

}  // namespace

Result<std::vector<CdrRow>> list_records(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                         const CdrQuery& query, const std::string& actor) {
  std::vector<CdrRow> out;
  privacy::AuditChain audit(keys, clock);
  std::string sql =
      "SELECT id, company_id, subject_id, direction, kind, source_enc, destination_enc, source_withheld, "
      "started_at_us, answered_at_us, ended_at_us, duration_ms, outcome, failure_code, end_reason, "
      "caller_equipment_enc, callee_equipment_enc, trunk_id FROM traffic_records WHERE started_at_us >= ?";
  store::Params params{store::Value(query.since_us)};
  if (!query.company_id.empty()) {
    sql += " AND company_id = ?";
    params.emplace_back(std::in_place_type<std::string>, query.company_id);
  }
  sql += " ORDER BY started_at_us, id LIMIT ?";
  params.emplace_back(std::in_place_type<int64_t>, static_cast<int64_t>(query.limit));

  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    out.clear();
    PRIVOX_ASSIGN(store::Rows rows, s.query(sql, params));

    std::map<std::string, std::optional<privacy::SecretKey>> subject_keys;
    std::map<std::string, int64_t> per_subject;
    for (const store::Row& r : rows) {
      CdrRow row;
      row.id = r.text(0);
      row.company_id = r.text(1);
      row.subject_id = r.text(2);
      row.direction = r.text(3);
      row.kind = r.text(4);
      const auto [slot, first_sight] = subject_keys.try_emplace(row.subject_id);
      if (first_sight)
        if (auto loaded = privacy::subject_keys::load(s, keys, row.subject_id); loaded.ok()) slot->second = std::move(*loaded);
      const std::optional<privacy::SecretKey>& key = slot->second;
      // A sealed field opens only with the subject's key and only for a purpose the map allows;
      // after crypto-shredding it reads as erased.
      auto open = [&](std::string_view field, size_t column) -> std::optional<std::string> {
        if (r.is_null(column) || !allowed(field, query.purpose)) return std::nullopt;
        if (!key) return std::string("erased");
        auto value = privacy::open_field(*key, row.subject_id, field, r.blob(column));
        return value.ok() ? std::optional<std::string>(std::move(value).value()) : std::string("unreadable");
      };
      row.source_withheld = r.i64(7) != 0;
      const bool may_see_withheld =
          query.purpose == privacy::Purpose::billing || query.purpose == privacy::Purpose::legal;
      row.source = row.source_withheld && !may_see_withheld ? std::optional<std::string>(kWithheld) : open("source", 5);
      row.destination = open("destination", 6);
      row.started_at_us = r.i64(8);
      row.answered_at_us = r.is_null(9) ? 0 : r.i64(9);
      row.ended_at_us = r.is_null(10) ? 0 : r.i64(10);
      row.duration_ms = r.is_null(11) ? 0 : r.i64(11);
      row.outcome = r.text(12);
      row.failure_code = r.is_null(13) ? 0 : r.i64(13);
      row.end_reason = r.text_or(14, "");
      row.caller_equipment = open("caller_equipment", 15);
      row.callee_equipment = open("callee_equipment", 16);
      row.trunk_id = r.text_or(17, "");
      ++per_subject[row.subject_id];
      out.push_back(std::move(row));
    }
    for (const auto& [subject, count] : per_subject)
      PRIVOX_TRY(audit.append(s, {actor, "traffic.list", subject, std::string(privacy::to_string(query.purpose)),
                                  {{"records", count}}}));
    return {};
  }));
  return out;
}

std::string to_csv(const std::vector<CdrRow>& rows) {
  std::string out =
      "id,company_id,direction,kind,source,source_withheld,destination,started_at,answered_at,ended_at,duration_ms,"
      "outcome,failure_code,end_reason,caller_equipment,callee_equipment,trunk_id\n";
  for (const CdrRow& r : rows) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r.id, r.company_id, r.direction, r.kind,
                       csv_field(r.source.value_or("")), r.source_withheld ? 1 : 0,
                       csv_field(r.destination.value_or("")), time_or_empty(r.started_at_us),
                       time_or_empty(r.answered_at_us), time_or_empty(r.ended_at_us), r.duration_ms, r.outcome,
                       r.failure_code ? std::to_string(r.failure_code) : "", csv_field(r.end_reason),
                       csv_field(r.caller_equipment.value_or("")), csv_field(r.callee_equipment.value_or("")),
                       r.trunk_id);
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
    out.push_back(std::move(j));
  }
  return out;
}

std::optional<int64_t> parse_time(std::string_view text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos && text.size() <= 12) {
    int64_t seconds = 0;
    std::from_chars(text.data(), text.data() + text.size(), seconds);
    return seconds * 1'000'000;
  }
  const auto date = parse_date(text.substr(0, 10));
  if (!date) return std::nullopt;
  const std::chrono::sys_days days{std::chrono::year_month_day{std::chrono::year(date->year),
                                                               std::chrono::month(date->month),
                                                               std::chrono::day(date->day)}};
  int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(days.time_since_epoch()).count();
  std::string_view rest = text.substr(10);
  if (rest.empty()) return us;
  if (rest.front() != 'T' && rest.front() != ' ') return std::nullopt;
  rest.remove_prefix(1);
  if (!rest.empty() && rest.back() == 'Z') rest.remove_suffix(1);
  int hh = 0, mm = 0, ss = 0;
  auto two = [&](size_t at, int& v, int max) {
    if (rest.size() < at + 2) return false;
    const auto [end, ec] = std::from_chars(rest.data() + at, rest.data() + at + 2, v);
    return ec == std::errc() && end == rest.data() + at + 2 && v <= max;
  };
  if (!two(0, hh, 23) || rest.size() < 5 || rest[2] != ':' || !two(3, mm, 59)) return std::nullopt;
  size_t used = 5;
  if (rest.size() > 5) {
    if (rest[5] != ':' || !two(6, ss, 60)) return std::nullopt;
    used = 8;
  }
  int64_t fraction = 0;
  if (rest.size() > used) {
    if (rest[used] != '.') return std::nullopt;
    const std::string_view digits = rest.substr(used + 1, 6);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos ||
        rest.size() > used + 1 + 6)
      return std::nullopt;
    std::from_chars(digits.data(), digits.data() + digits.size(), fraction);
    for (size_t i = digits.size(); i < 6; ++i) fraction *= 10;
  }
  return us + ((hh * 60 + mm) * 60 + ss) * int64_t{1'000'000} + fraction;
}

}  // namespace privox::traffic
