#include "portal/auth.h"

#include <nlohmann/json.hpp>

#include <sodium.h>

#include <fmt/format.h>

#include "accounts/accounts.h"
#include "accounts/validation.h"
#include "common/bytes.h"
#include "common/ids.h"
#include "http/server.h"
#include "privacy/audit_record.h"
#include "store/settings.h"

namespace privox::portal {
namespace {

using store::Rows;
using store::Session;
using store::TxMode;

constexpr std::pair<Role, std::string_view> kRoleNames[] = {
    {Role::member, "member"},
    {Role::office_manager, "office_manager"},
    {Role::staff_support, "staff_support"},
    {Role::staff_billing, "staff_billing"},
    {Role::staff_fraud, "staff_fraud"},
    {Role::staff_legal, "staff_legal"},
    {Role::staff_admin, "staff_admin"},
};

// A well-formed hash nobody's password matches: unknown emails cost as much time as known ones,
// so response times do not tell which emails have accounts.
const std::string& dummy_hash() {
  static const std::string hash = [] {
    char out[crypto_pwhash_STRBYTES];
    const std::string pw = "no-such-account-" + std::to_string(randombytes_random());
    if (crypto_pwhash_str(out, pw.data(), pw.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
      return std::string();
    return std::string(out);
  }();
  return hash;
}

}  // namespace

std::string_view to_string(Role role) {
  for (const auto& [r, name] : kRoleNames)
    if (r == role) return name;
  return "member";
}

std::optional<Role> parse_role(std::string_view text) {
  for (const auto& [r, name] : kRoleNames)
    if (name == text) return r;
  return std::nullopt;
}

bool is_staff(Role role) { return role != Role::member && role != Role::office_manager; }

privacy::PurposeSet staff_purposes(Role role) {
  using privacy::Purpose;
  switch (role) {
    case Role::staff_support: return static_cast<privacy::PurposeSet>(Purpose::support);
    case Role::staff_billing: return static_cast<privacy::PurposeSet>(Purpose::billing);
    case Role::staff_fraud: return static_cast<privacy::PurposeSet>(Purpose::fraud);
    case Role::staff_legal: return static_cast<privacy::PurposeSet>(Purpose::legal);
    case Role::staff_admin: return Purpose::support | Purpose::billing | Purpose::fraud | Purpose::legal;
    case Role::member:
    case Role::office_manager: return 0;
  }
  return 0;
}

Status check_password(std::string_view password) {
  if (password.size() < kMinPasswordLength)
    return invalid("password", fmt::format("must be at least {} characters long", kMinPasswordLength));
  if (password.size() > kMaxPasswordLength)
    return invalid("password", fmt::format("must be at most {} characters long", kMaxPasswordLength));
  return accounts::refuse_card_numbers({{"password", std::string(password)}});
}

Result<std::string> hash_password(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return make_error(ErrorCode::internal, "not enough memory to hash a password");
  return std::string(out);
}

bool verify_password(const std::string& hash, std::string_view password) {
  return !hash.empty() && crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Status Auth::add_member_login(Session& tx, const std::string& member_id, const std::string& company_id, Role role,
                              std::string_view password, const std::string& actor) const {
  PRIVOX_TRY(check_password(password));
  PRIVOX_ASSIGN(std::string hash, hash_password(password));
  return add_member_login_hashed(tx, member_id, company_id, role, hash, actor);
}

Status Auth::add_member_login_hashed(Session& tx, const std::string& member_id, const std::string& company_id,
                                     Role role, const std::string& hash, const std::string& actor) const {
  if (is_staff(role)) return invalid("role", "a member's login cannot have a staff role");
  const int64_t now = clock_.now_us();
  PRIVOX_TRY(tx.exec(
      "INSERT INTO portal_logins (subject_id, kind, company_id, role, password_hash, created_at_us, updated_at_us) "
      "VALUES (?, 'member', ?, ?, ?, ?, ?)",
      {member_id, company_id, std::string(to_string(role)), hash, now, now}));
  PRIVOX_TRY(audit_.append(tx, {actor, "login.add", member_id, "", {{"role", to_string(role)}}}));
  return {};
}

Result<std::string> Auth::add_staff(std::string_view email, Role role, std::string_view password,
                                    const std::string& actor) const {
  if (!is_staff(role)) return invalid("role", fmt::format("'{}' is not a staff role", to_string(role)));
  PRIVOX_ASSIGN(std::string normalised, accounts::normalise_email(email));
  PRIVOX_TRY(check_password(password));
  PRIVOX_ASSIGN(std::string hash, hash_password(password));
  const int64_t now = clock_.now_us();
  const std::string id = new_id(now);
  const Bytes bidx = keys_.blind_index("staff_email", normalised);
  PRIVOX_TRY(accounts::write_checked(
      store_,
      [&](Session& s) -> Status {
        PRIVOX_ASSIGN(Rows taken, s.query("SELECT 1 FROM portal_logins WHERE staff_email_bidx = ?", {bidx}));
        PRIVOX_ASSIGN(const bool member, accounts::email_taken(s, keys_, normalised));
        if (!taken.empty() || member)
          return Error{ErrorCode::conflict, "email", "another login already uses this email"};
        PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::create(s, keys_, id, now));
        PRIVOX_TRY(s.exec(
            "INSERT INTO portal_logins (subject_id, kind, company_id, role, staff_email_enc, staff_email_bidx, "
            "password_hash, created_at_us, updated_at_us) VALUES (?, 'staff', NULL, ?, ?, ?, ?, ?, ?)",
            {id, std::string(to_string(role)), privacy::seal_field(key, id, "staff_email", normalised), bidx, hash,
             now, now}));
        PRIVOX_TRY(audit_.append(s, {actor, "staff.add", id, "", {{"role", to_string(role)}}}));
        return {};
      },
      "email"));
  return id;
}

Bytes Auth::token_hash(std::string_view token) const { return keys_.blind_index("portal-session", token); }

Result<std::string> Auth::staff_email(Session& s, const std::string& subject_id) const {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT staff_email_enc FROM portal_logins WHERE subject_id = ?", {subject_id}));
  if (rows.empty() || rows[0].is_null(0)) return std::string();
  PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys_, subject_id));
  return privacy::open_field(key, subject_id, "staff_email", rows[0].blob(0));
}

std::string Auth::csrf_for(std::string_view token) const { return to_hex(keys_.blind_index("portal-csrf", token)); }

bool Auth::csrf_matches(std::string_view token, std::string_view presented) const {
  const std::string expected = csrf_for(token);
  return presented.size() == expected.size() &&
         sodium_memcmp(expected.data(), presented.data(), expected.size()) == 0;
}

Result<std::optional<std::string>> Auth::find_subject_by_email(Session& s, const std::string& email) const {
  PRIVOX_ASSIGN(std::optional<std::string> member, accounts::active_member_by_email(s, keys_, email));
  if (member) return member;
  PRIVOX_ASSIGN(Rows staff, s.query("SELECT subject_id FROM portal_logins WHERE staff_email_bidx = ?",
                                    {keys_.blind_index("staff_email", email)}));
  if (!staff.empty()) return std::optional<std::string>(staff[0].text(0));
  return std::optional<std::string>();
}

Result<std::optional<std::string>> Auth::login_of_email(Session& s, const std::string& email) const {
  PRIVOX_ASSIGN(std::optional<std::string> subject, find_subject_by_email(s, email));
  if (!subject) return subject;
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT 1 FROM portal_logins WHERE subject_id = ?", {*subject}));
  if (rows.empty()) return std::optional<std::string>();
  return subject;
}

Status Auth::reset_password(Session& tx, const std::string& subject_id, const std::string& password_hash) const {
  PRIVOX_ASSIGN(const int64_t changed, tx.exec("UPDATE portal_logins SET password_hash = ?, updated_at_us = ? "
                                               "WHERE subject_id = ?",
                                               {password_hash, clock_.now_us(), subject_id}));
  if (changed == 0) return Error{ErrorCode::not_found, "token", "this login no longer exists"};
  // Whoever knew the old password may hold a session: none survives the reset.
  PRIVOX_ASSIGN(const int64_t ended, tx.exec("DELETE FROM portal_sessions WHERE subject_id = ?", {subject_id}));
  PRIVOX_TRY(audit_.append(tx, {subject_id, "login.password_reset", subject_id, "", {{"sessions_ended", ended}}}));
  return {};
}

Result<std::map<std::string, Role, std::less<>>> Auth::company_roles(Session& s, const std::string& company_id) const {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT subject_id, role FROM portal_logins WHERE company_id = ? AND kind = 'member'",
                                   {company_id}));
  std::map<std::string, Role, std::less<>> out;
  for (const store::Row& row : rows) out[row.text(0)] = parse_role(row.text(1)).value_or(Role::member);
  return out;
}

