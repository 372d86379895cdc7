#include "accounts/extensions.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>

#include "accounts/company_closure.h"
#include "accounts/digest_hash.h"
#include "accounts/directory_log.h"
#include "accounts/line_removal.h"
#include "accounts/validation.h"
#include "common/ids.h"
#include "common/log.h"
#include "privacy/audit_record.h"

namespace privox::accounts {
namespace {

using store::Params;
using store::Rows;
using store::Session;
using store::TxMode;

// An 8-character password fell to a 5,001-word list in 27 s of online guessing (issue 10);
// twelve characters put a dictionary attack out of reach behind the SIP bans.
constexpr size_t kMinPassword = 12;
constexpr size_t kMaxPassword = 128;
// The longest login of any line: NUMBER-<company id without dashes>, as logins were chosen before
// they were random (see choose_sip_user).
constexpr size_t kMaxSipUser = 8 + 1 + 32;
// Lower-case letters and digits without the look-alikes (l, o, 0, 1): 32 symbols, 5 bits each.
constexpr std::string_view kLoginAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";
constexpr size_t kLoginLength = 12;
// Letters and digits without the look-alikes (0/O, 1/l/I), as the portal's page uses: 57 symbols.
constexpr std::string_view kPasswordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

// `length` symbols of `alphabet`, each drawn uniformly (libsodium's randombytes_uniform).
std::string random_text(std::string_view alphabet, size_t length) {
  std::string out(length, ' ');
  for (char& c : out) c = alphabet[randombytes_uniform(static_cast<uint32_t>(alphabet.size()))];
  return out;
}
constexpr std::string_view kSelect =
    "SELECT id, company_id, number, sip_user, member_id, did, created_at_us, label, digest FROM extensions";

// A digest column: NULL (or, from a future version, a value this one does not know) is no choice.
std::optional<DigestChoice> digest_from(const store::Row& r, size_t column) {
  return r.is_null(column) ? std::nullopt : parse_digest_choice(r.text(column));
}

store::Value digest_value(std::optional<DigestChoice> choice) {
  return choice ? store::Value(std::string(to_string(*choice))) : store::null_value();
}

// The first nine columns as kSelect names them.
Extension extension_from(const store::Row& r) {
  Extension e{r.text(0), r.text(1), r.text(2), r.text(3), std::nullopt, std::nullopt, r.i64(6), "", std::nullopt};
  if (!r.is_null(4)) e.member_id = r.text(4);
  if (!r.is_null(5)) e.did = r.text(5);
  if (!r.is_null(7)) e.label = r.text(7);
  e.digest = digest_from(r, 8);
  return e;
}

}  // namespace

Result<std::vector<Extension>> extensions_of_member(store::Session& s, const std::string& member_id) {
  PRIVOX_ASSIGN(Rows rows, s.query(fmt::format("{} WHERE member_id = ? ORDER BY number", kSelect), {member_id}));
  std::vector<Extension> out;
  for (const store::Row& r : rows) out.push_back(extension_from(r));
  return out;
}

Result<std::optional<Extension>> extension_by_id(store::Session& s, const std::string& id) {
  PRIVOX_ASSIGN(Rows rows, s.query(fmt::format("{} WHERE id = ?", kSelect), {id}));
  if (rows.empty()) return std::optional<Extension>{};
  return std::optional<Extension>{extension_from(rows[0])};
}

Result<std::optional<Extension>> extension_by_number(store::Session& s, const std::string& company_id,
                                                     std::string_view number) {
  PRIVOX_ASSIGN(Rows rows, s.query(fmt::format("{} WHERE company_id = ? AND number = ?", kSelect),
                                   {company_id, std::string(number)}));
  if (rows.empty()) return std::optional<Extension>{};
  return std::optional<Extension>{extension_from(rows[0])};
}

Result<std::optional<Extension>> extension_by_did(store::Session& s, std::string_view e164) {
  PRIVOX_ASSIGN(Rows rows, s.query(fmt::format("{} WHERE did = ?", kSelect), {std::string(e164)}));
  if (rows.empty()) return std::optional<Extension>{};
  return std::optional<Extension>{extension_from(rows[0])};
}

namespace {

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status check_number(std::string_view number) {
  if (number.size() < 2 || number.size() > 8 || !all_digits(number))
    return invalid("number", fmt::format("'{}' is not an extension number: 2 to 8 digits", number));
  return {};
}

// Never quotes the password back: errors end up in terminals, logs and HTTP answers.
// Callers refuse card numbers first (P3), with every other field.
Status check_password(std::string_view password, std::string_view number) {
  if (password.size() < kMinPassword || password.size() > kMaxPassword)
    return invalid("password", fmt::format("must be {} to {} characters long", kMinPassword, kMaxPassword));
  if (!std::all_of(password.begin(), password.end(), [](char c) { return c >= 0x20 && c <= 0x7e; }))
    return invalid("password", "may hold only printable ASCII characters: letters, digits, punctuation and space");
  if (password.find(number) != std::string_view::npos)
    return invalid("password", fmt::format("must not contain the extension number {}", number));
  return {};
}


// Printable text of at most kMaxLineLabel characters (UTF-8 continuation bytes are not counted).
// Never quotes the label back: it may name a person.
Status check_label(std::string_view label) {
  size_t characters = 0;
  for (const char c : label) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return invalid("label", "may not hold control characters such as line breaks");
    if ((byte & 0xc0) != 0x80) ++characters;
  }
  if (characters > kMaxLineLabel) return invalid("label", fmt::format("must be at most {} characters long", kMaxLineLabel));
  return {};
}

store::Value label_value(std::string_view label) {
  return label.empty() ? store::null_value() : store::Value(std::string(label));
}

// The purposes the HA1s are sealed for: bound to the extension, so a sealed value cannot be
// copied to another row.
std::string md5_purpose(std::string_view id) { return fmt::format("sip-ha1-md5:{}", id); }
std::string sha256_purpose(std::string_view id) { return fmt::format("sip-ha1-sha256:{}", id); }

// Twelve random symbols (60 bits), so that knowing or guessing extension numbers tells nobody a
// login to try a password on. A clash is drawn again.
Result<std::string> choose_sip_user(Session& s, const std::string& number, const std::string& company_id) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string candidate = random_text(kLoginAlphabet, kLoginLength);
    PRIVOX_ASSIGN(Rows taken, s.query("SELECT id FROM extensions WHERE sip_user = ?", {candidate}));
    if (taken.empty()) return candidate;
  }
  return make_error(ErrorCode::internal, fmt::format("no free SIP login for extension {} of company {}", number,
                                                     company_id));
}

