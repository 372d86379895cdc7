// The data map's part for accounts/: companies (tenants), members, phone lines (extensions) and carrier trunks (privacy/datamap.h).
#include "accounts/module.h"

#include <array>

namespace privox::accounts {
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

constexpr PurposeSet kContact = service | billing | support | fraud | legal;
constexpr std::string_view kBillingHold =
    "kept while an invoice that names the member is unpaid or within its dispute period";
constexpr PurposeSet kLine = service | billing | support;
constexpr std::string_view kCompanyLine =
    "identifies the company's phone line, not the person: erasing the member unassigns the line "
    "(extensions.member_id), which ends the link";

// clang-format off
constexpr std::array<FieldSpec, 14> kFields = {
  FieldSpec{"company_name", "companies", "name", "", Category::identity_contact, true,
            service | billing | support | legal, LegalBasis::contract, RetentionRule::while_company_active,
            ErasureTreatment::keep_with_exception, "names a business customer, which billing records must keep", true,
            Protection::none, "names a legal person, not a natural one; shown on invoices and to the tenant's members",
            Format::text, 200, "the company the member works for (the tenant)",
            "Your company's name",
            "The name of the company you work for, which holds the account and pays for the service."},
  FieldSpec{"name", "members", "name_enc", "", Category::identity_contact, true,
            kContact, LegalBasis::contract, RetentionRule::contract_plus_6_years,
            ErasureTreatment::erase, kBillingHold, true, Protection::per_subject, "",
            Format::text, 200, "the member's full name",
            "Your name",
            "Your full name, as you gave it when you joined."},
  FieldSpec{"email", "members", "email_enc", "email_bidx", Category::identity_contact, true,
            service | billing | support | legal | marketing, LegalBasis::contract, RetentionRule::contract_plus_6_years,
            ErasureTreatment::erase, kBillingHold, true, Protection::per_subject, "",
            Format::email, 254, "the member's email address; also their login; marketing email goes to it only "
            "while their marketing_email consent holds (notify/campaigns.h)",
            "Your email address",
            "Your email address: you log in with it and we write to you at it. We send you marketing email only if you agreed to it."},
  FieldSpec{"phone", "members", "phone_enc", "phone_bidx", Category::identity_contact, true,
            kContact | marketing, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::phone, 32, "the member's telephone number, stored in E.164; marketing SMS go to it only while "
            "their marketing_sms consent holds, and a STOP reply from it withdraws that consent",
            "Your phone number",
            "Your own telephone number, so that we can reach you. We send you marketing texts only if you agreed to it, and replying STOP ends them."},
  FieldSpec{"address", "members", "address_enc", "", Category::identity_contact, true,
            billing | legal, LegalBasis::contract, RetentionRule::contract_plus_6_years,
            ErasureTreatment::erase, kBillingHold, true, Protection::per_subject, "",
            Format::text, 500, "the member's postal address",
            "Your postal address",
            "Your postal address, for billing."},
  FieldSpec{"birth_date", "members", "birth_date_enc", "", Category::identity_contact, true,
            static_cast<PurposeSet>(legal), LegalBasis::legal_obligation, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::date, 10, "the member's date of birth, collected to refuse sign-ups under 18",
            "Your date of birth",
            "Your date of birth, which we ask for because the service is only for people aged 18 or over."},
  FieldSpec{"payment_token", "members", "payment_token_enc", "", Category::payment, true,
            billing | fraud, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, kBillingHold, false, Protection::per_subject, "",
            Format::token, 200, "the payment provider's token for the member's card; never the card number",
            "Your card, as the payment provider's reference",
            "A reference the payment provider gives us for your card, so that we can charge it. We never see or keep your card number."},
  FieldSpec{"card_brand", "members", "card_brand_enc", "", Category::payment, false,
            billing | support, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::card_brand, 16, "the card's brand, as the provider reported it",
            "Your card's brand",
            "The brand of your card (such as Visa), so that you can tell which card is on file."},
  FieldSpec{"card_last4", "members", "card_last4_enc", "", Category::payment, false,
            billing | support, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::card_last4, 4, "the last four digits of the card",
            "Your card's last four digits",
            "The last four digits of your card, so that you can tell which card is on file."},
  FieldSpec{"card_expiry", "members", "card_expiry_enc", "", Category::payment, false,
            static_cast<PurposeSet>(billing), LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::card_expiry, 7, "the card's expiry month, YYYY-MM",
            "Your card's expiry date",
            "The month and year your card expires, which billing needs."},
  FieldSpec{"extension_number", "extensions", "number", "", Category::identity_contact, true,
            kLine, LegalBasis::contract, RetentionRule::while_company_active,
            ErasureTreatment::keep_with_exception, kCompanyLine, true,
            Protection::none, "a short number inside the company's phone system, needed in clear to route internal calls",
            Format::text, 8, "the line's internal extension number, 2 to 8 digits",
            "Your extension number",
            "The short internal number of the phone line your company gave you."},
  FieldSpec{"sip_user", "extensions", "sip_user", "", Category::identity_contact, true,
            service | support, LegalBasis::contract, RetentionRule::while_company_active,
            ErasureTreatment::keep_with_exception, kCompanyLine, true,
            Protection::none, "the line's SIP login, which its phones send in clear in every request; needed in clear to find the line",
            Format::text, 41, "the line's SIP login: its extension number, with a company suffix where another company has that number",
            "Your phone line's login",
            "The login name your phone or softphone uses to connect your line to the service."},
  FieldSpec{"did", "extensions", "did", "", Category::identity_contact, false,
            kLine, LegalBasis::contract, RetentionRule::while_company_active,
            ErasureTreatment::keep_with_exception, kCompanyLine, true,
            Protection::none, "a number from the operator's range, needed in clear to route public calls to the line",
            Format::phone, 16, "the line's public number (direct inward dialling), in E.164",
            "Your direct phone number",
            "The public phone number that people outside your company dial to reach your line, if it has one."},
  // A label such as "Reception desk" is the company's business data, but nothing stops it naming
  // the person at the desk, so it is declared personal: it goes with the line, and erasing the
  // line's member clears it with the assignment (accounts/erasure.cpp).
  FieldSpec{"line_label", "extensions", "label", "", Category::identity_contact, false,
            service | support, LegalBasis::contract, RetentionRule::while_company_active,
            ErasureTreatment::erase, "", true,
            Protection::none, "the company's own name for its line, shown to its members next to the line; in clear like the number",
            Format::text, 60, "the company's name for the line, such as Reception desk; may name the person who uses it",
            "Your line's name",
            "The name your company gives your phone line, such as Reception desk, shown to your colleagues next to the line."},
};

constexpr std::array<StructuralColumn, 45> kStructural = {
  StructuralColumn{"companies", "id", "random identifier of a tenant"},
  StructuralColumn{"companies", "region", "which regional store holds the tenant's data (eea or us)"},
  StructuralColumn{"companies", "country", "the tenant's country, for number formats; not a person's"},
  StructuralColumn{"companies", "created_at_us", "when the tenant was created"},
  StructuralColumn{"companies", "closure_requested_at_us", "when closing the tenant was asked for"},
  StructuralColumn{"companies", "closure_requested_by", "who asked: an office manager's member id or an operator"},
  StructuralColumn{"companies", "service_ends_at_us", "when a closing tenant's lines go"},
  StructuralColumn{"companies", "closed_at_us", "when a closed tenant's lines went"},
  StructuralColumn{"members", "id", "random pseudonymous identifier; the only link audit entries keep"},
  StructuralColumn{"members", "company_id", "which tenant the member belongs to"},
  StructuralColumn{"members", "status", "active or erased"},
  StructuralColumn{"members", "created_at_us", "when the account was opened"},
  StructuralColumn{"members", "erased_at_us", "when the member's key was destroyed"},
  StructuralColumn{"extensions", "id", "random identifier of a phone line; the subject id its bindings and traffic are sealed under"},
  StructuralColumn{"extensions", "company_id", "which tenant the line belongs to"},
  StructuralColumn{"extensions", "member_id", "pseudonymous id of the member the line is assigned to; cleared when they are erased"},
  StructuralColumn{"extensions", "ha1_md5_enc", "digest HA1 of a device password, sealed with a master-derived key; not about a person"},
  StructuralColumn{"extensions", "ha1_sha256_enc", "digest HA1 of a device password, sealed with a master-derived key; not about a person"},
  StructuralColumn{"extensions", "created_at_us", "when the line was created"},
  StructuralColumn{"extensions", "digest", "which digest challenges the line's phones get (md5 or sha256); a setting"},
  StructuralColumn{"companies", "sip_digest", "which digest challenges the tenant's phones get by default; a setting"},
  StructuralColumn{"companies", "require_encryption", "whether the tenant requires TLS and SRTP of its phones; a setting"},
  StructuralColumn{"companies", "time_zone", "the tenant's time zone (an IANA name) for its business hours; a setting"},
  StructuralColumn{"trunks", "id", "random identifier of a carrier trunk"},
  StructuralColumn{"trunks", "name", "the operator's name for a carrier link; names a business connection, not a person"},
  StructuralColumn{"trunks", "host", "a carrier's signalling address (IP or DNS name); a business's, not a person's"},
  StructuralColumn{"trunks", "port", "the carrier's signalling port"},
  StructuralColumn{"trunks", "trusted", "whether calls from the trunk skip digest authentication"},
  StructuralColumn{"trunks", "created_at_us", "when the trunk was added"},
  StructuralColumn{"directory_changes", "seq", "the change's number in the provisioning change log"},
  StructuralColumn{"directory_changes", "kind", "whether a phone line or a trunk changed"},
  StructuralColumn{"directory_changes", "item_id", "random identifier of the line or trunk that changed; names no person"},
  StructuralColumn{"directory_changes", "change", "what kind of change it was (added, password_reset, ...); holds no value"},
  StructuralColumn{"directory_changes", "changed_at_us", "when the change was made"},
  StructuralColumn{"directory_log_head", "id", "the counter's only row"},
  StructuralColumn{"directory_log_head", "seq", "the number of the latest change in the log"},
  StructuralColumn{"company_hours", "company_id", "which tenant has set its business hours"},
  StructuralColumn{"company_hours", "set_at_us", "when the tenant last set its business hours"},
  StructuralColumn{"company_hours_intervals", "company_id", "which tenant the opening interval belongs to"},
  StructuralColumn{"company_hours_intervals", "weekday", "the weekday the tenant is open (0 Monday); a setting"},
  StructuralColumn{"company_hours_intervals", "start_minute", "when the tenant opens, local minutes; a setting"},
  StructuralColumn{"company_hours_intervals", "end_minute", "when the tenant closes, local minutes; a setting"},
  StructuralColumn{"company_holidays", "company_id", "which tenant is closed on the date"},
  StructuralColumn{"company_holidays", "holiday_date", "a date the tenant is closed all day; a setting"},
  StructuralColumn{"company_holidays", "label", "the tenant's name for its holiday, such as Christmas Day; names a day, not a person"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"accounts", kFields, kStructural}; }

}  // namespace privox::accounts
