#include "privacy/audit.h"
#include "privacy/audit_record.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "common/ids.h"
#include "common/json.h"

namespace privox::privacy {
namespace {

struct Entry {
  int64_t seq;
  std::string id;
  int64_t at_us;
  std::string actor, action, subject_id, purpose, detail, prev_hash;
};

std::string canonical(const Entry& e) {
  const nlohmann::json j = {{"seq", e.seq},         {"id", e.id},
                            {"at_us", e.at_us},     {"actor", e.actor},
                            {"action", e.action},   {"subject_id", e.subject_id},
                            {"purpose", e.purpose}, {"detail", e.detail},
                            {"prev_hash", e.prev_hash}};
  return j.dump();  // nlohmann::json keeps object keys sorted, so the form is canonical
}

}  // namespace

namespace {

// Detail keys whose ids name things, never people: a request, a hold, a trunk, a campaign...
bool names_no_person(std::string_view key) {
  static constexpr std::string_view kKeys[] = {"request_id", "hold_id",  "disclosure_id", "trunk_id", "campaign_id",
                                               "survey",     "company_id", "run",          "id"};
  return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
}

bool foreign_id(const std::string& text, const std::set<std::string, std::less<>>& subjects) {
  return is_valid_id(text) && !subjects.contains(text);
}

// The detail of an entry as the export of `subjects` may show it. Ids are UUIDs and the chain holds
// no other identifiers, so every id that is not one of theirs goes, wherever it sits (a value, a
// list element, an object's key such as traffic.list's per-subject counts), unless its key names
// something that is no person. Safe by default: a detail key added later is cut the same way.
nlohmann::json redact_for(const nlohmann::json& value, const std::set<std::string, std::less<>>& subjects) {
  if (value.is_string()) return foreign_id(value.get<std::string>(), subjects) ? nlohmann::json() : value;
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value)
      if (!(v.is_string() && foreign_id(v.get<std::string>(), subjects))) out.push_back(redact_for(v, subjects));
    return out;
  }
  if (!value.is_object()) return value;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, v] : value.items()) {
    if (names_no_person(key)) {
      out[key] = v;
    } else if (!foreign_id(key, subjects) && !(v.is_string() && foreign_id(v.get<std::string>(), subjects))) {
      out[key] = redact_for(v, subjects);
    }
  }
  return out;
}

}  // namespace

Result<std::vector<AuditEntry>> entries_about(store::Session& s, const std::vector<std::string>& subject_ids) {
  std::vector<AuditEntry> out;
  if (subject_ids.empty()) return out;
  std::string sql = "SELECT seq, id, at_us, actor, action, subject_id, purpose, detail FROM audit_log WHERE subject_id IN (";
  store::Params params;
  for (size_t i = 0; i < subject_ids.size(); ++i) {
    sql += i ? ", ?" : "?";
    params.emplace_back(subject_ids[i]);
  }
  sql += ")";
  // A read of several subjects' records is one traffic.list entry that names them in its detail
  // (traffic/cdr.h) rather than in subject_id.
  for (const std::string& id : subject_ids) {
    sql += " OR (action = 'traffic.list' AND COALESCE(subject_id, '') = '' AND detail LIKE ? ESCAPE '!')";
    std::string pattern = "%\"";
    for (char c : id) {
      if (c == '%' || c == '_' || c == '!') pattern += '!';
      pattern += c;
    }
    params.emplace_back(pattern + "\":%");
  }
  PRIVOX_ASSIGN(store::Rows rows, s.query(sql + " ORDER BY seq", params));
  const std::set<std::string, std::less<>> subjects(subject_ids.begin(), subject_ids.end());
  for (const store::Row& r : rows) {
    Result<nlohmann::json> detail = json::parse_untrusted(r.text_or(7, "{}"));
    out.push_back({r.i64(0), r.text(1), r.i64(2), r.text(3), r.text(4), r.text_or(5, ""), r.text_or(6, ""),
                   redact_for(std::move(detail).value_or(nlohmann::json::object()), subjects)});
  }
  return out;
}

Result<int64_t> AuditChain::append(store::Session& tx, const AuditRecord& record) const {
  // The UPDATE takes the head's row lock first, so concurrent appenders (other threads, processes
  // or nodes) serialise here and the chain never forks.
  PRIVOX_ASSIGN(store::Rows head, tx.query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"));
  if (head.size() != 1) return make_error(ErrorCode::corrupt, "audit chain head row is missing");
  const int64_t now = clock_.now_us();
  Entry e{head[0].i64(0), new_id(now), now, record.actor, record.action, record.subject_id, record.purpose,
          record.detail.dump(), head[0].text(1)};
  const std::string hash = keys_.audit_hash(canonical(e));
  PRIVOX_TRY(tx.exec("INSERT INTO audit_log (seq, id, at_us, actor, action, subject_id, purpose, detail, prev_hash, "
                     "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     {e.seq, e.id, e.at_us, e.actor, e.action, e.subject_id, e.purpose, e.detail, e.prev_hash, hash}));
  PRIVOX_TRY(tx.exec("UPDATE audit_head SET hash = ? WHERE id = 1", {hash}));
  return e.seq;
}

Result<AuditVerifyReport> AuditChain::verify(store::Store& store) const {
  PRIVOX_ASSIGN(auto tx, store.begin(store::TxMode::read));
  PRIVOX_ASSIGN(store::Rows head, tx->query("SELECT seq, hash FROM audit_head WHERE id = 1"));
  AuditVerifyReport report;
  auto fail = [&](int64_t seq, std::string problem) {
    report.ok = false;
    report.first_bad_seq = seq;
    report.problem = std::move(problem);
    return report;
  };
  if (head.size() != 1) return fail(0, "the chain head row is missing");
  // Read in pages so a long chain does not have to fit in memory at once.
  constexpr int64_t kPage = 10000;
  std::string prev_hash;
  int64_t expected_seq = 1;
  for (;;) {
    PRIVOX_ASSIGN(store::Rows rows,
                  tx->query("SELECT seq, id, at_us, actor, action, subject_id, purpose, detail, prev_hash, hash "
                            "FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?",
                            {expected_seq, kPage}));
    for (const store::Row& r : rows) {
      Entry e{r.i64(0), r.text(1), r.i64(2), r.text(3), r.text(4), r.text_or(5, ""), r.text_or(6, ""),
              r.text(7), r.text(8)};
      if (e.seq != expected_seq)
        return fail(expected_seq, fmt::format("entry {} is missing (next present is {})", expected_seq, e.seq));
      if (e.prev_hash != prev_hash)
        return fail(e.seq, fmt::format("entry {} does not link to entry {}: entries were removed or reordered", e.seq,
                                       e.seq - 1));
      if (keys_.audit_hash(canonical(e)) != r.text(9))
        return fail(e.seq, fmt::format("entry {} was altered: its hash does not match its content", e.seq));
      prev_hash = r.text(9);
      ++expected_seq;
    }
    if (static_cast<int64_t>(rows.size()) < kPage) break;
  }
  report.entries = expected_seq - 1;
  if (head[0].i64(0) != report.entries || head[0].text(1) != prev_hash)
    return fail(report.entries + 1, fmt::format("the chain head says {} entries but the log ends at entry {}: "
                                                "entries were removed from the end",
                                                head[0].i64(0), report.entries));
  report.ok = true;
  return report;
}

}  // namespace privox::privacy