// Tenants are isolated: a member of another company reads as no member at all.
Status check_member(Session& s, const std::string& member_id, const std::string& company_id) {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT company_id, status FROM members WHERE id = ?", {member_id}));
  if (rows.empty() || rows[0].text(0) != company_id)
    return Error{ErrorCode::not_found, "member", fmt::format("company {} has no member {}", company_id, member_id)};
  if (rows[0].text(1) != "active")
    return Error{ErrorCode::conflict, "member",
                 fmt::format("member {} was erased; a line cannot be assigned to them", member_id)};
  return {};
}

Result<Extension> find_where(store::Store& store, std::string_view where, const Params& params, Error not_found) {
  PRIVOX_ASSIGN(auto tx, store.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows rows, tx->query(fmt::format("{} WHERE {}", kSelect, where), params));
  if (rows.empty()) return not_found;
  return extension_from(rows[0]);
}

}  // namespace

std::string_view to_string(DigestChoice choice) { return choice == DigestChoice::sha256 ? "sha256" : "md5"; }

std::optional<DigestChoice> parse_digest_choice(std::string_view text) {
  if (text == "md5") return DigestChoice::md5;
  if (text == "sha256") return DigestChoice::sha256;
  return std::nullopt;
}

std::string generate_device_password(std::string_view number) {
  for (;;) {
    std::string password = random_text(kPasswordAlphabet, kGeneratedPasswordLength);
    if (number.empty() || password.find(number) == std::string::npos) return password;
  }
}