Status Auth::set_role(Session& tx, const std::string& company_id, const std::string& subject_id, Role role,
                      const std::string& actor) const {
  if (role != Role::member && role != Role::office_manager)
    return invalid("role", "must be member or office_manager");
  PRIVOX_TRY(accounts::lock_company(tx, company_id));
  PRIVOX_ASSIGN(Rows rows, tx.query("SELECT role FROM portal_logins WHERE subject_id = ? AND company_id = ? "
                                    "AND kind = 'member'",
                                    {subject_id, company_id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "id", "no such member in your company"};
  const std::string was = rows[0].text(0);
  if (was == to_string(role)) return {};
  if (was == to_string(Role::office_manager)) {
    PRIVOX_ASSIGN(Rows managers, tx.query("SELECT COUNT(*) FROM portal_logins WHERE company_id = ? AND kind = 'member' "
                                          "AND role = 'office_manager'",
                                          {company_id}));
    if (managers.at(0).i64(0) <= 1)
      return Error{ErrorCode::conflict, "role",
                   "this is the company's last office manager, and a company always keeps one: make another member "
                   "office manager first"};
  }
  PRIVOX_TRY(tx.exec("UPDATE portal_logins SET role = ? WHERE subject_id = ?", {std::string(to_string(role)), subject_id}));
  PRIVOX_TRY(audit_.append(tx, {actor, "login.role", subject_id, "", {{"role", to_string(role)}, {"was", was}}}));
  return {};
}

Result<std::optional<Principal>> Auth::principal_of(Session& s, const std::string& subject_id) const {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT company_id, role FROM portal_logins WHERE subject_id = ?", {subject_id}));
  if (rows.empty()) return std::optional<Principal>();
  const std::optional<Role> role = parse_role(rows[0].text(1));
  if (!role) return make_error(ErrorCode::corrupt, fmt::format("login {} has an unknown role", subject_id));
  return std::optional<Principal>(Principal{subject_id, rows[0].text_or(0, ""), *role});
}

Result<AuthLimits> auth_limits_from_settings(store::Store& store) {
  constexpr int64_t kMinuteUs = 60LL * 1'000'000;
  const store::Settings settings(store);
  AuthLimits limits;
  PRIVOX_TRY(store::with_transaction(store, TxMode::read, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(limits.max_failures, settings.integer(s, "portal.login_max_failures"));
    PRIVOX_ASSIGN(const int64_t window_min, settings.integer(s, "portal.login_window_minutes"));
    PRIVOX_ASSIGN(const int64_t max_delay_min, settings.integer(s, "portal.lockout_minutes"));
    PRIVOX_ASSIGN(const int64_t idle_min, settings.integer(s, "portal.session_idle_minutes"));
    PRIVOX_ASSIGN(const int64_t max_hours, settings.integer(s, "portal.session_max_hours"));
    PRIVOX_ASSIGN(limits.signups.max, settings.integer(s, "portal.signups_per_hour"));
    PRIVOX_ASSIGN(limits.consent_writes.max, settings.integer(s, "portal.consent_writes_per_hour"));
    PRIVOX_ASSIGN(limits.password_resets.max, settings.integer(s, "portal.password_resets_per_hour"));
    PRIVOX_ASSIGN(limits.password_resets_per_email.max, settings.integer(s, "portal.password_resets_per_email_per_hour"));
    PRIVOX_ASSIGN(limits.invites.max, settings.integer(s, "portal.invites_per_hour"));
    PRIVOX_ASSIGN(limits.identity_codes.max, settings.integer(s, "portal.identity_codes_per_hour"));
    limits.window_us = window_min * kMinuteUs;
    limits.max_delay_us = max_delay_min * kMinuteUs;
    limits.session_idle_us = idle_min * kMinuteUs;
    limits.session_max_us = max_hours * 60 * kMinuteUs;
    return {};
  }));
  return limits;
}

// Counts one try of the pair, unless the pair must still wait: returns 0 when the try may go on
// (already counted as a failure; a right password ends the count), else the seconds to wait. The
// row is locked before it is read (an UPDATE takes PostgreSQL's row lock until the commit; SQLite's
// write transaction holds the whole database), so two tries at once are counted one after the
// other and never both let through on the same count.
Result<int64_t> Auth::count_try(Session& s, const Bytes& pair) const {
  const int64_t now = clock_.now_us();
  PRIVOX_TRY(s.exec("INSERT INTO portal_login_throttle (key_hash, failures, last_failure_at_us, delayed_until_us, "
                    "expires_at_us) VALUES (?, 0, 0, 0, 0) ON CONFLICT DO NOTHING",
                    {pair}));
  PRIVOX_TRY(s.exec("UPDATE portal_login_throttle SET failures = failures WHERE key_hash = ?", {pair}));
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT failures, last_failure_at_us, delayed_until_us FROM portal_login_throttle "
                                   "WHERE key_hash = ?",
                                   {pair}));
  int64_t failures = rows.at(0).i64(0);
  const int64_t last_failure = rows.at(0).i64(1), delayed_until = rows.at(0).i64(2);
  if (delayed_until > now) return (delayed_until - now + 999'999) / 1'000'000;
  // Each quiet window (no failure, no delay) takes one failure off: waiting for the count to run
  // out never earns more guesses than trying at every chance (a reset after one window did: about
  // 800 guesses a day instead of 109).
  const int64_t quiet_since = std::max(last_failure, delayed_until);
  if (failures > 0 && now > quiet_since) failures = std::max<int64_t>(0, failures - (now - quiet_since) / limits_.window_us);
  ++failures;
  int64_t until = 0;
  if (failures >= limits_.max_failures) {
    const int64_t doublings = std::min<int64_t>(failures - limits_.max_failures, 40);
    until = now + std::min<int64_t>(int64_t{1'000'000} << doublings, limits_.max_delay_us);
  }
  // The row is purged once every failure has run out.
  PRIVOX_TRY(s.exec("UPDATE portal_login_throttle SET failures = ?, last_failure_at_us = ?, delayed_until_us = ?, "
                    "expires_at_us = ? WHERE key_hash = ?",
                    {failures, now, until, std::max(now, until) + failures * limits_.window_us, pair}));
  return int64_t{0};
}

