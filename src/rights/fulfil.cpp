// Rectification and erasure (fulfil.h).
#include "rights/fulfil.h"

#include <fmt/format.h>

#include <set>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "privacy/consent.h"
#include "privacy/datamap.h"
#include "privacy/disclosures.h"
#include "privacy/legal_holds.h"
#include "privacy/optional_data.h"
#include "store/settings.h"

namespace privox::rights {
namespace {

using store::Rows;
using store::Session;
using store::TxMode;

constexpr int64_t kDayUs = 86'400'000'000;

Result<accounts::FieldValues> open_corrections(store::Store& store, const privacy::Keyring& keys,
                                               const Request& request) {
  accounts::FieldValues out;
  PRIVOX_ASSIGN(auto tx, store.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows rows, tx->query("SELECT corrections_enc FROM rights_requests WHERE id = ?", {request.id}));
  if (rows.empty() || rows[0].is_null(0))
    return Error{ErrorCode::not_found, "id", fmt::format("request {} holds no corrections", request.id)};
  PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(*tx, keys, request.member_id));
  PRIVOX_ASSIGN(std::string text, privacy::open_field(key, request.member_id, "request_corrections", rows[0].blob(0)));
  const auto values = nlohmann::json::parse(text, nullptr, false);
  if (!values.is_object()) return make_error(ErrorCode::corrupt, "the sealed corrections are not a JSON object");
  for (const auto& [name, value] : values.items()) out[name] = value.get<std::string>();
  return out;
}

nlohmann::json item(std::string name, std::string outcome, int64_t count = -1) {
  nlohmann::json j = {{"item", std::move(name)}, {"outcome", std::move(outcome)}};
  if (count >= 0) j["count"] = count;
  return j;
}

nlohmann::json kept(std::string name, int64_t count, std::string exception) {
  nlohmann::json j = item(std::move(name), "kept", count);
  j["exception"] = std::move(exception);
  return j;
}

Result<int64_t> count(Session& s, const std::string& sql, const store::Params& params) {
  PRIVOX_ASSIGN(Rows rows, s.query(sql, params));
  return rows.empty() ? int64_t{0} : rows[0].i64(0);
}

Status refuse_if_held(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                      const std::string& member_id) {
  PRIVOX_ASSIGN(std::vector<privacy::LegalHold> holds, privacy::LegalHolds(store, keys, clock).list(false));
  std::vector<std::string> reasons;
  for (const privacy::LegalHold& h : holds)
    if (h.subject_id == member_id)
      reasons.push_back(h.reference.empty() ? h.reason : fmt::format("{} (ref. {})", h.reason, h.reference));
  if (reasons.empty()) return {};
  return Error{ErrorCode::conflict, "legal_hold",
               fmt::format("member {} is under a legal hold and cannot be erased while it is in force: {}", member_id,
                           fmt::join(reasons, "; "))};
}

// Traffic records are the line's (the company's) and sealed under the line's key, not the
// member's. Those still inside the billing dispute period are kept raw until retention anonymises
// them; older ones lose their parties and devices now.
Result<std::vector<nlohmann::json>> traffic_items(Session& s, const std::vector<std::string>& lines, int64_t now,
                                                  int64_t dispute_days) {
  const int64_t cutoff = now - dispute_days * kDayUs;
  int64_t recent = 0, anonymised = 0, latest = 0;
  for (const std::string& line : lines) {
    PRIVOX_ASSIGN(Rows rows, s.query("SELECT COUNT(*), MAX(started_at_us) FROM traffic_records WHERE subject_id = ? "
                                     "AND started_at_us >= ?",
                                     {line, cutoff}));
    recent += rows[0].i64(0);
    if (!rows[0].is_null(1)) latest = std::max(latest, rows[0].i64(1));
    PRIVOX_ASSIGN(const int64_t changed,
                  s.exec("UPDATE traffic_records SET source_enc = NULL, destination_enc = NULL, "
                         "caller_equipment_enc = NULL, callee_equipment_enc = NULL WHERE subject_id = ? AND "
                         "started_at_us < ? AND (source_enc IS NOT NULL OR destination_enc IS NOT NULL OR "
                         "caller_equipment_enc IS NOT NULL OR callee_equipment_enc IS NOT NULL)",
                         {line, cutoff}));
    anonymised += changed;
  }
  std::vector<nlohmann::json> out;
  if (recent > 0) {
    nlohmann::json j = kept("traffic records within the billing dispute period", recent,
                            fmt::format("billing dispute period ({} days): kept raw in case a bill is disputed",
                                        dispute_days));
    j["until"] = format_date(utc_date(latest + dispute_days * kDayUs));
    out.push_back(std::move(j));
  }
  if (anonymised > 0) out.push_back(item("traffic records past the billing dispute period", "anonymised", anonymised));
  return out;
}

}  // namespace