Result<ExtensionCredentials> digest_credentials(std::string_view sip_user, std::string_view password) {
  // The digest module hashes the pieces in place, so no copy of the password is made to be wiped.
  ExtensionCredentials c{digest_ha1(DigestAlgorithm::md5, sip_user, kDigestRealm, password),
                         digest_ha1(DigestAlgorithm::sha256, sip_user, kDigestRealm, password)};
  if (c.ha1_md5.empty() || c.ha1_sha256.empty())
    return make_error(ErrorCode::internal, "OpenSSL refused to compute an MD5 or SHA-256 digest (a FIPS-only provider?)");
  return c;
}

Result<std::string> Extensions::add_extension(const NewExtension& input, const std::string& actor,
                                              const LineSettings& settings) {
  // What a person typed; not the member's id, which privox made (a UUID's digit runs are Luhn-valid
  // about one time in ten) and check_id checks.
  PRIVOX_TRY(refuse_card_numbers({{"number", input.number},
                                  {"password", input.password},
                                  {"did", input.did.value_or("")},
                                  {"label", settings.label}}));
  PRIVOX_TRY(check_id("company", input.company_id));
  if (input.member_id) PRIVOX_TRY(check_id("member", *input.member_id));
  PRIVOX_TRY(check_number(input.number));
  PRIVOX_TRY(check_password(input.password, input.number));
  PRIVOX_TRY(check_label(settings.label));

  const int64_t now = clock_.now_us();
  const std::string id = new_id(now);
  const auto body = [&](Session& s) -> Status {
    PRIVOX_ASSIGN(Rows company, s.query("SELECT country FROM companies WHERE id = ?", {input.company_id}));
    if (company.empty())
      return Error{ErrorCode::not_found, "company", fmt::format("no company has id {}", input.company_id)};
    PRIVOX_TRY(require_company_open(s, input.company_id));
    std::optional<std::string> did;
    if (input.did) {
      auto e164 = normalise_phone(*input.did, company[0].text(0));
      if (!e164.ok()) return invalid("did", e164.error().message);
      did = std::move(e164).value();
    }
    PRIVOX_ASSIGN(Rows same, s.query("SELECT id FROM extensions WHERE company_id = ? AND number = ?",
                                     {input.company_id, input.number}));
    if (!same.empty())
      return Error{ErrorCode::conflict, "number",
                   fmt::format("company {} already has extension {} ({})", input.company_id, input.number,
                               same[0].text(0))};
    if (input.member_id) PRIVOX_TRY(check_member(s, *input.member_id, input.company_id));
    if (did) {
      PRIVOX_ASSIGN(Rows taken, s.query("SELECT id FROM extensions WHERE did = ?", {*did}));
      if (!taken.empty())
        return Error{ErrorCode::conflict, "did", fmt::format("{} is already the number of another extension", *did)};
    }
    PRIVOX_ASSIGN(const std::string sip_user, choose_sip_user(s, input.number, input.company_id));
    PRIVOX_ASSIGN(const ExtensionCredentials ha1s, digest_credentials(sip_user, input.password));
    PRIVOX_TRY(privacy::subject_keys::create(s, keys_, id, now));
    PRIVOX_TRY(s.exec("INSERT INTO extensions (id, company_id, number, sip_user, member_id, did, ha1_md5_enc, "
                      "ha1_sha256_enc, created_at_us, label, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      {id, input.company_id, input.number, sip_user,
                       input.member_id ? store::Value(*input.member_id) : store::null_value(),
                       did ? store::Value(*did) : store::null_value(), keys_.seal_secret(md5_purpose(id), ha1s.ha1_md5),
                       keys_.seal_secret(sha256_purpose(id), ha1s.ha1_sha256), now, label_value(settings.label),
                       digest_value(settings.digest)}));
    nlohmann::json detail = {{"company_id", input.company_id}, {"has_did", did.has_value()}};
    if (settings.digest) detail["digest"] = to_string(*settings.digest);
    detail["member_id"] = input.member_id ? nlohmann::json(*input.member_id) : nlohmann::json(nullptr);
    PRIVOX_TRY(audit_.append(s, {actor, "extension.add", id, "", std::move(detail)}));
    return record_directory_change(s, DirectoryItem::extension, id, "added", now);
  };
  PRIVOX_TRY(write_checked(store_, body, "number"));
  return id;
}

