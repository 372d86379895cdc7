#pragma once
// Extensions: a company's phone lines, what the SIP registrar and proxy authenticate and route to.
// An extension has a number (2-8 digits, unique within its company), a SIP login, an optional
// member it is assigned to and an optional public number (DID). Its device password is never
// stored: only the digest HA1s (RFC 7616 / RFC 8760, MD5 and SHA-256, realm kDigestRealm) are,
// sealed with the keyring's credential key. Each extension is a subject with its own data key,
// under which the registrar seals its bindings and the proxy its traffic records.
//
// The SIP login (`sip_user`) is twelve random lower-case letters and digits (60 bits), not
// derived from the extension number, so that a scanner that knows or guesses numbers has no login
// to guess passwords for. The login is chosen once, when the extension is created, and never
// changes; HA1s are computed with it. (Lines created before logins were random keep theirs: the
// number, or NUMBER-XXXXXXXX.) Device passwords are 12 to 128 characters; generate_device_password()
// makes one that no online guessing will find.
//
// Every change is written with its audit entry in one transaction; audit entries hold ids only.
// A change the SIP directory must learn of is also recorded in the provisioning change log
// (accounts/directory_log.h) in that transaction.
// Look-ups are not audited: they are the service path (a REGISTER, a call) or provisioning, and
// return no member data.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::accounts {

// The digest realm of every extension; phones must be configured with it.
inline constexpr std::string_view kDigestRealm = "privox";

// Which digest challenges a line's phones get (issue 13), set per company and per line; a line
// without its own follows its company's, and a company without one follows the node's
// `serve --digest-challenges` (MD5 unless the operator says otherwise).
//   md5     MD5 only: what every common softphone answers (Debian's baresip gives up on a
//           SHA-256 challenge, even one offered beside MD5).
//   sha256  SHA-256 only (RFC 8760), and only a SHA-256 response is accepted. Not "SHA-256 first,
//           then MD5": a phone that can do SHA-256 picks it from that pair anyway, so the pair
//           would only keep the MD5 door open for the phones (and the guessers) that cannot.
// A login that names no line is challenged with the node's default, so the challenge of an
// unknown login looks like that of a line that follows the default (logins are 60 random bits;
// see sip/authenticator.h).
enum class DigestChoice { md5, sha256 };
std::string_view to_string(DigestChoice choice);
// "md5" or "sha256"; nullopt for anything else.
std::optional<DigestChoice> parse_digest_choice(std::string_view text);

// A line's label ("Reception desk"), at most this many characters; "" is none.
inline constexpr size_t kMaxLineLabel = 60;

// A random device password: 24 letters and digits without look-alikes (57 symbols, ~140 bits),
// never containing `number` (the line's number, which a password may not hold).
inline constexpr size_t kGeneratedPasswordLength = 24;
std::string generate_device_password(std::string_view number = {});

struct NewExtension {
  std::string company_id;
  std::string number;                    // 2-8 digits
  std::string password;                  // 12-128 printable ASCII; never stored
  std::optional<std::string> member_id;  // an active member of the same company
  std::optional<std::string> did;        // read with the company's country; stored in E.164
};

// What a new line may also be given: its label (Extension::label) and its digest choice.
struct LineSettings {
  std::string label;
  std::optional<DigestChoice> digest;  // nullopt follows the company's
};

struct Extension {
  std::string id, company_id, number, sip_user;
  std::optional<std::string> member_id, did;
  int64_t created_at_us = 0;
  // The company's name for the line; "" when none. It may name the person who uses the line, so
  // the data map declares it personal: erasing the line's member clears it with the assignment.
  std::string label;
  std::optional<DigestChoice> digest;  // the line's own; nullopt follows the company's
};

// What update() changes; a field left nullopt is kept.
struct ExtensionChange {
  std::optional<std::string> label;                     // "" clears it
  std::optional<std::optional<std::string>> member_id;  // an inner nullopt unassigns the line
  std::optional<std::optional<DigestChoice>> digest;    // an inner nullopt follows the company
};

// HA1 = H(sip_user ":" realm ":" password), lowercase hex, one per digest algorithm.
struct ExtensionCredentials {
  std::string ha1_md5;     // 32 hex digits
  std::string ha1_sha256;  // 64 hex digits
};

// The HA1s of a SIP login and password in realm kDigestRealm. `internal` when OpenSSL refuses an
// algorithm (MD5 under a FIPS-only provider).
Result<ExtensionCredentials> digest_credentials(std::string_view sip_user, std::string_view password);

