#include "privacy/datamap.h"
#include "privacy/datamap_parts.h"

#include <fmt/format.h>

#include <array>
#include <initializer_list>
#include <vector>
#include <nlohmann/json.hpp>

namespace privox::privacy {
namespace {

using enum Purpose;
constexpr PurposeSet kContact = service | billing | support | fraud | legal;
constexpr std::string_view kBillingHold =
    "kept while an invoice that names the member is unpaid or within its dispute period";
// Extensions: the company's phone lines. A line may be assigned to a member, which makes its
// numbers contact data of that person for as long as the assignment lasts.
constexpr PurposeSet kLine = service | billing | support;
constexpr std::string_view kCompanyLine =
    "identifies the company's phone line, not the person: erasing the member unassigns the line "
    "(extensions.member_id), which ends the link";
// Traffic data (P5): raw only until the billing dispute period ends, then anonymised (ePrivacy Art. 6).
// The policy lets traffic data serve transmission, billing and collection, customer enquiries and
// fraud investigation; legal process (an authority's order) reaches it too.
constexpr PurposeSet kTraffic = service | billing | fraud | support | legal;
constexpr PurposeSet kEquipment = service | fraud | support;
constexpr std::string_view kDisputedBill =
    "kept raw while a bill that includes the call or message is unpaid or disputed";
constexpr std::string_view kTrafficInClear =
    "needed in clear to rate, bill, index and query calls and to close calls a crashed node left open (R1); "
    "says when or how a call went, not who took part: the parties are sealed under the line's key";

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
            service | billing | support | legal | marketing, LegalBasis::contract, RetentionRule::contract_plus_6_years,
            ErasureTreatment::erase, kBillingHold, true, Protection::per_subject, "",
            Format::email, 254, "the member's email address; also their login; marketing email goes to it only "
            "while their marketing_email consent holds (notify/campaigns.h)"},
  FieldSpec{"phone", "members", "phone_enc", "phone_bidx", Category::identity_contact, true,
            kContact | marketing, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::phone, 32, "the member's telephone number, stored in E.164; marketing SMS go to it only while "
            "their marketing_sms consent holds, and a STOP reply from it withdraws that consent"},
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

  FieldSpec{"extension_number", "extensions", "number", "", Category::identity_contact, true,
            kLine, LegalBasis::contract, RetentionRule::while_company_active,
            ErasureTreatment::keep_with_exception, kCompanyLine, true,
            Protection::none, "a short number inside the company's phone system, needed in clear to route internal calls",
            Format::text, 8, "the line's internal extension number, 2 to 8 digits"},
  FieldSpec{"sip_user", "extensions", "sip_user", "", Category::identity_contact, true,
            service | support, LegalBasis::contract, RetentionRule::while_company_active,
            ErasureTreatment::keep_with_exception, kCompanyLine, true,
            Protection::none, "the line's SIP login, which its phones send in clear in every request; needed in clear to find the line",
            Format::text, 41, "the line's SIP login: its extension number, with a company suffix where another company has that number"},
  FieldSpec{"did", "extensions", "did", "", Category::identity_contact, false,
            kLine, LegalBasis::contract, RetentionRule::while_company_active,
            ErasureTreatment::keep_with_exception, kCompanyLine, true,
            Protection::none, "a number from the operator's range, needed in clear to route public calls to the line",
            Format::phone, 16, "the line's public number (direct inward dialling), in E.164"},

  FieldSpec{"contact", "bindings", "contact_enc", "contact_bidx", Category::traffic, true,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_binding_expires,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 1024, "where a registered device can be reached: its SIP Contact URI, which holds its network address"},
  FieldSpec{"received", "bindings", "received_enc", "", Category::traffic, false,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_binding_expires,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 64, "the network address and port a registration came from, where it differs from the contact (NAT)"},
  FieldSpec{"user_agent", "bindings", "user_agent_enc", "", Category::traffic, false,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_binding_expires,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 256, "the registered device's software and model, as its User-Agent header names them"},