Status Extensions::reset_password(const std::string& id, const std::string& password, const std::string& actor) {
  PRIVOX_TRY(refuse_card_numbers({{"password", password}}));
  PRIVOX_TRY(check_id("id", id));
  return store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(Rows rows, s.query("SELECT number, sip_user, company_id FROM extensions WHERE id = ?", {id}));
    if (rows.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no extension has id {}", id)};
    PRIVOX_TRY(check_password(password, rows[0].text(0)));
    PRIVOX_ASSIGN(const ExtensionCredentials ha1s, digest_credentials(rows[0].text(1), password));
    PRIVOX_TRY(s.exec("UPDATE extensions SET ha1_md5_enc = ?, ha1_sha256_enc = ? WHERE id = ?",
                      {keys_.seal_secret(md5_purpose(id), ha1s.ha1_md5),
                       keys_.seal_secret(sha256_purpose(id), ha1s.ha1_sha256), id}));
    PRIVOX_TRY(audit_.append(s, {actor, "extension.reset_password", id, "", {{"company_id", rows[0].text(2)}}}));
    return record_directory_change(s, DirectoryItem::extension, id, "password_reset", clock_.now_us());
  });
}

namespace {

// The audit detail and the SQL assignments of a change; ids and choices only, never the label.
struct ChangeSql {
  std::vector<std::string> assignments;
  Params params;
  nlohmann::json detail;
  bool directory = false;  // whether SIP must learn of it
};

ChangeSql change_sql(const ExtensionChange& change) {
  ChangeSql out;
  out.detail["changed"] = nlohmann::json::array();
  if (change.label) {
    out.assignments.emplace_back("label = ?");
    out.params.push_back(label_value(*change.label));
    out.detail["changed"].push_back("label");
  }
  if (change.member_id) {
    out.assignments.emplace_back("member_id = ?");
    out.params.push_back(*change.member_id ? store::Value(**change.member_id) : store::null_value());
    out.detail["changed"].push_back("member");
    out.detail["member_id"] = *change.member_id ? nlohmann::json(**change.member_id) : nlohmann::json(nullptr);
    out.directory = true;
  }
  if (change.digest) {
    out.assignments.emplace_back("digest = ?");
    out.params.push_back(digest_value(*change.digest));
    out.detail["changed"].push_back("digest");
    out.detail["digest"] = *change.digest ? nlohmann::json(to_string(**change.digest)) : nlohmann::json(nullptr);
    out.directory = true;
  }
  return out;
}

}  // namespace

Status Extensions::update(const std::string& id, const ExtensionChange& change, const std::string& actor) {
  PRIVOX_TRY(check_id("id", id));
  if (change.label) {
    PRIVOX_TRY(refuse_card_numbers({{"label", *change.label}}));
    PRIVOX_TRY(check_label(*change.label));
  }
  if (change.member_id && *change.member_id) PRIVOX_TRY(check_id("member", **change.member_id));
  ChangeSql sql = change_sql(change);
  if (sql.assignments.empty()) return {};
  return store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(Rows rows, s.query("SELECT company_id FROM extensions WHERE id = ?", {id}));
    if (rows.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no extension has id {}", id)};
    const std::string company_id = rows[0].text(0);
    if (change.member_id && *change.member_id) PRIVOX_TRY(check_member(s, **change.member_id, company_id));
    std::string statement = "UPDATE extensions SET ";
    for (size_t i = 0; i < sql.assignments.size(); ++i) statement += (i ? ", " : "") + sql.assignments[i];
    Params params = sql.params;
    params.emplace_back(id);
    PRIVOX_TRY(s.exec(statement + " WHERE id = ?", params));
    sql.detail["company_id"] = company_id;
    PRIVOX_TRY(audit_.append(s, {actor, "extension.update", id, "", sql.detail}));
    if (!sql.directory) return {};
    return record_directory_change(s, DirectoryItem::extension, id, "updated", clock_.now_us());
  });
}

