// The data map's part for portal/: portal logins, sessions, login throttling and page-view counts (privacy/datamap.h).
#include "portal/module.h"

#include <array>

namespace privox::portal {
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

// clang-format off
constexpr std::array<FieldSpec, 4> kFields = {
  FieldSpec{"password_hash", "portal_logins", "password_hash", "", Category::identity_contact, true,
            service | fraud, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", false,
            Protection::none, "a one-way Argon2id hash of the password, salted per login: nothing to decrypt, and needed "
            "to check a login before anyone's key is opened",
            Format::token, 128, "the portal login's password, as an Argon2id hash; never the password"},
  FieldSpec{"staff_email", "portal_logins", "staff_email_enc", "staff_email_bidx", Category::operator_interactions,
            true, service | legal, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::email, 254, "an operator employee's email address, their portal login"},
  FieldSpec{"login_throttle_key", "portal_login_throttle", "key_hash", "", Category::web_analytics, false,
            fraud | service, LegalBasis::legitimate_interest, RetentionRule::operator_limit,
            ErasureTreatment::erase, "", false,
            Protection::none, "only a keyed BLAKE2b hash of the login email tried together with the client's address "
            "is kept, to count failed logins; the row is purged a window after its last failure and delay",
            Format::recorded, 32, "who failed to log in where: a keyed hash of the email tried and the client's address"},
  FieldSpec{"rate_limit_key", "portal_rate_limits", "key_hash", "", Category::web_analytics, false,
            fraud | service, LegalBasis::legitimate_interest, RetentionRule::operator_limit,
            ErasureTreatment::erase, "", false,
            Protection::none, "only a keyed BLAKE2b hash of the action and the client's address (or member id) is "
            "kept, to count sign-ups and consent decisions; the row is purged when its window ends",
            Format::recorded, 32, "who signed up or recorded a cookie decision: a keyed hash of the client's address"},
};

constexpr std::array<StructuralColumn, 20> kStructural = {
  StructuralColumn{"portal_logins", "subject_id", "pseudonymous id of the member or staff account the login belongs to"},
  StructuralColumn{"portal_logins", "kind", "member or staff"},
  StructuralColumn{"portal_logins", "company_id", "which tenant a member's login belongs to"},
  StructuralColumn{"portal_logins", "role", "what the login may do (member, office manager, a staff role)"},
  StructuralColumn{"portal_logins", "created_at_us", "when the login was made"},
  StructuralColumn{"portal_logins", "updated_at_us", "when its password last changed"},
  StructuralColumn{"portal_sessions", "token_hash", "keyed hash of a random session token; says nothing of the person"},
  StructuralColumn{"portal_sessions", "subject_id", "pseudonymous id of the logged-in member or staff account"},
  StructuralColumn{"portal_sessions", "created_at_us", "when the session began"},
  StructuralColumn{"portal_sessions", "last_seen_us", "when the session was last used, for the idle timeout"},
  StructuralColumn{"portal_sessions", "expires_at_us", "when the session ends at the latest"},
  StructuralColumn{"portal_login_throttle", "failures", "how many tries of the pair have failed since its count began"},
  StructuralColumn{"portal_login_throttle", "last_failure_at_us", "when the pair's last try failed"},
  StructuralColumn{"portal_login_throttle", "delayed_until_us", "until when the pair's next try is refused"},
  StructuralColumn{"portal_login_throttle", "expires_at_us", "when the row is purged and the pair's count starts over"},
  StructuralColumn{"portal_rate_limits", "actions", "how many actions the client took in the window"},
  StructuralColumn{"portal_rate_limits", "expires_at_us", "when the window ends and the row is purged"},
  StructuralColumn{"page_views", "day", "a UTC date"},
  StructuralColumn{"page_views", "page", "a page of the portal"},
  StructuralColumn{"page_views", "views", "an aggregate count; no address, cookie or identifier is kept"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"portal", kFields, kStructural}; }

}  // namespace privox::portal
