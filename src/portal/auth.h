#pragma once
// Portal logins, sessions and roles (P6, P15).
//
// Logins: a member logs in with the email on their member record (found through
// members.email_bidx), an operator employee (staff) with the email sealed on their staff login.
// Passwords are at least 12 characters and kept only as libsodium's Argon2id string.
//
// Sessions: a random 256-bit token goes to the browser in the `privox_session` cookie; the store
// keeps only its keyed hash, so sessions survive restarts and work on every node, and a copy of
// the store logs nobody in. The CSRF token is a keyed hash of the session token (so it needs no
// storage and dies with the session); it is compared in constant time.
//
// Throttling (OWASP ASVS 2.2.1): tries are counted per pair of account (the email tried) and
// client (its address, or an IPv6 client's /64), known in the store only by a keyed hash of the
// pair. Past limits().max_failures failures, each further try of that pair must wait: 1 s after
// the first, doubling with each failure up to limits().max_delay_us; a try before its time is
// refused (429 with the wait) without its password being looked at. No account is ever locked
// from every address, and nobody behind the same address (an office's NAT) is slowed at another
// account. A try is counted in the same write transaction that checks the delay, before the slow
// password hash, so parallel tries cannot get more guesses than the count allows; a right
// password ends the pair's count. Each limits().window_us a pair stays quiet (no failure, past its
// delay) takes one failure off its count; a row whose count has run out is purged as logins
// happen.
//
// Roles: member (own data), office_manager (their company's), and staff roles, each allowed a
// fixed set of purposes (staff_purposes).
//
// Thread-safety: safe from any thread; all state is in the store.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "portal/auth_limits.h"
#include "privacy/audit.h"
#include "privacy/datamap.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::portal {

enum class Role { member, office_manager, staff_support, staff_billing, staff_fraud, staff_legal, staff_admin };

std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view text);
bool is_staff(Role role);
// The purposes a staff role may name when it reads personal data; 0 for member roles.
privacy::PurposeSet staff_purposes(Role role);

inline constexpr size_t kMinPasswordLength = 12;
inline constexpr size_t kMaxPasswordLength = 1024;

// invalid_argument on "password" when too short, too long or holding a card number.
Status check_password(std::string_view password);
// Argon2id (libsodium's interactive limits); `internal` when out of memory.
Result<std::string> hash_password(std::string_view password);
bool verify_password(const std::string& hash, std::string_view password);

// Who is logged in.
struct Principal {
  std::string subject_id;  // member id or staff account id
  std::string company_id;  // empty for staff
  Role role = Role::member;
};

struct SessionToken {
  std::string token;  // the cookie's value; never stored
  std::string csrf;   // for X-CSRF-Token
  int64_t expires_at_us = 0;
};

struct LoginOutcome {
  enum class Kind { ok, wrong_credentials, delayed } kind = Kind::wrong_credentials;
  int64_t retry_after_s = 0;  // delayed: seconds until this client may try this account again
  Principal principal;        // ok
  SessionToken session;       // ok
};

// conflict on "office_manager" when the member is their company's only office manager and the
// company is neither closing nor closed: nobody could run it after their erasure (erasure.cpp).
Status refuse_erasing_last_office_manager(store::Session& s, const std::string& member_id,
                                         const std::string& company_id);

class Auth {
 public:
  Auth(store::Store& store, const privacy::Keyring& keys, const Clock& clock, AuthLimits limits = {})
      : store_(store), keys_(keys), clock_(clock), limits_(limits), audit_(keys, clock) {}

  // Inside the caller's write transaction (sign-up): the member's login with their role.
  Status add_member_login(store::Session& tx, const std::string& member_id, const std::string& company_id, Role role,
                          std::string_view password, const std::string& actor) const;
  // The same with the password already hashed (hash_password), as a confirmed sign-up has it.
  Status add_member_login_hashed(store::Session& tx, const std::string& member_id, const std::string& company_id,
                                 Role role, const std::string& password_hash, const std::string& actor) const;
  // A staff login with its own subject key; returns its id. invalid on "role" for a non-staff
  // role, "email" / "password" as validated; conflict on "email" when taken.
  Result<std::string> add_staff(std::string_view email, Role role, std::string_view password,
                                const std::string& actor) const;

  // Counts the try against the (email, client) pair, or answers `delayed` when the pair must wait;
  // then checks the credentials and on success opens a session and ends the pair's count. Every
  // failure is audited (no email in the entry). Errors are store errors only.
  Result<LoginOutcome> login(std::string_view email, std::string_view password, std::string_view client_address);

  // Opens a session for the subject inside the caller's write transaction (sign-up logs in).
  Result<SessionToken> start_session(store::Session& tx, const std::string& subject_id) const;
  // The principal of a live session, refreshing its idle timer; nullopt for an unknown, expired or
  // ended session, or a subject that no longer has a login.
  Result<std::optional<Principal>> authenticate(std::string_view token) const;
  // Ends the session on the server; true when there was one.
  Result<bool> logout(std::string_view token) const;

  // Inside the caller's transaction: the subject whose login this normalised email is (a member's
  // or a staff account's); nullopt when no login has it.
  Result<std::optional<std::string>> login_of_email(store::Session& s, const std::string& email) const;
  // Inside the caller's write transaction (a forgotten password's link): the login's new password,
  // already hashed, and every session of the login ended, audited as "login.password_reset".
  // not_found on "token" when the subject has no login any more.
  Status reset_password(store::Session& tx, const std::string& subject_id, const std::string& password_hash) const;
  // Inside the caller's transaction: the roles of the company's member logins, by member id.
  Result<std::map<std::string, Role, std::less<>>> company_roles(store::Session& s, const std::string& company_id) const;
  // Inside the caller's write transaction: makes the company's member `subject_id` an office
  // manager or a plain member, audited as "login.role" (ids and roles only). The company's row is
  // locked first, so two managers demoting each other at once cannot leave it with none.
  // invalid on "role" for any other role; not_found on "id" when the company has no such member
  // login (another company's member included); conflict on "role" when it would demote the
  // company's last office manager.
  Status set_role(store::Session& tx, const std::string& company_id, const std::string& subject_id, Role role,
                  const std::string& actor) const;

  // Inside the caller's transaction: the email of a staff login, opened under its subject key;
  // empty when the subject has no staff email (a member's login, or none). Errors are the store's
  // and the keyring's (erased when the subject's key is gone).
  Result<std::string> staff_email(store::Session& s, const std::string& subject_id) const;

  std::string csrf_for(std::string_view token) const;
  // Constant-time comparison of a presented CSRF token against the session's.
  bool csrf_matches(std::string_view token, std::string_view presented) const;

  const AuthLimits& limits() const { return limits_; }

  // Deletes the subject's login and sessions inside the caller's transaction (erasure).
  static Result<bool> delete_login(store::Session& tx, const std::string& subject_id);
  // Whether the member is their company's only office manager (a company needs one to be run).
  static Result<bool> is_last_office_manager(store::Session& s, const std::string& subject_id);

 private:
  Bytes token_hash(std::string_view token) const;
  Result<std::optional<Principal>> principal_of(store::Session& s, const std::string& subject_id) const;
  Result<std::optional<std::string>> find_subject_by_email(store::Session& s, const std::string& email) const;
  Result<int64_t> count_try(store::Session& s, const Bytes& pair) const;

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  AuthLimits limits_;
  privacy::AuditChain audit_;
};

}  // namespace privox::portal