Result<std::optional<DigestChoice>> Extensions::company_digest(const std::string& company_id) {
  PRIVOX_TRY(check_id("company", company_id));
  PRIVOX_ASSIGN(auto tx, store_.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows rows, tx->query("SELECT sip_digest FROM companies WHERE id = ?", {company_id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "company", fmt::format("no company has id {}", company_id)};
  return digest_from(rows[0], 0);
}

Status Extensions::set_company_digest(const std::string& company_id, std::optional<DigestChoice> choice,
                                      const std::string& actor) {
  PRIVOX_TRY(check_id("company", company_id));
  return store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(const int64_t changed, s.exec("UPDATE companies SET sip_digest = ? WHERE id = ?",
                                                {digest_value(choice), company_id}));
    if (changed == 0) return Error{ErrorCode::not_found, "company", fmt::format("no company has id {}", company_id)};
    PRIVOX_TRY(audit_.append(s, {actor, "company.sip_digest", company_id, "",
                                 {{"digest", choice ? nlohmann::json(to_string(*choice)) : nlohmann::json(nullptr)}}}));
    // The lines with a choice of their own keep it; the others' challenges change.
    PRIVOX_ASSIGN(Rows lines, s.query("SELECT id FROM extensions WHERE company_id = ? AND digest IS NULL", {company_id}));
    const int64_t now = clock_.now_us();
    for (const store::Row& line : lines)
      PRIVOX_TRY(record_directory_change(s, DirectoryItem::extension, line.text(0), "updated", now));
    return {};
  });
}

Result<bool> Extensions::company_requires_encryption(const std::string& company_id) {
  PRIVOX_TRY(check_id("company", company_id));
  PRIVOX_ASSIGN(auto tx, store_.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows rows, tx->query("SELECT require_encryption FROM companies WHERE id = ?", {company_id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "company", fmt::format("no company has id {}", company_id)};
  return rows[0].i64(0) != 0;
}

Status Extensions::set_company_encryption(const std::string& company_id, bool required, const std::string& actor) {
  PRIVOX_TRY(check_id("company", company_id));
  return store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(const int64_t changed, s.exec("UPDATE companies SET require_encryption = ? WHERE id = ?",
                                                {int64_t{required ? 1 : 0}, company_id}));
    if (changed == 0) return Error{ErrorCode::not_found, "company", fmt::format("no company has id {}", company_id)};
    PRIVOX_TRY(audit_.append(s, {actor, "company.require_encryption", company_id, "", {{"required", required}}}));
    PRIVOX_ASSIGN(Rows lines, s.query("SELECT id FROM extensions WHERE company_id = ?", {company_id}));
    const int64_t now = clock_.now_us();
    for (const store::Row& line : lines)
      PRIVOX_TRY(record_directory_change(s, DirectoryItem::extension, line.text(0), "updated", now));
    return {};
  });
}

Status Extensions::remove(const std::string& id, const std::string& actor) {
  PRIVOX_TRY(check_id("id", id));
  return store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    return remove_line(s, audit_, id, clock_.now_us(), actor, "removed by hand");
  });
}

Result<Extension> Extensions::find(const std::string& id) {
  PRIVOX_TRY(check_id("id", id));
  return find_where(store_, "id = ?", {id}, Error{ErrorCode::not_found, "id", fmt::format("no extension has id {}", id)});
}