Result<LoginOutcome> Auth::login(std::string_view email, std::string_view password, std::string_view client_address) {
  const Result<std::string> normalised = accounts::normalise_email(email);
  const std::string account = normalised.ok() ? *normalised : std::string(email);
  // The account and the client, unambiguously joined (an email holds no newline once normalised,
  // and a client key never does).
  const Bytes pair = keys_.blind_index("login-throttle-pair", account + "\n" + http::client_key(client_address));
  LoginOutcome outcome;

  // The try is counted (or refused) and the stored hash read in one transaction; the slow hash
  // check runs outside any.
  std::optional<std::string> subject;
  std::string stored_hash;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("DELETE FROM portal_login_throttle WHERE expires_at_us < ?", {clock_.now_us()}));
    PRIVOX_ASSIGN(outcome.retry_after_s, count_try(s, pair));
    if (outcome.retry_after_s > 0 || !normalised.ok()) return {};
    PRIVOX_ASSIGN(subject, find_subject_by_email(s, account));
    if (!subject) return {};
    PRIVOX_ASSIGN(Rows rows, s.query("SELECT password_hash FROM portal_logins WHERE subject_id = ?", {*subject}));
    if (rows.empty()) subject.reset();
    else stored_hash = rows[0].text(0);
    return {};
  }));
  if (outcome.retry_after_s > 0) {
    outcome.kind = LoginOutcome::Kind::delayed;
    return outcome;
  }
  const bool right = subject ? verify_password(stored_hash, password) : (verify_password(dummy_hash(), password), false);

  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    if (!right) {
      outcome.kind = LoginOutcome::Kind::wrong_credentials;
      PRIVOX_TRY(audit_.append(s, {"portal", "login.fail", subject.value_or(""), "", nlohmann::json::object()}));
      return {};
    }
    PRIVOX_ASSIGN(std::optional<Principal> principal, principal_of(s, *subject));
    if (!principal) return make_error(ErrorCode::not_found, "the login was removed meanwhile");
    PRIVOX_TRY(s.exec("DELETE FROM portal_login_throttle WHERE key_hash = ?", {pair}));
    PRIVOX_ASSIGN(outcome.session, start_session(s, *subject));
    outcome.principal = *principal;
    outcome.kind = LoginOutcome::Kind::ok;
    PRIVOX_TRY(audit_.append(s, {*subject, "login.ok", *subject, "", {{"role", to_string(principal->role)}}}));
    return {};
  }));
  return outcome;
}