Result<nlohmann::json> rectify(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                               const Request& request, const std::string& actor) {
  PRIVOX_ASSIGN(accounts::FieldValues corrections, open_corrections(store, keys, request));
  accounts::Accounts accounts(store, keys, clock);
  PRIVOX_ASSIGN(std::vector<std::string> corrected, accounts.correct_member(request.member_id, corrections, actor));
  const int64_t now = clock.now_us();

  std::map<privacy::Category, std::vector<std::string>> by_category;
  for (const std::string& name : corrected)
    if (const privacy::FieldSpec* f = privacy::find_field("members", name)) by_category[f->category].push_back(name);

  const privacy::DisclosureRegister disclosures(store, keys, clock);
  const privacy::AuditChain audit(keys, clock);
  nlohmann::json notices = nlohmann::json::array();
  PRIVOX_TRY(store::with_transaction(store, TxMode::write, [&](Session& s) -> Status {
    notices = nlohmann::json::array();
    PRIVOX_ASSIGN(std::vector<privacy::Disclosure> about, disclosures.about(s, request.member_id));
    for (const privacy::Disclosure& d : about) {
      if (d.disclosed_at_us >= now) continue;  // made after the correction: it already had the right data
      std::vector<std::string> fields;
      for (privacy::Category c : d.categories)
        if (auto it = by_category.find(c); it != by_category.end()) fields.insert(fields.end(), it->second.begin(), it->second.end());
      if (fields.empty()) continue;
      const std::string id = new_id(now);
      PRIVOX_TRY(s.exec("INSERT INTO rectification_notices (id, request_id, disclosure_id, recipient, fields, "
                        "created_at_us) VALUES (?, ?, ?, ?, ?, ?)",
                        {id, request.id, d.id, d.recipient, nlohmann::json(fields).dump(), now}));
      notices.push_back({{"id", id}, {"disclosure_id", d.id}, {"recipient", d.recipient},
                         {"kind", privacy::to_string(d.kind)}, {"fields", fields}});
    }
    PRIVOX_TRY(audit.append(s, {actor, "request.rectification_notices", request.member_id, "legal",
                                {{"request_id", request.id}, {"fields", corrected}, {"notices", notices.size()}}}));
    return {};
  }));
  return nlohmann::json{{"corrected", corrected}, {"notices", notices}};
}

Result<nlohmann::json> erase(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                             const Request& request, const std::string& actor) {
  const std::string& member_id = request.member_id;
  PRIVOX_TRY(refuse_if_held(store, keys, clock, member_id));
  PRIVOX_ASSIGN(const int64_t dispute_days, store::Settings(store).integer("retention.dispute_period_days"));
  PRIVOX_ASSIGN(std::vector<privacy::ConsentRecord> consents,
                privacy::ConsentLedger(store, keys, clock).history(member_id));
  const int64_t now = clock.now_us();
  const privacy::AuditChain audit(keys, clock);

  std::vector<nlohmann::json> items;
  PRIVOX_TRY(store::with_transaction(store, TxMode::write, [&](Session& s) -> Status {
    items.clear();
    PRIVOX_ASSIGN(const bool held, privacy::LegalHolds::is_held(s, member_id));
    if (held) return Error{ErrorCode::conflict, "legal_hold", fmt::format("member {} was placed under a legal hold", member_id)};

    std::string select = "SELECT status";
    std::vector<const privacy::FieldSpec*> fields;
    for (const privacy::FieldSpec& f : privacy::personal_fields())
      if (f.table == "members") fields.push_back(&f), select += fmt::format(", {}", f.column);
    PRIVOX_ASSIGN(Rows member, s.query(select + " FROM members WHERE id = ?", {member_id}));
    if (member.empty()) return Error{ErrorCode::not_found, "member", fmt::format("no member has id {}", member_id)};
    for (size_t i = 0; i < fields.size(); ++i)
      if (!member[0].is_null(1 + i)) {
        nlohmann::json j = item(fmt::format("member field {}", fields[i]->name), "erased");
        j["how"] = "the member's data key is destroyed, so every copy, backups included, is unreadable";
        items.push_back(std::move(j));
      }
    for (privacy::OptionalKind kind : privacy::kOptionalKinds) {
      PRIVOX_ASSIGN(const bool removed, privacy::OptionalData::delete_kind(s, member_id, kind));
      if (removed) items.push_back(item(fmt::format("optional data {}", privacy::to_string(kind)), "erased"));
    }

    PRIVOX_ASSIGN(Rows line_rows, s.query("SELECT id FROM extensions WHERE member_id = ?", {member_id}));
    std::vector<std::string> lines;
    for (const store::Row& r : line_rows) lines.push_back(r.text(0));
    PRIVOX_ASSIGN(std::vector<nlohmann::json> traffic, traffic_items(s, lines, now, dispute_days));
    items.insert(items.end(), traffic.begin(), traffic.end());
    if (!lines.empty())
      items.push_back(kept("phone lines", static_cast<int64_t>(lines.size()),
                           "the company's lines, not the member's: unassigned from the member, they stay with the company"));
    if (!consents.empty())
      items.push_back(kept("consent records", static_cast<int64_t>(consents.size()),
                           "proof of consent (legal obligation); they hold ids and decisions, no contact data"));
    PRIVOX_ASSIGN(const int64_t requests,
                  count(s, "SELECT COUNT(*) FROM rights_requests WHERE member_id = ?", {member_id}));
    items.push_back(kept("rights requests", requests,
                         "proof of how rights requests were answered (legal obligation); corrections they held were "
                         "sealed under the member's key and are erased with it"));
    items.push_back(kept("audit entries", -1, "the audit chain names the member by id only and holds no personal data"));
    PRIVOX_TRY(audit.append(s, {actor, "request.erase_items", member_id, "legal",
                                {{"request_id", request.id}, {"items", items.size()}}}));
    return {};
  }));

  // Nothing kept needs the member's key: traffic is sealed under the lines' keys and the kept
  // records hold ids only, so the key goes now.
  PRIVOX_ASSIGN(accounts::EraseOutcome erased, accounts::Accounts(store, keys, clock).erase_member(member_id, actor));
  return nlohmann::json{{"items", items},
                        {"member_key", "destroyed"},
                        {"erased_at", format_utc(erased.erased_at_us)},
                        {"store_files_purged", erased.files_purged}};
}

}  // namespace privox::rights
