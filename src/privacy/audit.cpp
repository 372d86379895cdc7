#include "privacy/audit.h"
#include "privacy/audit_record.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <set>

#include "common/ids.h"
#include "common/json.h"

namespace privox::privacy {
namespace {

// Every column but `hash`, as sorted-key JSON.
std::string canonical(const AuditLogRow& e) {
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
  const AuditLogRow e{head[0].i64(0), new_id(now),   now, record.actor, record.action, record.subject_id,
                      record.purpose,  record.detail.dump(), head[0].text(1), {}};
  const std::string hash = keys_.audit_hash(canonical(e));
  PRIVOX_TRY(tx.exec("INSERT INTO audit_log (seq, id, at_us, actor, action, subject_id, purpose, detail, prev_hash, "
                     "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     {e.seq, e.id, e.at_us, e.actor, e.action, e.subject_id, e.purpose, e.detail, e.prev_hash, hash}));
  PRIVOX_TRY(tx.exec("UPDATE audit_head SET hash = ? WHERE id = 1", {hash}));
  return e.seq;
}

std::string format_anchor(const AuditAnchor& anchor) { return fmt::format("{}:{}", anchor.length, anchor.hash); }

Result<AuditAnchor> parse_anchor(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos)
    return invalid("anchor", "an anchor is LENGTH:HASH, as `privox audit anchor` prints it");
  AuditAnchor anchor;
  const std::string_view length = text.substr(0, colon);
  const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), anchor.length);
  if (ec != std::errc() || end != length.data() + length.size() || length.empty() || anchor.length < 0)
    return invalid("anchor", "the anchor's length (before the ':') is not a whole number");
  anchor.hash = std::string(text.substr(colon + 1));
  const bool hex = std::all_of(anchor.hash.begin(), anchor.hash.end(),
                               [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (anchor.length == 0 ? !anchor.hash.empty() : (anchor.hash.size() != 64 || !hex))
    return invalid("anchor", "the anchor's hash (after the ':') is not 64 lower-case hex digits (empty for length 0)");
  return anchor;
}

bool AuditChainCheck::failed(int64_t seq, std::string problem) {
  broken_ = true;
  report_.ok = false;
  report_.first_bad_seq = seq;
  report_.problem = std::move(problem);
  return false;
}

bool AuditChainCheck::add(const AuditLogRow& e) {
  if (broken_) return false;
  if (e.seq != expected_seq_)
    return failed(expected_seq_, fmt::format("entry {} is missing (next present is {})", expected_seq_, e.seq));
  if (e.prev_hash != prev_hash_)
    return failed(e.seq, fmt::format("entry {} does not link to entry {}: entries were removed or reordered", e.seq,
                                     e.seq - 1));
  if (keys_.audit_hash(canonical(e)) != e.hash)
    return failed(e.seq, fmt::format("entry {} was altered: its hash does not match its content", e.seq));
  if (anchor_ && anchor_->length == e.seq && anchor_->hash != e.hash)
    return failed(e.seq, fmt::format("entry {} is not the anchored one (another hash): the chain was rewritten from "
                                     "there on",
                                     e.seq));
  prev_hash_ = e.hash;
  ++expected_seq_;
  return true;
}

AuditVerifyReport AuditChainCheck::finish(int64_t head_seq, const std::string& head_hash) {
  if (broken_) return report_;
  report_.entries = expected_seq_ - 1;
  if (head_seq != report_.entries || head_hash != prev_hash_) {
    failed(report_.entries + 1, fmt::format("the chain head says {} entries but the log ends at entry {}: entries "
                                            "were removed from the end",
                                            head_seq, report_.entries));
    return report_;
  }
  if (anchor_ && anchor_->length > report_.entries) {
    failed(report_.entries + 1, fmt::format("the chain has {} entries but the anchor was taken at {}: entries were "
                                            "removed from the end",
                                            report_.entries, anchor_->length));
    return report_;
  }
  report_.ok = true;
  return report_;
}

Result<AuditAnchor> AuditChain::head(store::Session& s) {
  PRIVOX_ASSIGN(store::Rows head, s.query("SELECT seq, hash FROM audit_head WHERE id = 1"));
  if (head.size() != 1) return make_error(ErrorCode::corrupt, "audit chain head row is missing");
  return AuditAnchor{head[0].i64(0), head[0].text(1)};
}

Result<AuditVerifyReport> AuditChain::verify(store::Store& store, const std::optional<AuditAnchor>& anchor) const {
  PRIVOX_ASSIGN(auto tx, store.begin(store::TxMode::read));
  PRIVOX_ASSIGN(store::Rows head, tx->query("SELECT seq, hash FROM audit_head WHERE id = 1"));
  if (head.size() != 1) return AuditVerifyReport{false, 0, 0, "the chain head row is missing"};
  AuditChainCheck check(keys_, anchor);
  // Read in pages so a long chain does not have to fit in memory at once.
  constexpr int64_t kPage = 10000;
  int64_t next = 1;
  for (;;) {
    PRIVOX_ASSIGN(store::Rows rows,
                  tx->query("SELECT seq, id, at_us, actor, action, subject_id, purpose, detail, prev_hash, hash "
                            "FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?",
                            {next, kPage}));
    for (const store::Row& r : rows) {
      if (!check.add({r.i64(0), r.text(1), r.i64(2), r.text(3), r.text(4), r.text_or(5, ""), r.text_or(6, ""),
                      r.text(7), r.text(8), r.text(9)}))
        return check.finish(0, "");
      next = r.i64(0) + 1;
    }
    if (static_cast<int64_t>(rows.size()) < kPage) break;
  }
  return check.finish(head[0].i64(0), head[0].text(1));
}

}  // namespace privox::privacy