Result<SessionToken> Auth::start_session(Session& tx, const std::string& subject_id) const {
  uint8_t raw[32];
  randombytes_buf(raw, sizeof raw);
  SessionToken out;
  out.token = to_hex(raw, sizeof raw);
  out.csrf = csrf_for(out.token);
  const int64_t now = clock_.now_us();
  out.expires_at_us = now + limits_.session_max_us;
  PRIVOX_TRY(tx.exec("INSERT INTO portal_sessions (token_hash, subject_id, created_at_us, last_seen_us, expires_at_us) "
                     "VALUES (?, ?, ?, ?, ?)",
                     {token_hash(out.token), subject_id, now, now, out.expires_at_us}));
  return out;
}

Result<std::optional<Principal>> Auth::authenticate(std::string_view token) const {
  if (token.size() != 64) return std::optional<Principal>();
  std::optional<Principal> out;
  const Bytes hash = token_hash(token);
  const int64_t now = clock_.now_us();
  bool expired = false, stale = false;
  // Every API request comes through here, so the common case (a live session seen within the
  // last minute) only reads; a write transaction (one commit, one fsync) is taken only to end an
  // expired session or to move the idle timer, at most once a minute per session.
  PRIVOX_TRY(store::with_transaction(store_, TxMode::read, [&](Session& s) -> Status {
    out.reset();
    PRIVOX_ASSIGN(Rows rows, s.query("SELECT subject_id, last_seen_us, expires_at_us FROM portal_sessions "
                                     "WHERE token_hash = ?",
                                     {hash}));
    if (rows.empty()) return {};
    expired = rows[0].i64(2) <= now || rows[0].i64(1) + limits_.session_idle_us <= now;
    if (expired) return {};
    stale = rows[0].i64(1) + 60'000'000 < now;
    PRIVOX_ASSIGN(out, principal_of(s, rows[0].text(0)));
    return {};
  }));
  if (expired) {
    PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
      PRIVOX_TRY(s.exec("DELETE FROM portal_sessions WHERE token_hash = ?", {hash}));
      return {};
    }));
  } else if (out && stale) {
    PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
      PRIVOX_TRY(s.exec("UPDATE portal_sessions SET last_seen_us = ? WHERE token_hash = ?", {now, hash}));
      return {};
    }));
  }
  return out;
}

