#include "consent/member_view.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>

#include "accounts/accounts.h"
#include "consent/consent.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::consent {
namespace {

// The consent that lets marketing use a contact field; nullopt for any other field.
std::optional<ConsentPurpose> marketing_consent_for(std::string_view field) {
  if (field == "email") return ConsentPurpose::marketing_email;
  if (field == "phone") return ConsentPurpose::marketing_sms;
  return std::nullopt;
}

}  // namespace

Result<nlohmann::json> show_member(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                   const std::string& id, privacy::Purpose purpose, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("id", id));
  const privacy::AuditChain audit(keys, clock);
  const ConsentLedger ledger(store, keys, clock);
  nlohmann::json out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(std::optional<accounts::MemberRow> member, accounts::find_member(s, id));
    if (!member) return Error{ErrorCode::not_found, "id", fmt::format("no member has id {}", id)};
    out = {{"id", id},
           {"company_id", member->company_id},
           {"status", member->erased ? "erased" : "active"},
           {"created_at", format_utc(member->created_at_us)},
           {"purpose", privacy::to_string(purpose)}};
    nlohmann::json shown = nlohmann::json::array();
    if (member->erased) {
      out["erased_at"] = format_utc(member->erased_at_us);
      out["message"] = fmt::format("member {} was erased on {}: their data key was destroyed and none of their "
                                   "personal data can be decrypted any more",
                                   id, format_utc(member->erased_at_us));
    } else {
      std::vector<const privacy::FieldSpec*> allowed;
      nlohmann::json withheld = nlohmann::json::array();
      for (const privacy::FieldSpec* f : accounts::member_fields()) {
        bool may = privacy::allows(f->purposes, purpose);
        if (may && purpose == privacy::Purpose::marketing) {
          const std::optional<ConsentPurpose> needed = marketing_consent_for(f->name);
          bool consented = false;
          if (needed) {
            PRIVOX_ASSIGN(consented, ledger.holds(s, id, *needed));
          }
          may = consented;
        }
        if (may) allowed.push_back(f);
        else withheld.push_back(f->name);
      }
      PRIVOX_ASSIGN(accounts::FieldValues values, accounts::open_member_fields(s, keys, id, allowed));
      // A field the member never gave is neither shown nor withheld.
      nlohmann::json fields = nlohmann::json::object();
      for (auto& [name, value] : values) {
        fields[name] = value;
        shown.push_back(name);
      }
      PRIVOX_ASSIGN(std::vector<std::string> held, accounts::held_member_fields(s, id));
      nlohmann::json withheld_present = nlohmann::json::array();
      for (const auto& name : withheld)
        if (std::find(held.begin(), held.end(), name.get<std::string>()) != held.end()) withheld_present.push_back(name);
      out["fields"] = std::move(fields);
      out["withheld_for_purpose"] = std::move(withheld_present);
    }
    PRIVOX_TRY(audit.append(s, {actor, "member.show", id, std::string(privacy::to_string(purpose)),
                                {{"fields_shown", shown}}}));
    return {};
  }));
  return out;
}

}  // namespace privox::consent
