// Rectification and erasure (fulfil.h).
#include "rights/fulfil.h"

#include <fmt/format.h>

#include <set>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "common/json.h"
#include "erasure/erasure.h"
#include "ledgers/disclosures.h"
#include "privacy/datamap.h"

namespace privox::rights {
namespace {

using store::Rows;
using store::Session;
using store::TxMode;

Result<accounts::FieldValues> open_corrections(store::Store& store, const privacy::Keyring& keys,
                                               const Request& request) {
  accounts::FieldValues out;
  PRIVOX_ASSIGN(auto tx, store.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows rows, tx->query("SELECT corrections_enc FROM rights_requests WHERE id = ?", {request.id}));
  if (rows.empty() || rows[0].is_null(0))
    return Error{ErrorCode::not_found, "id", fmt::format("request {} holds no corrections", request.id)};
  PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(*tx, keys, request.member_id));
  PRIVOX_ASSIGN(std::string text, privacy::open_field(key, request.member_id, "request_corrections", rows[0].blob(0)));
  const nlohmann::json values = json::parse_untrusted(text).value_or(nlohmann::json());
  if (!values.is_object()) return make_error(ErrorCode::corrupt, "the sealed corrections are not a JSON object");
  for (const auto& [name, value] : values.items()) out[name] = value.get<std::string>();
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
    if (const privacy::FieldSpec* f = accounts::member_field(name)) by_category[f->category].push_back(name);

  const ledgers::DisclosureRegister disclosures(store, keys, clock);
  const privacy::AuditChain audit(keys, clock);
  nlohmann::json notices = nlohmann::json::array();
  PRIVOX_TRY(store::with_transaction(store, TxMode::write, [&](Session& s) -> Status {
    notices = nlohmann::json::array();
    PRIVOX_ASSIGN(std::vector<ledgers::Disclosure> about, disclosures.about(s, request.member_id));
    for (const ledgers::Disclosure& d : about) {
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
                         {"kind", ledgers::to_string(d.kind)}, {"fields", fields}});
    }
    PRIVOX_TRY(audit.append(s, {actor, "request.rectification_notices", request.member_id, "legal",
                                {{"request_id", request.id}, {"fields", corrected}, {"notices", notices.size()}}}));
    return {};
  }));
  return nlohmann::json{{"corrected", corrected}, {"notices", notices}};
}

Result<nlohmann::json> erase(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                             const Request& request, const std::string& actor) {
  PRIVOX_ASSIGN(erasure::Outcome outcome,
                erasure::erase_member(store, keys, clock, request.member_id, actor, "rights request " + request.id));
  if (outcome.already_erased)
    return Error{ErrorCode::erased, "member", fmt::format("member {} was already erased", request.member_id)};
  return erasure::to_json(outcome);
}

}  // namespace privox::rights