// What the SIP directory needs of a line: the line, its company's country (for reading national
// numbers) and its opened HA1s.
struct DirectoryLine {
  Extension line;
  std::string country;
  ExtensionCredentials credentials;
  // What its phones are challenged with: the line's choice, else its company's; nullopt follows
  // the node's default.
  std::optional<DigestChoice> digest;
  // Its company requires encryption on the wire: its phones register and call over TLS with SRTP.
  bool encryption_required = false;
};
// The lines named (every line when `ids` is empty), with their credentials opened, inside the
// caller's transaction. A line whose HA1s do not open is skipped and logged (by id only).
Result<std::vector<DirectoryLine>> directory_lines(store::Session& s, const privacy::Keyring& keys,
                                                   const std::vector<std::string>& ids = {});

// The lines assigned to the member, by number, inside the caller's transaction.
Result<std::vector<Extension>> extensions_of_member(store::Session& s, const std::string& member_id);
// The line with this id inside the caller's transaction; nullopt when there is none.
Result<std::optional<Extension>> extension_by_id(store::Session& s, const std::string& id);
// The company's line with this number inside the caller's transaction; nullopt when there is none.
Result<std::optional<Extension>> extension_by_number(store::Session& s, const std::string& company_id,
                                                     std::string_view number);
// The line whose DID is `e164` (exactly as stored) inside the caller's transaction; nullopt when none.
Result<std::optional<Extension>> extension_by_did(store::Session& s, std::string_view e164);

class Extensions {
 public:
  Extensions(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock), audit_(keys, clock) {}

  // Creates the extension, its subject key and its audit entry; returns its id. Errors name the
  // input at fault: `company` (malformed, not found, or conflict when closing or closed), `number` (format; conflict when the
  // company has it), `password` (length, characters, holds the number or a card number),
  // `member` (not found in this company; conflict when erased), `did` (not a valid number;
  // conflict when any extension has it), `label` (too long, control characters).
  Result<std::string> add_extension(const NewExtension& input, const std::string& actor,
                                    const LineSettings& settings = {});

  // Replaces both HA1s; the same password rules as add_extension. `id` not found: not_found.
  Status reset_password(const std::string& id, const std::string& password, const std::string& actor);

  // Renames, assigns or unassigns, or changes the digest choice of the line, with one audit entry
  // naming what changed (ids only, never the label) and, when the SIP directory must learn of it
  // (member or digest), a directory change. Errors: `id` not found; `label` too long, not
  // printable, or a card number; `member` as add_extension (not found in the line's company, or
  // conflict when erased); `digest` not md5 or sha256 never gets here (parse_digest_choice).
  Status update(const std::string& id, const ExtensionChange& change, const std::string& actor);

  // The company's digest choice (nullopt: the node's default), and setting it, with its audit
  // entry and a directory change for every line of the company that follows it. not_found on
  // `company`.
  Result<std::optional<DigestChoice>> company_digest(const std::string& company_id);
  Status set_company_digest(const std::string& company_id, std::optional<DigestChoice> choice,
                            const std::string& actor);

  // Whether the company requires encryption on the wire (issue 16): its lines' phones then
  // register and call only over TLS (SIP) with SRTP (audio); the SIP service refuses the others
  // with the reason. Setting it writes an audit entry and a directory change for every line of the
  // company, so every node enforces it within the directory's reach. not_found on `company`.
  Result<bool> company_requires_encryption(const std::string& company_id);
  Status set_company_encryption(const std::string& company_id, bool required, const std::string& actor);

  // Removes the line (line_removal.h: its registrations go, its number and DID become free).
  // not_found on "id".
  Status remove(const std::string& id, const std::string& actor);

  // Look-ups: not_found when nothing matches (the field named is the argument's).
  Result<Extension> find(const std::string& id);
  Result<Extension> find_by_number(const std::string& company_id, std::string_view number);
  // `e164` exactly as stored, e.g. "+442079460958".
  Result<Extension> find_by_did(std::string_view e164);
  // The extension whose SIP login is `user`, as a REGISTER's digest username names it. Untrusted
  // input: any string is answered, with not_found when it names no login.
  Result<Extension> find_by_login(std::string_view user);
  // A company's extensions, shortest number first, then in order. not_found for no such company.
  Result<std::vector<Extension>> list(const std::string& company_id);
  // The extension's HA1s, opened. `corrupt` when they do not open with this master key.
  Result<ExtensionCredentials> credentials(const std::string& id);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::accounts
