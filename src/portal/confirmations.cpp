#include "portal/confirmations.h"

#include <sodium.h>

#include <cstring>

#include "common/bytes.h"
#include "common/json.h"

namespace privox::portal {
namespace {

constexpr std::string_view kSealedField = "pending";

Bytes lookup_hash(const privacy::Keyring& keys, std::string_view token) {
  return keys.blind_index("portal-confirmation", token);
}

// The key the pending request is sealed under: derived from the token (and the master key), so
// only the holder of the emailed link can open it.
privacy::SecretKey sealing_key(const privacy::Keyring& keys, std::string_view token) {
  const std::string derived = keys.token_mac("portal-confirmation-key", token);
  privacy::SecretKey key;
  std::memcpy(key.data(), derived.data(), privacy::SecretKey::kSize);
  return key;
}

constexpr std::pair<ConfirmationKind, std::string_view> kKindNames[] = {
    {ConfirmationKind::signup, "signup"},
    {ConfirmationKind::email, "email"},
    {ConfirmationKind::invite, "invite"},
    {ConfirmationKind::reset, "reset"},
};

ConfirmationKind kind_of(std::string_view text) {
  for (const auto& [kind, name] : kKindNames)
    if (name == text) return kind;
  return ConfirmationKind::signup;
}

// The row of a live token, opened; nullopt when there is none or it expired.
Result<std::optional<PendingConfirmation>> open_row(store::Session& s, const privacy::Keyring& keys, int64_t now,
                                                    std::string_view token) {
  if (token.size() != 64) return std::optional<PendingConfirmation>();
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT kind, subject_id, sealed, expires_at_us FROM portal_confirmations "
                                          "WHERE token_hash = ?",
                                          {lookup_hash(keys, token)}));
  if (rows.empty() || rows[0].i64(3) <= now) return std::optional<PendingConfirmation>();
  PendingConfirmation out;
  out.kind = kind_of(rows[0].text(0));
  out.subject_id = rows[0].text_or(1, "");
  PRIVOX_ASSIGN(const std::string text,
                privacy::open_field(sealing_key(keys, token), rows[0].text(0), kSealedField, rows[0].blob(2)));
  PRIVOX_ASSIGN(out.payload, json::parse_untrusted(text));
  return std::optional<PendingConfirmation>(std::move(out));
}

}  // namespace

std::string_view to_string(ConfirmationKind kind) {
  for (const auto& [k, name] : kKindNames)
    if (k == kind) return name;
  return "signup";
}

Result<std::string> create_confirmation(store::Session& tx, const privacy::Keyring& keys, const Clock& clock,
                                        const PendingConfirmation& pending) {
  const int64_t now = clock.now_us();
  PRIVOX_TRY(tx.exec("DELETE FROM portal_confirmations WHERE expires_at_us <= ?", {now}));
  uint8_t raw[32];
  randombytes_buf(raw, sizeof raw);
  const std::string token = to_hex(raw, sizeof raw);
  const std::string kind(to_string(pending.kind));
  const Bytes sealed = privacy::seal_field(sealing_key(keys, token), kind, kSealedField, json::dump_lenient(pending.payload));
  PRIVOX_TRY(tx.exec("INSERT INTO portal_confirmations (token_hash, kind, subject_id, sealed, expires_at_us) "
                     "VALUES (?, ?, ?, ?, ?)",
                     {lookup_hash(keys, token), kind,
                      pending.subject_id.empty() ? store::null_value() : store::Value(pending.subject_id), sealed,
                      now + pending.ttl_us}));
  return token;
}

Result<PendingConfirmation> take_confirmation(store::Session& tx, const privacy::Keyring& keys, const Clock& clock,
                                              std::string_view token) {
  const Error unknown{ErrorCode::not_found, "token", "this link is unknown, was used already or has expired"};
  if (token.size() != 64) return unknown;
  const Bytes hash = lookup_hash(keys, token);
  PRIVOX_ASSIGN(std::optional<PendingConfirmation> pending, open_row(tx, keys, clock.now_us(), token));
  // An expired row goes too: a link either works now or never again.
  PRIVOX_TRY(tx.exec("DELETE FROM portal_confirmations WHERE token_hash = ?", {hash}));
  if (!pending) return unknown;
  return std::move(*pending);
}

Result<std::optional<ConfirmationKind>> confirmation_kind(store::Session& s, const privacy::Keyring& keys,
                                                          const Clock& clock, std::string_view token) {
  if (token.size() != 64) return std::optional<ConfirmationKind>();
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT kind FROM portal_confirmations WHERE token_hash = ? AND expires_at_us > ?",
                                          {lookup_hash(keys, token), clock.now_us()}));
  if (rows.empty()) return std::optional<ConfirmationKind>();
  return std::optional<ConfirmationKind>(kind_of(rows[0].text(0)));
}

Result<std::optional<PendingConfirmation>> peek_confirmation(store::Session& s, const privacy::Keyring& keys,
                                                             const Clock& clock, std::string_view token) {
  return open_row(s, keys, clock.now_us(), token);
}

Status delete_confirmations_of(store::Session& tx, const std::string& subject_id) {
  PRIVOX_TRY(tx.exec("DELETE FROM portal_confirmations WHERE subject_id = ?", {subject_id}));
  return {};
}

}  // namespace privox::portal
