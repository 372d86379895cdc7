#include "rights/corrections.h"

#include <nlohmann/json.hpp>

#include <map>
#include <vector>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "ledgers/disclosures.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::rights {

Result<nlohmann::json> correct_and_notify(store::Session& tx, store::Store& store, const privacy::Keyring& keys,
                                          const Clock& clock, const std::string& member_id,
                                          const accounts::FieldValues& corrections, const std::string& request_id,
                                          const std::string& actor) {
  accounts::Accounts accounts(store, keys, clock);
  PRIVOX_ASSIGN(std::vector<std::string> corrected, accounts.correct_member(tx, member_id, corrections, actor));
  const int64_t now = clock.now_us();
  std::map<privacy::Category, std::vector<std::string>> by_category;
  for (const std::string& name : corrected)
    if (const privacy::FieldSpec* f = accounts::member_field(name)) by_category[f->category].push_back(name);

  const ledgers::DisclosureRegister disclosures(store, keys, clock);
  PRIVOX_ASSIGN(std::vector<ledgers::Disclosure> about, disclosures.about(tx, member_id));
  nlohmann::json notices = nlohmann::json::array();
  for (const ledgers::Disclosure& d : about) {
    if (d.disclosed_at_us >= now) continue;  // made after the correction: it already had the right data
    std::vector<std::string> fields;
    for (privacy::Category c : d.categories)
      if (auto it = by_category.find(c); it != by_category.end()) fields.insert(fields.end(), it->second.begin(), it->second.end());
    if (fields.empty()) continue;
    const std::string id = new_id(now);
    PRIVOX_TRY(tx.exec("INSERT INTO rectification_notices (id, request_id, disclosure_id, recipient, fields, "
                       "created_at_us) VALUES (?, ?, ?, ?, ?, ?)",
                       {id, request_id, d.id, d.recipient, nlohmann::json(fields).dump(), now}));
    notices.push_back({{"id", id}, {"disclosure_id", d.id}, {"recipient", d.recipient},
                       {"kind", ledgers::to_string(d.kind)}, {"fields", fields}});
  }
  PRIVOX_TRY(privacy::AuditChain(keys, clock)
                 .append(tx, {actor, "request.rectification_notices", member_id, "legal",
                              {{"request_id", request_id}, {"fields", corrected}, {"notices", notices.size()}}}));
  return nlohmann::json{{"corrected", corrected}, {"notices", notices}};
}

}  // namespace privox::rights