Result<bool> Auth::logout(std::string_view token) const {
  bool ended = false;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(Rows rows, s.query("SELECT subject_id FROM portal_sessions WHERE token_hash = ?", {token_hash(token)}));
    ended = !rows.empty();
    if (!ended) return {};
    PRIVOX_TRY(s.exec("DELETE FROM portal_sessions WHERE token_hash = ?", {token_hash(token)}));
    PRIVOX_TRY(audit_.append(s, {rows[0].text(0), "logout", rows[0].text(0), "", nlohmann::json::object()}));
    return {};
  }));
  return ended;
}

Result<bool> Auth::delete_login(Session& tx, const std::string& subject_id) {
  PRIVOX_TRY(tx.exec("DELETE FROM portal_sessions WHERE subject_id = ?", {subject_id}));
  PRIVOX_ASSIGN(const int64_t logins, tx.exec("DELETE FROM portal_logins WHERE subject_id = ?", {subject_id}));
  return logins > 0;
}

Result<bool> Auth::is_last_office_manager(Session& s, const std::string& subject_id) {
  const std::string manager(to_string(Role::office_manager));
  PRIVOX_ASSIGN(Rows own, s.query("SELECT company_id FROM portal_logins WHERE subject_id = ? AND kind = 'member' "
                                  "AND role = ?",
                                  {subject_id, manager}));
  if (own.empty()) return false;
  PRIVOX_ASSIGN(Rows others, s.query("SELECT COUNT(*) FROM portal_logins WHERE company_id = ? AND kind = 'member' "
                                     "AND role = ? AND subject_id <> ?",
                                     {own[0].text(0), manager, subject_id}));
  return others[0].i64(0) == 0;
}

}  // namespace privox::portal
