#include "privacy/datamap.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cassert>
#include <initializer_list>
#include <vector>

namespace privox::privacy {
namespace {

using enum Purpose;

struct Installed {
  std::vector<DataMapPart> parts;
  std::vector<FieldSpec> personal;
  std::vector<StructuralColumn> structural;
};

Installed& installed() {
  static Installed map;
  return map;
}

constexpr std::array kPurposes = {service, billing, support, fraud, legal, marketing};

}  // namespace

void install_datamap(std::vector<DataMapPart> parts) {
  Installed& map = installed();
  map = Installed{std::move(parts), {}, {}};
  for (const DataMapPart& part : map.parts) {
    map.personal.insert(map.personal.end(), part.personal.begin(), part.personal.end());
    map.structural.insert(map.structural.end(), part.structural.begin(), part.structural.end());
  }
}

const std::vector<DataMapPart>& datamap_parts() { return installed().parts; }

std::span<const FieldSpec> personal_fields() {
  assert(!installed().parts.empty() && "app::install_registries() was not called");
  return installed().personal;
}

std::span<const StructuralColumn> structural_columns() {
  assert(!installed().parts.empty() && "app::install_registries() was not called");
  return installed().structural;
}

const FieldSpec* find_field_by_column(std::string_view table, std::string_view column) {
  for (const FieldSpec& f : personal_fields())
    if (f.table == table && (f.column == column || (!f.index_column.empty() && f.index_column == column))) return &f;
  return nullptr;
}

const FieldSpec* find_field(std::string_view table, std::string_view name) {
  for (const FieldSpec& f : personal_fields())
    if (f.table == table && f.name == name) return &f;
  return nullptr;
}

bool is_declared(std::string_view table, std::string_view column) {
  if (find_field_by_column(table, column)) return true;
  for (const StructuralColumn& s : structural_columns())
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
    case RetentionRule::until_binding_expires: return "until_binding_expires";
    case RetentionRule::while_line_is_theirs: return "while_line_is_theirs";
    case RetentionRule::login_attempt_window: return "login_attempt_window";
    case RetentionRule::until_invitation_ends: return "until_invitation_ends";
    case RetentionRule::hourly_rate_window: return "hourly_rate_window";
    case RetentionRule::until_link_followed: return "until_link_followed";
    case RetentionRule::token_replay_guard: return "token_replay_guard";
    case RetentionRule::ban_period: return "ban_period";
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

std::string_view category_title(Category c) {
  switch (c) {
    case Category::identity_contact: return "Who you are and how to reach you";
    case Category::payment: return "How you pay";
    case Category::traffic: return "Your calls and messages: who, when, how long, which device";
    case Category::content: return "What your calls and messages leave behind: call logs and voicemail";
    case Category::mobile_social: return "Optional data from your phone and social accounts";
    case Category::web_analytics: return "Your visits to the portal";
    case Category::consent_rights: return "Your choices and your requests about your data";
    case Category::operator_interactions: return "Your dealings with us";
  }
  return "?";
}

std::string_view purpose_title(Purpose p) {
  switch (p) {
    case service: return "Giving you the phone service";
    case billing: return "Billing";
    case support: return "Support";
    case fraud: return "Security and fraud prevention";
    case legal: return "Legal duties";
    case marketing: return "Marketing, only with your consent";
  }
  return "?";
}

std::string_view purpose_words(Purpose p) {
  switch (p) {
    case service: return "to give you the phone service and the portal";
    case billing: return "to bill your company and take payment";
    case support: return "to help you when you ask for support";
    case fraud: return "to keep the service safe from fraud and attacks";
    case legal: return "to meet our legal and regulatory duties";
    case marketing: return "to tell you about our products, only if you agreed to it";
  }
  return "?";
}

std::string_view basis_words(LegalBasis b) {
  switch (b) {
    case LegalBasis::contract: return "because we need it to provide the service you signed up for";
    case LegalBasis::legal_obligation: return "to meet a legal duty";
    case LegalBasis::legitimate_interest:
      return "in our legitimate interest in keeping the service safe, which we weigh against your rights";
    case LegalBasis::consent: return "only with your consent, which you can withdraw at any time";
  }
  return "?";
}

std::string_view erasure_words(ErasureTreatment e) {
  switch (e) {
    case ErasureTreatment::erase: return "Deleted";
    case ErasureTreatment::anonymise: return "Made anonymous: what is left can no longer be linked to you";
    case ErasureTreatment::keep_with_exception:
      return "Kept, because your company, the law or the proof of what we did still needs it; we name the reason "
             "when you ask";
  }
  return "?";
}

std::string_view protection_words(Protection p) {
  return p == Protection::per_subject ? "Encrypted with a key of your own; deleting the key makes every copy unreadable"
                                      : "Not encrypted with your own key, because the service must read it to work";
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
  for (const FieldSpec& f : personal_fields()) {
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
        {"label", f.label},
        {"plain_description", f.plain_description},
    };
    if (!f.index_column.empty()) j["blind_index_column"] = f.index_column;
    if (!f.erasure_exception.empty()) j["erasure_exception"] = f.erasure_exception;
    if (!f.protection_reason.empty()) j["protection_reason"] = f.protection_reason;
    fields.push_back(std::move(j));
  }
  nlohmann::json structural = nlohmann::json::array();
  for (const StructuralColumn& s : structural_columns())
    structural.push_back({{"table", s.table}, {"column", s.column}, {"reason", s.reason}});
  return {{"personal_fields", fields}, {"non_personal_columns", structural}};
}

std::string datamap_text() {
  std::string out = "Personal data privox stores (one line per field):\n\n";
  out += fmt::format("{:<16} {:<17} {:<17} {:<9} {:<40} {:<17} {:<22} {:<20} {}\n", "TABLE", "FIELD", "CATEGORY",
                     "MANDATORY", "PURPOSES", "LEGAL BASIS", "RETENTION", "ON ERASURE", "PROTECTION");
  for (const FieldSpec& f : personal_fields())
    out += fmt::format("{:<16} {:<17} {:<17} {:<9} {:<40} {:<17} {:<22} {:<20} {}\n", f.table, f.name, to_string(f.category),
                       f.mandatory ? "yes" : "no", purposes_text(f.purposes), to_string(f.basis),
                       to_string(f.retention), to_string(f.erasure), to_string(f.protection));
  out += fmt::format("\n{} further columns hold no personal data (ids, times, chain links); "
                     "`privox datamap --json` lists each with its reason.\n",
                     structural_columns().size());
  return out;
}

}  // namespace privox::privacy