Result<Extension> Extensions::find_by_number(const std::string& company_id, std::string_view number) {
  PRIVOX_TRY(check_id("company", company_id));
  PRIVOX_TRY(check_number(number));
  return find_where(store_, "company_id = ? AND number = ?", {company_id, std::string(number)},
                    Error{ErrorCode::not_found, "number",
                          fmt::format("company {} has no extension {}", company_id, number)});
}

Result<Extension> Extensions::find_by_did(std::string_view e164) {
  const Error none{ErrorCode::not_found, "did", "no extension has this number"};
  if (e164.empty() || e164.size() > 16) return none;
  return find_where(store_, "did = ?", {std::string(e164)}, none);
}

Result<Extension> Extensions::find_by_login(std::string_view user) {
  const Error none{ErrorCode::not_found, "user", "no extension has this SIP login"};
  if (user.empty() || user.size() > kMaxSipUser) return none;
  return find_where(store_, "sip_user = ?", {std::string(user)}, none);
}

Result<std::vector<Extension>> Extensions::list(const std::string& company_id) {
  PRIVOX_TRY(check_id("company", company_id));
  PRIVOX_ASSIGN(auto tx, store_.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows company, tx->query("SELECT id FROM companies WHERE id = ?", {company_id}));
  if (company.empty()) return Error{ErrorCode::not_found, "company", fmt::format("no company has id {}", company_id)};
  PRIVOX_ASSIGN(Rows rows, tx->query(fmt::format("{} WHERE company_id = ?", kSelect), {company_id}));
  std::vector<Extension> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(extension_from(r));
  std::sort(out.begin(), out.end(), [](const Extension& a, const Extension& b) {
    return std::pair(a.number.size(), std::string_view(a.number)) < std::pair(b.number.size(), std::string_view(b.number));
  });
  return out;
}

Result<std::vector<DirectoryLine>> directory_lines(store::Session& s, const privacy::Keyring& keys,
                                                   const std::vector<std::string>& ids) {
  std::string sql =
      "SELECT e.id, e.company_id, e.number, e.sip_user, e.member_id, e.did, e.created_at_us, e.label, e.digest, "
      "c.country, e.ha1_md5_enc, e.ha1_sha256_enc, c.sip_digest, c.require_encryption FROM extensions e "
      "JOIN companies c ON c.id = e.company_id";
  Params params;
  if (!ids.empty()) {
    sql += " WHERE e.id IN (";
    for (size_t i = 0; i < ids.size(); ++i) {
      sql += i ? ", ?" : "?";
      params.emplace_back(ids[i]);
    }
    sql += ")";
  }
  PRIVOX_ASSIGN(Rows rows, s.query(sql, params));
  std::vector<DirectoryLine> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    const std::string id = r.text(0);
    auto md5 = keys.open_secret(md5_purpose(id), r.blob(10));
    auto sha256 = keys.open_secret(sha256_purpose(id), r.blob(11));
    if (!md5.ok() || !sha256.ok()) {
      log::error("accounts", "extension.credentials_unreadable", {{"extension", log::Id(id)}});
      continue;
    }
    Extension line = extension_from(r);
    const std::optional<DigestChoice> digest = line.digest ? line.digest : digest_from(r, 12);
    out.push_back({std::move(line), r.text(9), {std::move(md5).value(), std::move(sha256).value()}, digest,
                   r.i64(13) != 0});
  }
  return out;
}

Result<ExtensionCredentials> Extensions::credentials(const std::string& id) {
  PRIVOX_TRY(check_id("id", id));
  PRIVOX_ASSIGN(auto tx, store_.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows rows, tx->query("SELECT ha1_md5_enc, ha1_sha256_enc FROM extensions WHERE id = ?", {id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no extension has id {}", id)};
  PRIVOX_ASSIGN(std::string md5, keys_.open_secret(md5_purpose(id), rows[0].blob(0)));
  PRIVOX_ASSIGN(std::string sha256, keys_.open_secret(sha256_purpose(id), rows[0].blob(1)));
  return ExtensionCredentials{std::move(md5), std::move(sha256)};
}

}  // namespace privox::accounts
