// The data map's part for the privacy ledgers and the operator's settings (see datamap_parts.h).
#include <array>

#include "privacy/datamap_parts.h"

namespace privox::privacy {
namespace {

using enum Purpose;
constexpr std::string_view kConsentProof =
    "proof that consent was given or withdrawn must outlive the account for as long as a claim about "
    "the processing it allowed can be brought";
constexpr std::string_view kConsentInClear =
    "a purpose and a yes or no linked to a pseudonymous id, never identity; must stay readable after the "
    "person's key is destroyed, to prove what they agreed to and when they withdrew";

// clang-format off
constexpr std::array kFields = {
  FieldSpec{"consent_purpose", "consent_ledger", "purpose", "", Category::consent_rights, false,
            legal | marketing, LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 32, "what a consent decision was about (marketing by email or SMS, cookies, optional data)"},
  FieldSpec{"consent_decision", "consent_ledger", "decision", "", Category::consent_rights, false,
            legal | marketing, LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 9, "whether consent was given or withdrawn"},
  FieldSpec{"consent_method", "consent_ledger", "method", "", Category::consent_rights, false,
            static_cast<PurposeSet>(legal), LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 9, "how the decision reached us: a form, a link, an SMS reply or the operator's staff"},
  FieldSpec{"consent_channel", "consent_ledger", "channel", "", Category::consent_rights, false,
            static_cast<PurposeSet>(legal), LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 16, "where the decision was made: web, email, SMS, mobile app or the command line"},
  FieldSpec{"consent_notice_version", "consent_ledger", "notice_version", "", Category::consent_rights, false,
            static_cast<PurposeSet>(legal), LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 32, "which privacy notice the person was shown when deciding"},
  FieldSpec{"consent_recorded_at", "consent_ledger", "recorded_at_us", "", Category::consent_rights, false,
            static_cast<PurposeSet>(legal), LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 20, "when the decision was recorded (UTC)"},

  FieldSpec{"contacts", "optional_data", "contacts_enc", "", Category::mobile_social, false,
            static_cast<PurposeSet>(service), LegalBasis::consent, RetentionRule::while_consented,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 262144, "the contact list the member's mobile app uploaded, to show names for numbers"},
  FieldSpec{"location", "optional_data", "location_enc", "", Category::mobile_social, false,
            static_cast<PurposeSet>(service), LegalBasis::consent, RetentionRule::while_consented,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 262144, "the member's last location as their mobile app reported it"},
  FieldSpec{"social_profile", "optional_data", "social_profile_enc", "", Category::mobile_social, false,
            static_cast<PurposeSet>(service), LegalBasis::consent, RetentionRule::while_consented,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 262144, "a social network profile the member linked"},
};

constexpr std::array kStructural = {
  StructuralColumn{"settings", "key", "names an operator setting (store/settings.cpp)"},
  StructuralColumn{"settings", "value", "the operator's configuration: periods, limits, fees and the controller's business contact details"},
  StructuralColumn{"settings", "updated_at_us", "when the setting last changed"},

  StructuralColumn{"consent_ledger", "id", "random time-ordered identifier of a ledger row"},
  StructuralColumn{"consent_ledger", "subject_id", "pseudonymous id of the member or portal visitor who decided"},

  StructuralColumn{"optional_data", "member_id", "pseudonymous id of the member whose key seals the row"},
  StructuralColumn{"optional_data", "contacts_at_us", "when the contact list was last uploaded; cleared with it"},
  StructuralColumn{"optional_data", "location_at_us", "when the location was last reported; cleared with it"},
  StructuralColumn{"optional_data", "social_profile_at_us", "when the social profile was last linked; cleared with it"},

  StructuralColumn{"disclosures", "id", "random time-ordered identifier of a register entry"},
  StructuralColumn{"disclosures", "recipient", "the third party that received data: a business or public authority, not a data subject"},
  StructuralColumn{"disclosures", "kind", "the kind of recipient: carrier, supplier, authority, buyer or region transfer"},
  StructuralColumn{"disclosures", "categories", "data map category names of what was disclosed"},
  StructuralColumn{"disclosures", "legal_basis", "the legal basis of the disclosure"},
  StructuralColumn{"disclosures", "reference", "the legal process's or contract's reference; names a matter, not a person"},
  StructuralColumn{"disclosures", "safeguard", "the transfer safeguard, e.g. standard contractual clauses"},
  StructuralColumn{"disclosures", "trunk_id", "the carrier trunk a standing routing entry is for"},
  StructuralColumn{"disclosures", "disclosed_at_us", "when the disclosure happened"},
  StructuralColumn{"disclosures", "recorded_by", "the staff account or tool that recorded it"},
  StructuralColumn{"disclosure_subjects", "disclosure_id", "the register entry"},
  StructuralColumn{"disclosure_subjects", "subject_id", "pseudonymous id of a member the entry concerned"},

  StructuralColumn{"legal_holds", "id", "random time-ordered identifier of a hold"},
  StructuralColumn{"legal_holds", "subject_id", "pseudonymous id of the member under the hold"},
  StructuralColumn{"legal_holds", "reason", "the legal matter the hold serves (a case, an order); staff name the matter, not the person"},
  StructuralColumn{"legal_holds", "reference", "the legal matter's reference"},
  StructuralColumn{"legal_holds", "placed_at_us", "when the hold was placed"},
  StructuralColumn{"legal_holds", "placed_by", "the staff account or tool that placed it"},
  StructuralColumn{"legal_holds", "released_at_us", "when the hold was released; empty while in force"},
  StructuralColumn{"legal_holds", "released_by", "the staff account or tool that released it"},
};
// clang-format on

}  // namespace

std::span<const FieldSpec> ledger_personal_fields() { return kFields; }
std::span<const StructuralColumn> ledger_structural_columns() { return kStructural; }

}  // namespace privox::privacy