  FieldSpec{"source", "traffic_records", "source_enc", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::per_subject, "",
            Format::recorded, 256, "who called or sent the message: a number or SIP address (another person's when the call came in)"},
  FieldSpec{"source_withheld", "traffic_records", "source_withheld", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true,
            Protection::none, "a flag, not a number: call logs and exports must read it to keep a withheld caller withheld (P13)",
            Format::recorded, 1, "whether the caller withheld their number (SIP Privacy: id)"},
  FieldSpec{"destination", "traffic_records", "destination_enc", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::per_subject, "",
            Format::recorded, 256, "who was called or sent the message: a number or SIP address"},
  FieldSpec{"direction", "traffic_records", "direction", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 8, "internal, outbound (to the public network) or inbound (from it)"},
  FieldSpec{"kind", "traffic_records", "kind", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 5, "the type of communication: voice or sms"},
  FieldSpec{"started_at", "traffic_records", "started_at_us", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 20, "when the call was placed or the message sent (UTC)"},
  FieldSpec{"answered_at", "traffic_records", "answered_at_us", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 20, "when the call was answered (UTC)"},
  FieldSpec{"ended_at", "traffic_records", "ended_at_us", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 20, "when the call ended (UTC)"},
  FieldSpec{"duration", "traffic_records", "duration_ms", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 20, "how long the answered call lasted, in milliseconds"},
  FieldSpec{"outcome", "traffic_records", "outcome", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 16, "how the attempt went: open, answered, busy, no_answer, cancelled or failed"},
  FieldSpec{"failure_code", "traffic_records", "failure_code", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 3, "the SIP status code of a failed attempt"},
  FieldSpec{"end_reason", "traffic_records", "end_reason", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 64, "why the call ended: which side hung up, a timeout, or a restart"},
  FieldSpec{"caller_equipment", "traffic_records", "caller_equipment_enc", "", Category::traffic, false,
            kEquipment, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::per_subject, "",
            Format::recorded, 256, "the caller's device, as its User-Agent header names it"},
  FieldSpec{"callee_equipment", "traffic_records", "callee_equipment_enc", "", Category::traffic, false,
            kEquipment, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::per_subject, "",
            Format::recorded, 256, "the called party's device, as its User-Agent or Server header names it"},
  FieldSpec{"trunk", "traffic_records", "trunk_id", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true,
            Protection::none, "names the carrier link that carried the call (needed in clear to rate it and to register the disclosure, P9), not who took part",
            Format::recorded, 36, "which carrier trunk carried the call (routing)"},
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
  StructuralColumn{"extensions", "id", "random identifier of a phone line; the subject id its bindings and traffic are sealed under"},
  StructuralColumn{"extensions", "company_id", "which tenant the line belongs to"},
  StructuralColumn{"extensions", "member_id", "pseudonymous id of the member the line is assigned to; cleared when they are erased"},
  StructuralColumn{"extensions", "ha1_md5_enc", "digest HA1 of a device password, sealed with a master-derived key; not about a person"},
  StructuralColumn{"extensions", "ha1_sha256_enc", "digest HA1 of a device password, sealed with a master-derived key; not about a person"},
  StructuralColumn{"extensions", "created_at_us", "when the line was created"},
  StructuralColumn{"trunks", "id", "random identifier of a carrier trunk"},
  StructuralColumn{"trunks", "name", "the operator's name for a carrier link; names a business connection, not a person"},
  StructuralColumn{"trunks", "host", "a carrier's signalling address (IP or DNS name); a business's, not a person's"},
  StructuralColumn{"trunks", "port", "the carrier's signalling port"},
  StructuralColumn{"trunks", "trusted", "whether calls from the trunk skip digest authentication"},
  StructuralColumn{"trunks", "created_at_us", "when the trunk was added"},
  StructuralColumn{"bindings", "id", "random identifier of a registration"},
  StructuralColumn{"bindings", "extension_id", "the line the device registered for; its key seals the binding"},
  StructuralColumn{"bindings", "call_id_bidx", "keyed hash of the registering device's Call-ID, to order its refreshes (RFC 3261 section 10.3); the Call-ID itself, which may hold a device address, is never stored"},
  StructuralColumn{"bindings", "cseq", "sequence number of the last REGISTER, to refuse stale ones"},
  StructuralColumn{"bindings", "expires_at_us", "when the registration lapses; the binding is deleted then"},
  StructuralColumn{"bindings", "updated_at_us", "when the registration was last refreshed; deleted with the binding"},
  StructuralColumn{"traffic_records", "id", "random identifier of a call detail record"},
  StructuralColumn{"traffic_records", "company_id", "which tenant the call is billed to; a business, not a person"},
  StructuralColumn{"traffic_records", "subject_id", "pseudonymous id of the line (extension) whose record this is; its key seals the parties and equipment"},
  StructuralColumn{"traffic_records", "node_id", "which serving node handled the call, to close the calls it left open after a crash (R1)"},
  StructuralColumn{"traffic_records", "updated_at_us", "when the record last changed, for recovery after a crash"},
  StructuralColumn{"node_heartbeats", "node_id", "name of a serving node (a machine), not a person"},
  StructuralColumn{"node_heartbeats", "last_seen_us", "the node's last sign of life"},
  StructuralColumn{"schema_migrations", "version", "schema bookkeeping"},
  StructuralColumn{"schema_migrations", "description", "schema bookkeeping"},
  StructuralColumn{"schema_migrations", "applied_at_us", "schema bookkeeping"},
};
// clang-format on

constexpr std::array kPurposes = {service, billing, support, fraud, legal, marketing};

}  // namespace

template <typename T>
std::vector<T> joined(std::initializer_list<std::span<const T>> parts) {
  std::vector<T> all;
  for (std::span<const T> part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

// Each subsystem declares the columns of the tables it owns in its own datamap_<part>.cpp
// (datamap_parts.h); this file holds the foundation's and joins them.
std::span<const FieldSpec> personal_fields() {
  static const std::vector<FieldSpec> all = joined<FieldSpec>(
      {kFields, portal_personal_fields(), ledger_personal_fields(), rights_personal_fields(),
       retention_personal_fields(), notify_personal_fields()});
  return all;
}

std::span<const StructuralColumn> structural_columns() {
  static const std::vector<StructuralColumn> all = joined<StructuralColumn>(
      {kStructural, portal_structural_columns(), ledger_structural_columns(), rights_structural_columns(),
       retention_structural_columns(), notify_structural_columns()});
  return all;
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
