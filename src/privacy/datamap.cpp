#include "privacy/datamap.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

namespace privox::privacy {
namespace {

using enum Purpose;
constexpr PurposeSet kContact = service | billing | support | fraud | legal;
constexpr std::string_view kBillingHold =
    "kept while an invoice that names the member is unpaid or within its dispute period";

// clang-format off
constexpr std::array kFields = {
  FieldSpec{"company_name", "companies", "name", "", Category::identity_contact, true,
            service | billing | support | legal, LegalBasis::contract, RetentionRule::while_company_active,
            ErasureTreatment::keep_with_exception, "names a business customer, which billing records must keep", true,
            Protection::none, "names a legal person, not a natural one; shown on invoices and to the tenant's members",
            Format::text, 200, "the company the member works for (the tenant)"},
  FieldSpec{"name", "members", "name_enc", "", Category::identity_contact, true,
            kContact, LegalBasis::contract, RetentionRule::contract_plus_6_years,
            ErasureTreatment::erase, kBillingHold, true, Protection::per_subject, "",
            Format::text, 200, "the member's full name"},
  FieldSpec{"email", "members", "email_enc", "email_bidx", Category::identity_contact, true,
            service | billing | support | legal, LegalBasis::contract, RetentionRule::contract_plus_6_years,
            ErasureTreatment::erase, kBillingHold, true, Protection::per_subject, "",
            Format::email, 254, "the member's email address; also their login"},
  FieldSpec{"phone", "members", "phone_enc", "phone_bidx", Category::identity_contact, true,
            kContact, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::phone, 32, "the member's telephone number, stored in E.164"},
  FieldSpec{"address", "members", "address_enc", "", Category::identity_contact, true,
            billing | legal, LegalBasis::contract, RetentionRule::contract_plus_6_years,
            ErasureTreatment::erase, kBillingHold, true, Protection::per_subject, "",
            Format::text, 500, "the member's postal address"},
  FieldSpec{"birth_date", "members", "birth_date_enc", "", Category::identity_contact, true,
            static_cast<PurposeSet>(legal), LegalBasis::legal_obligation, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::date, 10, "the member's date of birth, collected to refuse sign-ups under 18"},
  FieldSpec{"payment_token", "members", "payment_token_enc", "", Category::payment, true,
            billing | fraud, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, kBillingHold, false, Protection::per_subject, "",
            Format::token, 200, "the payment provider's token for the member's card; never the card number"},
  FieldSpec{"card_brand", "members", "card_brand_enc", "", Category::payment, false,
            billing | support, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::card_brand, 16, "the card's brand, as the provider reported it"},
  FieldSpec{"card_last4", "members", "card_last4_enc", "", Category::payment, false,
            billing | support, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::card_last4, 4, "the last four digits of the card"},
  FieldSpec{"card_expiry", "members", "card_expiry_enc", "", Category::payment, false,
            static_cast<PurposeSet>(billing), LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::card_expiry, 7, "the card's expiry month, YYYY-MM"},
};

constexpr std::array kStructural = {
  StructuralColumn{"companies", "id", "random identifier of a tenant"},
  StructuralColumn{"companies", "region", "which regional store holds the tenant's data (eea or us)"},
  StructuralColumn{"companies", "country", "the tenant's country, for number formats; not a person's"},
  StructuralColumn{"companies", "created_at_us", "when the tenant was created"},
  StructuralColumn{"members", "id", "random pseudonymous identifier; the only link audit entries keep"},
  StructuralColumn{"members", "company_id", "which tenant the member belongs to"},
  StructuralColumn{"members", "status", "active or erased"},
  StructuralColumn{"members", "created_at_us", "when the account was opened"},
  StructuralColumn{"members", "erased_at_us", "when the member's key was destroyed"},
  StructuralColumn{"subject_keys", "subject_id", "pseudonymous identifier of the key's subject"},
  StructuralColumn{"subject_keys", "wrapped_key", "the subject's data key, encrypted by the master key"},
  StructuralColumn{"subject_keys", "created_at_us", "when the key was made"},
  StructuralColumn{"audit_log", "seq", "position in the chain"},
  StructuralColumn{"audit_log", "id", "random identifier of the entry"},
  StructuralColumn{"audit_log", "at_us", "when the audited action happened"},
  StructuralColumn{"audit_log", "actor", "the staff account or tool that acted"},
  StructuralColumn{"audit_log", "action", "what was done, e.g. member.show"},
  StructuralColumn{"audit_log", "subject_id", "pseudonymous id of the person concerned; never their data"},
  StructuralColumn{"audit_log", "purpose", "the purpose the actor named"},
  StructuralColumn{"audit_log", "detail", "field names and outcomes; values of personal fields are never written"},
  StructuralColumn{"audit_log", "prev_hash", "the chain link"},
  StructuralColumn{"audit_log", "hash", "keyed hash of the entry"},
  StructuralColumn{"audit_head", "id", "always 1"},
  StructuralColumn{"audit_head", "seq", "the chain's last position"},
  StructuralColumn{"audit_head", "hash", "the chain's last hash"},
  StructuralColumn{"schema_migrations", "version", "schema bookkeeping"},
  StructuralColumn{"schema_migrations", "description", "schema bookkeeping"},
  StructuralColumn{"schema_migrations", "applied_at_us", "schema bookkeeping"},
};
// clang-format on

constexpr std::array kPurposes = {service, billing, support, fraud, legal, marketing};

}  // namespace

std::span<const FieldSpec> personal_fields() { return kFields; }
std::span<const StructuralColumn> structural_columns() { return kStructural; }

const FieldSpec* find_field_by_column(std::string_view table, std::string_view column) {
  for (const FieldSpec& f : kFields)
    if (f.table == table && (f.column == column || (!f.index_column.empty() && f.index_column == column))) return &f;
  return nullptr;
}

const FieldSpec* find_field(std::string_view table, std::string_view name) {
  for (const FieldSpec& f : kFields)
    if (f.table == table && f.name == name) return &f;
  return nullptr;
}

bool is_declared(std::string_view table, std::string_view column) {
  if (find_field_by_column(table, column)) return true;
  for (const StructuralColumn& s : kStructural)
    if (s.table == table && s.column == column) return true;
  return false;
}

std::string_view to_string(Category c) {
  switch (c) {
    case Category::identity_contact: return "identity_contact";
    case Category::payment: return "payment";
    case Category::traffic: return "traffic";
    case Category::content: return "content";
    case Category::mobile_social: return "mobile_social";
    case Category::web_analytics: return "web_analytics";
    case Category::consent_rights: return "consent_rights";
    case Category::operator_interactions: return "operator_interactions";
  }
  return "?";
}

std::string_view to_string(Purpose p) {
  switch (p) {
    case service: return "service";
    case billing: return "billing";
    case support: return "support";
    case fraud: return "fraud";
    case legal: return "legal";
    case marketing: return "marketing";
  }
  return "?";
}

std::string_view to_string(LegalBasis b) {
  switch (b) {
    case LegalBasis::contract: return "contract";
    case LegalBasis::legal_obligation: return "legal_obligation";
    case LegalBasis::legitimate_interest: return "legitimate_interest";
    case LegalBasis::consent: return "consent";
  }
  return "?";
}

std::string_view to_string(RetentionRule r) {
  switch (r) {
    case RetentionRule::contract_plus_6_years: return "contract_plus_6_years";
    case RetentionRule::until_closure: return "until_closure";
    case RetentionRule::billing_dispute_period: return "billing_dispute_period";
    case RetentionRule::operator_limit: return "operator_limit";
    case RetentionRule::while_consented: return "while_consented";
    case RetentionRule::as_law_requires: return "as_law_requires";
    case RetentionRule::while_company_active: return "while_company_active";
  }
  return "?";
}

std::string_view to_string(ErasureTreatment e) {
  switch (e) {
    case ErasureTreatment::erase: return "erase";
    case ErasureTreatment::anonymise: return "anonymise";
    case ErasureTreatment::keep_with_exception: return "keep_with_exception";
  }
  return "?";
}

std::string_view to_string(Protection p) {
  return p == Protection::per_subject ? "per_subject_key" : "none";
}

std::optional<Purpose> parse_purpose(std::string_view text) {
  for (Purpose p : kPurposes)
    if (to_string(p) == text) return p;
  return std::nullopt;
}

std::string purposes_text(PurposeSet set) {
  std::string out;
  for (Purpose p : kPurposes) {
    if (!allows(set, p)) continue;
    if (!out.empty()) out += ", ";
    out += to_string(p);
  }
  return out;
}

nlohmann::json datamap_json() {
  nlohmann::json fields = nlohmann::json::array();
  for (const FieldSpec& f : kFields) {
    nlohmann::json purposes = nlohmann::json::array();
    for (Purpose p : kPurposes)
      if (allows(f.purposes, p)) purposes.push_back(to_string(p));
    nlohmann::json j = {
        {"name", f.name},
        {"table", f.table},
        {"column", f.column},
        {"category", to_string(f.category)},
        {"mandatory", f.mandatory},
        {"purposes", purposes},
        {"legal_basis", to_string(f.basis)},
        {"retention", to_string(f.retention)},
        {"erasure", to_string(f.erasure)},
        {"in_access_export", f.in_access_export},
        {"protection", to_string(f.protection)},
        {"description", f.description},
    };
    if (!f.index_column.empty()) j["blind_index_column"] = f.index_column;
    if (!f.erasure_exception.empty()) j["erasure_exception"] = f.erasure_exception;
    if (!f.protection_reason.empty()) j["protection_reason"] = f.protection_reason;
    fields.push_back(std::move(j));
  }
  nlohmann::json structural = nlohmann::json::array();
  for (const StructuralColumn& s : kStructural)
    structural.push_back({{"table", s.table}, {"column", s.column}, {"reason", s.reason}});
  return {{"personal_fields", fields}, {"non_personal_columns", structural}};
}

std::string datamap_text() {
  std::string out = "Personal data privox stores (one line per field):\n\n";
  out += fmt::format("{:<14} {:<17} {:<9} {:<40} {:<17} {:<22} {:<20} {}\n", "FIELD", "CATEGORY", "MANDATORY",
                     "PURPOSES", "LEGAL BASIS", "RETENTION", "ON ERASURE", "PROTECTION");
  for (const FieldSpec& f : kFields)
    out += fmt::format("{:<14} {:<17} {:<9} {:<40} {:<17} {:<22} {:<20} {}\n", f.name, to_string(f.category),
                       f.mandatory ? "yes" : "no", purposes_text(f.purposes), to_string(f.basis),
                       to_string(f.retention), to_string(f.erasure), to_string(f.protection));
  out += fmt::format("\n{} further columns hold no personal data (ids, times, chain links); "
                     "`privox datamap --json` lists each with its reason.\n",
                     kStructural.size());
  return out;
}

}  // namespace privox::privacy
