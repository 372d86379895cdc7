// The data map's part for rights/: rights requests and rectification notices (privacy/datamap.h).
#include "rights/module.h"

#include <array>

namespace privox::rights {
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
using privacy::Purpose;

constexpr PurposeSet kLegal = static_cast<PurposeSet>(Purpose::legal);
constexpr std::string_view kProof =
    "kept as proof of how the rights request was answered (legal obligation); a later erasure keeps it";
constexpr std::string_view kOperatorText =
    "the operator's own words, written to be sent to the member; needed in clear to prove how the request was "
    "handled after the member's key is destroyed";

// clang-format off
constexpr std::array<FieldSpec, 5> kFields = {
  FieldSpec{"request_corrections", "rights_requests", "corrections_enc", "", Category::consent_rights, false,
            kLegal, LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 4096, "the corrected values a member asked for in a rectification request",
            "Corrections you asked for",
            "The corrected details you asked for in a request to fix your data."},
  FieldSpec{"request_extension_reason", "rights_requests", "extension_reason", "", Category::consent_rights, false,
            kLegal, LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kProof, true, Protection::none, kOperatorText,
            Format::text, 500, "why the operator extended the deadline of a rights request",
            "Why we took longer to answer your request",
            "Our reason, if we extended the time to answer one of your requests about your data."},
  FieldSpec{"request_refusal_reason", "rights_requests", "refusal_reason", "", Category::consent_rights, false,
            kLegal, LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kProof, true, Protection::none, kOperatorText,
            Format::text, 500, "why the operator refused a rights request",
            "Why we refused a request",
            "Our reason, if we refused one of your requests about your data."},
  FieldSpec{"request_fee_waiver_reason", "rights_requests", "fee_waiver_reason", "", Category::consent_rights, false,
            kLegal, LegalBasis::legal_obligation, RetentionRule::as_law_requires,
            ErasureTreatment::keep_with_exception, kProof, true, Protection::none, kOperatorText,
            Format::text, 500, "why the operator waived the administration fee of an access request",
            "Why we waived a fee",
            "Our reason, if we waived the fee for a copy of your data."},
  FieldSpec{"request_payment_reference", "rights_requests", "payment_reference", "", Category::payment, false,
            static_cast<PurposeSet>(Purpose::billing | Purpose::legal), LegalBasis::legal_obligation,
            RetentionRule::as_law_requires, ErasureTreatment::keep_with_exception, kProof, true, Protection::none,
            "the payment provider's or bank's reference of a fee payment, not card data; needed in clear to match the payment",
            Format::text, 200, "the reference of the payment of an access request's fee",
            "Receipt for a fee you paid",
            "The payment reference of a fee you paid for a copy of your data; never your card details."},
};

constexpr std::array<StructuralColumn, 27> kStructural = {
  StructuralColumn{"rights_requests", "id", "random identifier of a rights request"},
  StructuralColumn{"rights_requests", "member_id", "pseudonymous id of the member who made the request"},
  StructuralColumn{"rights_requests", "kind", "access, rectify or erase"},
  StructuralColumn{"rights_requests", "state", "where the request stands"},
  StructuralColumn{"rights_requests", "channel", "where the request was made: cli, portal, email"},
  StructuralColumn{"rights_requests", "received_at_us", "when the request was received; the deadline runs from it"},
  StructuralColumn{"rights_requests", "paused_us", "how long the deadline was paused awaiting identity or the fee"},
  StructuralColumn{"rights_requests", "paused_since_us", "when the current pause began"},
  StructuralColumn{"rights_requests", "extension_months", "how many months the deadline was extended by"},
  StructuralColumn{"rights_requests", "fee_minor_units", "the operator's administration fee in force when the request was made"},
  StructuralColumn{"rights_requests", "fee_currency", "the fee's currency"},
  StructuralColumn{"rights_requests", "fee_status", "none, due, waived or paid"},
  StructuralColumn{"rights_requests", "code_hash", "keyed hash of the one-time identity code; the code itself is never stored"},
  StructuralColumn{"rights_requests", "code_expires_at_us", "when the identity code lapses"},
  StructuralColumn{"rights_requests", "code_tries_left", "wrong codes still allowed before the code is void"},
  StructuralColumn{"rights_requests", "identity_verified_at_us", "when the member proved who they are"},
  StructuralColumn{"rights_requests", "exported_at_us", "when the copy of an access request was produced"},
  StructuralColumn{"rights_requests", "closed_at_us", "when the request was completed or refused"},
  StructuralColumn{"rights_requests", "correction_fields", "names of the fields a rectification corrects; never their values"},
  StructuralColumn{"rights_requests", "outcome", "what was done per item: field names, counts, outcomes and exceptions; never values"},
  StructuralColumn{"rights_requests", "updated_at_us", "when the request last changed"},
  StructuralColumn{"rectification_notices", "id", "random identifier of a notice"},
  StructuralColumn{"rectification_notices", "request_id", "the rectification request that caused the notice"},
  StructuralColumn{"rectification_notices", "disclosure_id", "the disclosure-register entry whose recipient must hear of the correction"},
  StructuralColumn{"rectification_notices", "recipient", "the third party (a business or authority) that received the data, copied from the register"},
  StructuralColumn{"rectification_notices", "fields", "names of the corrected fields; never their values"},
  StructuralColumn{"rectification_notices", "created_at_us", "when the notice was recorded"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"rights", kFields, kStructural}; }

}  // namespace privox::rights
