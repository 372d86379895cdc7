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

}  // namespace

std::string_view to_string(ConfirmationKind kind) { return kind == ConfirmationKind::signup ? "signup" : "email"; }

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
                      now + kConfirmationTtlUs}));
  return token;
}

Result<PendingConfirmation> take_confirmation(store::Session& tx, const privacy::Keyring& keys, const Clock& clock,
                                              std::string_view token) {
  const Error unknown{ErrorCode::not_found, "token", "this link is unknown, was used already or has expired"};
  if (token.size() != 64) return unknown;
  const Bytes hash = lookup_hash(keys, token);
  PRIVOX_ASSIGN(store::Rows rows, tx.query("SELECT kind, subject_id, sealed, expires_at_us FROM portal_confirmations "
                                           "WHERE token_hash = ?",
                                           {hash}));
  if (rows.empty()) return unknown;
  PRIVOX_TRY(tx.exec("DELETE FROM portal_confirmations WHERE token_hash = ?", {hash}));
  if (rows[0].i64(3) <= clock.now_us()) return unknown;
  PendingConfirmation out;
  out.kind = rows[0].text(0) == "email" ? ConfirmationKind::email : ConfirmationKind::signup;
  out.subject_id = rows[0].text_or(1, "");
  PRIVOX_ASSIGN(const std::string text,
                privacy::open_field(sealing_key(keys, token), rows[0].text(0), kSealedField, rows[0].blob(2)));
  PRIVOX_ASSIGN(out.payload, json::parse_untrusted(text));
  return out;
}

Result<std::optional<ConfirmationKind>> confirmation_kind(store::Session& s, const privacy::Keyring& keys,
                                                          const Clock& clock, std::string_view token) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT kind FROM portal_confirmations WHERE token_hash = ? AND expires_at_us > ?",
                                          {lookup_hash(keys, token), clock.now_us()}));
  if (rows.empty()) return std::optional<ConfirmationKind>();
  return std::optional<ConfirmationKind>(rows[0].text(0) == "email" ? ConfirmationKind::email : ConfirmationKind::signup);
}

Status delete_confirmations_of(store::Session& tx, const std::string& subject_id) {
  PRIVOX_TRY(tx.exec("DELETE FROM portal_confirmations WHERE subject_id = ?", {subject_id}));
  return {};
}

}  // namespace privox::portal
