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
constexpr std::array<FieldSpec, 7> kFields = {
  FieldSpec{"password_hash", "portal_logins", "password_hash", "", Category::identity_contact, true,
            service | fraud, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", false,
            Protection::none, "a one-way Argon2id hash of the password, salted per login: nothing to decrypt, and needed "
            "to check a login before anyone's key is opened",
            Format::token, 128, "the portal login's password, as an Argon2id hash; never the password",
            "Password (stored only as a one-way hash)",
            "Your portal password, kept only as a one-way hash that lets us check it: nobody can read your password back from it."},
  FieldSpec{"staff_email", "portal_logins", "staff_email_enc", "staff_email_bidx", Category::operator_interactions,
            true, service | legal, LegalBasis::contract, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::email, 254, "an operator employee's email address, their portal login",
            "Staff login email",
            "If you work for the operator: your work email address, which you log in to the portal with."},
  FieldSpec{"login_throttle_key", "portal_login_throttle", "key_hash", "", Category::web_analytics, false,
            fraud | service, LegalBasis::legitimate_interest, RetentionRule::login_attempt_window,
            ErasureTreatment::erase, "", false,
            Protection::none, "only a keyed BLAKE2b hash of the login email tried together with the client's address "
            "is kept, to count failed logins; the row is purged once its count has run out",
            Format::recorded, 32, "who failed to log in where: a keyed hash of the email tried and the client's address",
            "Failed login attempts",
            "A scrambled record of the email address you tried and where you connected from, kept only to count failed logins and slow down password guessing."},
  FieldSpec{"rate_limit_key", "portal_rate_limits", "key_hash", "", Category::web_analytics, false,
            fraud | service, LegalBasis::legitimate_interest, RetentionRule::hourly_rate_window,
            ErasureTreatment::erase, "", false,
            Protection::none, "only a keyed BLAKE2b hash of the action and the client's address (or member id) is "
            "kept, to count sign-ups and consent decisions; the row is purged when its window ends",
            Format::recorded, 32, "who signed up or recorded a cookie decision: a keyed hash of the client's address",
            "Sign-up and cookie-choice counts",
            "A scrambled record of where you connected from, kept only to count sign-ups and cookie choices per hour and so stop abuse."},
  FieldSpec{"pending_confirmation", "portal_confirmations", "sealed", "", Category::identity_contact, false,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_link_followed,
            ErasureTreatment::erase, "", false,
            Protection::none, "sealed with XChaCha20-Poly1305 under a key derived from the one-time token emailed to "
            "the address, which the store never holds (only its keyed hash): nobody can open it without the email; "
            "deleted when the link is followed and purged 24 hours after it was sent",
            Format::recorded, 4096, "a sign-up or a change of email waiting for its emailed link: the form's fields "
            "(the password only as its Argon2id hash), or the new address",
            "Sign-up or new email address awaiting confirmation",
            "What you entered to sign up or to change your email address, locked until you follow the link we emailed you."},
  FieldSpec{"used_payment_token", "portal_payment_tokens", "token_hash", "", Category::payment, false,
            static_cast<PurposeSet>(fraud), LegalBasis::legitimate_interest, RetentionRule::token_replay_guard,
            ErasureTreatment::erase, "", false,
            Protection::none, "only a keyed BLAKE2b hash of a payment provider's token, with no subject beside it, so "
            "that a token signs up once; purged 90 days after use, long after any provider's token has expired",
            Format::recorded, 32, "a payment token sign-up has used: its keyed hash",
            "Card reference already used to sign up",
            "A scrambled copy of the payment provider's reference for your card, kept only so that it cannot be used for a second sign-up."},
  FieldSpec{"invite_email", "portal_invites", "email_enc", "", Category::identity_contact, false,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_invitation_ends,
            ErasureTreatment::erase, "", false, Protection::per_subject, "",
            Format::email, 254, "the address an office manager invited to join their company, until the invitation "
            "is accepted, revoked or expires (7 days), when its key is destroyed",
            "Your email address, while you are invited",
            "If your office manager invited you: your email address, kept until you accept, the invitation is withdrawn or it expires."},
};

constexpr std::array<StructuralColumn, 30> kStructural = {
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
  StructuralColumn{"portal_login_throttle", "expires_at_us", "when the pair's count has run out and the row is purged"},
  StructuralColumn{"portal_rate_limits", "actions", "how many actions the client took in the window"},
  StructuralColumn{"portal_rate_limits", "expires_at_us", "when the window ends and the row is purged"},
  StructuralColumn{"portal_confirmations", "token_hash", "keyed hash of a random one-time token; says nothing of the person"},
  StructuralColumn{"portal_confirmations", "kind", "a sign-up, a change of email, an invitation or a password reset"},
  StructuralColumn{"portal_confirmations", "subject_id", "pseudonymous id of the member whose email would change, "
                   "the invitation, or the login whose password would be reset"},
  StructuralColumn{"portal_confirmations", "expires_at_us", "when the link stops working and the row is purged"},
  StructuralColumn{"portal_payment_tokens", "used_at_us", "when the token was used, for the purge"},
  StructuralColumn{"portal_invites", "id", "random identifier of an invitation; its key's subject id"},
  StructuralColumn{"portal_invites", "company_id", "which tenant the invitation is to"},
  StructuralColumn{"portal_invites", "invited_by", "pseudonymous id of the office manager who invited"},
  StructuralColumn{"portal_invites", "created_at_us", "when the invitation was made"},
  StructuralColumn{"portal_invites", "expires_at_us", "when the invitation's link stops working and it is purged"},
  StructuralColumn{"page_views", "day", "a UTC date"},
  StructuralColumn{"page_views", "page", "a page of the portal"},
  StructuralColumn{"page_views", "views", "an aggregate count; no address, cookie or identifier is kept"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"portal", kFields, kStructural}; }

}  // namespace privox::portal
