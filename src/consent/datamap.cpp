// The data map's part for consent/: the consent ledger and the optional data it allows (privacy/datamap.h).
#include "consent/module.h"

#include <array>

namespace privox::consent {
namespace {

using privacy::Category;
using privacy::ErasureTreatment;
using privacy::FieldSpec;
using privacy::Format;
using privacy::LegalBasis;
using privacy::Protection;
using privacy::PurposeSet;
using privacy::RetentionRule;
using privacy::StructuralColumn;
using enum privacy::Purpose;

constexpr std::string_view kConsentProof =
    "proof that consent was given or withdrawn must outlive the account for as long as a claim about "
    "the processing it allowed can be brought";
constexpr std::string_view kConsentInClear =
    "a purpose and a yes or no linked to a pseudonymous id, never identity; must stay readable after the "
    "person's key is destroyed, to prove what they agreed to and when they withdrew";

// clang-format off
constexpr std::array<FieldSpec, 9> kFields = {
  FieldSpec{"consent_purpose", "consent_ledger", "purpose", "", Category::consent_rights, false,
            legal | marketing, LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 32, "what a consent decision was about (marketing by email or SMS, cookies, optional data)",
            "What you agreed to or declined",
            "What each of your consent choices was about: marketing email or texts, cookies, or optional data."},
  FieldSpec{"consent_decision", "consent_ledger", "decision", "", Category::consent_rights, false,
            legal | marketing, LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 9, "whether consent was given or withdrawn",
            "Your choice",
            "Whether you gave or withdrew your consent."},
  FieldSpec{"consent_method", "consent_ledger", "method", "", Category::consent_rights, false,
            static_cast<PurposeSet>(legal), LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 9, "how the decision reached us: a form, a link, an SMS reply or the operator's staff",
            "How you told us",
            "How your choice reached us: a form, a link, a text reply or our staff."},
  FieldSpec{"consent_channel", "consent_ledger", "channel", "", Category::consent_rights, false,
            static_cast<PurposeSet>(legal), LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 16, "where the decision was made: web, email, SMS, mobile app or the command line",
            "Where you told us",
            "Where you made your choice: on the web, by email, by text, in the mobile app or through our staff."},
  FieldSpec{"consent_notice_version", "consent_ledger", "notice_version", "", Category::consent_rights, false,
            static_cast<PurposeSet>(legal), LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 32, "which privacy notice the person was shown when deciding",
            "Which notice you saw",
            "The version of this privacy notice you were shown when you made your choice."},
  FieldSpec{"consent_recorded_at", "consent_ledger", "recorded_at_us", "", Category::consent_rights, false,
            static_cast<PurposeSet>(legal), LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kConsentProof, true, Protection::none, kConsentInClear,
            Format::recorded, 20, "when the decision was recorded (UTC)",
            "When you chose",
            "When we recorded your choice."},
  FieldSpec{"contacts", "optional_data", "contacts_enc", "", Category::mobile_social, false,
            static_cast<PurposeSet>(service), LegalBasis::consent, RetentionRule::while_consented,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 262144, "the contact list the member's mobile app uploaded, to show names for numbers",
            "Your phone's contact list",
            "The contact list your mobile app shared with us, to show names for numbers; only while you consent."},
  FieldSpec{"location", "optional_data", "location_enc", "", Category::mobile_social, false,
            static_cast<PurposeSet>(service), LegalBasis::consent, RetentionRule::while_consented,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 262144, "the member's last location as their mobile app reported it",
            "Your location",
            "Where your mobile device was when your mobile app last told us; only while you consent."},
  FieldSpec{"social_profile", "optional_data", "social_profile_enc", "", Category::mobile_social, false,
            static_cast<PurposeSet>(service), LegalBasis::consent, RetentionRule::while_consented,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 262144, "a social network profile the member linked",
            "Your social media profile",
            "A social media profile you chose to link to your account; only while you consent."},
};

constexpr std::array<StructuralColumn, 6> kStructural = {
  StructuralColumn{"consent_ledger", "id", "random time-ordered identifier of a ledger row"},
  StructuralColumn{"consent_ledger", "subject_id", "pseudonymous id of the member or portal visitor who decided"},
  StructuralColumn{"optional_data", "member_id", "pseudonymous id of the member whose key seals the row"},
  StructuralColumn{"optional_data", "contacts_at_us", "when the contact list was last uploaded; cleared with it"},
  StructuralColumn{"optional_data", "location_at_us", "when the location was last reported; cleared with it"},
  StructuralColumn{"optional_data", "social_profile_at_us", "when the social profile was last linked; cleared with it"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"consent", kFields, kStructural}; }

}  // namespace privox::consent
