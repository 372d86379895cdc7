#include "voicemail/options.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>

#include "accounts/extensions.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::voicemail {
namespace {

Error box_not_reached(const std::string& box_id) {
  return Error{ErrorCode::not_found, "box", fmt::format("no line {} with a voicemail box", box_id)};
}

// The box's line when the scope reaches it; another tenant's or member's line reads as missing.
Result<accounts::Extension> line_in_scope(store::Session& s, const Scope& scope, const std::string& box_id) {
  if (scope.boxes && std::find(scope.boxes->begin(), scope.boxes->end(), box_id) == scope.boxes->end())
    return box_not_reached(box_id);
  PRIVOX_ASSIGN(std::optional<accounts::Extension> line, accounts::extension_by_id(s, box_id));
  if (!line || (!scope.company_id.empty() && line->company_id != scope.company_id)) return box_not_reached(box_id);
  return std::move(*line);
}

std::string options_placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

Status audit_option(store::Session& s, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
             const std::string& actor, const char* action, const std::string& box_id, nlohmann::json detail) {
  PRIVOX_TRY(privacy::AuditChain(keys, clock)
                 .append(s, {actor, action, box_id, std::string(privacy::to_string(scope.purpose)), std::move(detail)}));
  return {};
}

// Upserts one column of the box's row; the others keep their values (or defaults on a new row).
Status upsert(store::Session& s, const accounts::Extension& line, const char* column, store::Value value,
              int64_t now_us) {
  PRIVOX_TRY(s.exec(fmt::format("INSERT INTO voicemail_box_options (box_id, company_id, {0}, updated_at_us) "
                                "VALUES (?, ?, ?, ?) ON CONFLICT (box_id) DO UPDATE SET {0} = excluded.{0}, "
                                "company_id = excluded.company_id, updated_at_us = excluded.updated_at_us",
                                column),
                    {line.id, line.company_id, std::move(value), now_us}));
  return {};
}

}  // namespace

std::string_view to_string(EmailNotice notice) {
  switch (notice) {
    case EmailNotice::off: return "off";
    case EmailNotice::notice: return "notice";
    case EmailNotice::audio: return "audio";
  }
  return "off";
}

std::optional<EmailNotice> parse_email_notice(std::string_view text) {
  for (const EmailNotice n : {EmailNotice::off, EmailNotice::notice, EmailNotice::audio})
    if (to_string(n) == text) return n;
  return std::nullopt;
}

Status check_pin(std::string_view pin, std::string_view extension_number) {
  if (pin.size() < kMinPinDigits || pin.size() > kMaxPinDigits)
    return invalid("pin", fmt::format("a PIN has {} to {} digits", kMinPinDigits, kMaxPinDigits));
  if (!std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return invalid("pin", "a PIN has digits only (what a phone's keypad sends)");
  if (std::all_of(pin.begin(), pin.end(), [&](char c) { return c == pin.front(); }))
    return invalid("pin", "a PIN of one digit repeated is the first one anyone tries");
  if (pin == extension_number) return invalid("pin", "a PIN may not be the line's own extension number");
  return {};
}

nlohmann::json to_json(const BoxOptions& options) {
  nlohmann::json out = {{"box_id", options.box_id},
                        {"has_pin", options.has_pin},
                        {"email_notice", std::string(to_string(options.email_notice))}};
  if (options.updated_at_us) out["updated_at"] = format_utc(options.updated_at_us);
  return out;
}

Result<BoxOptions> box_options(store::Store& store, const Scope& scope, const std::string& box_id) {
  BoxOptions out{box_id};
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(line_in_scope(s, scope, box_id));
    PRIVOX_ASSIGN(std::vector<BoxOptions> found, options_of_boxes(s, {box_id}));
    if (!found.empty()) out = std::move(found.front());
    return {};
  }));
  return out;
}

Status set_pin(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
               const std::string& box_id, std::string_view pin, const std::string& actor) {
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const accounts::Extension line, line_in_scope(s, scope, box_id));
    PRIVOX_TRY(check_pin(pin, line.number));
    char hashed[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hashed, pin.data(), pin.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
      return Error{ErrorCode::internal, "pin", "the PIN could not be hashed (out of memory)"};
    PRIVOX_TRY(upsert(s, line, "pin_hash", std::string(hashed), clock.now_us()));
    return audit_option(s, keys, clock, scope, actor, "voicemail.pin_set", box_id, nlohmann::json::object());
  });
}

Status clear_pin(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                 const std::string& box_id, const std::string& actor) {
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(line_in_scope(s, scope, box_id));
    PRIVOX_ASSIGN(const int64_t changed,
                  s.exec("UPDATE voicemail_box_options SET pin_hash = NULL, updated_at_us = ? "
                         "WHERE box_id = ? AND pin_hash IS NOT NULL",
                         {clock.now_us(), box_id}));
    if (changed == 0) return Error{ErrorCode::not_found, "pin", fmt::format("line {} has no voicemail PIN", box_id)};
    return audit_option(s, keys, clock, scope, actor, "voicemail.pin_clear", box_id, nlohmann::json::object());
  });
}

Status set_email_notice(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                        const std::string& box_id, EmailNotice notice, const std::string& actor) {
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const accounts::Extension line, line_in_scope(s, scope, box_id));
    PRIVOX_TRY(upsert(s, line, "email_notice", std::string(to_string(notice)), clock.now_us()));
    return audit_option(s, keys, clock, scope, actor, "voicemail.email_notice_set", box_id,
                 {{"email_notice", std::string(to_string(notice))}});
  });
}

Result<std::optional<std::string>> pin_hash_of(store::Session& s, const std::string& box_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT pin_hash FROM voicemail_box_options WHERE box_id = ?", {box_id}));
  if (rows.empty() || rows[0].is_null(0)) return std::optional<std::string>{};
  return std::optional<std::string>{rows[0].text(0)};
}

bool pin_matches(const std::string& pin_hash, std::string_view pin) {
  return !pin_hash.empty() && !pin.empty() &&
         crypto_pwhash_str_verify(pin_hash.c_str(), pin.data(), pin.size()) == 0;
}

Result<EmailNotice> email_notice_of(store::Session& s, const std::string& box_id) {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query("SELECT email_notice FROM voicemail_box_options WHERE box_id = ?", {box_id}));
  if (rows.empty()) return EmailNotice::off;
  return parse_email_notice(rows[0].text(0)).value_or(EmailNotice::off);
}

Result<std::vector<BoxOptions>> options_of_boxes(store::Session& s, const std::vector<std::string>& boxes) {
  std::vector<BoxOptions> out;
  if (boxes.empty()) return out;
  store::Params params(boxes.begin(), boxes.end());
  PRIVOX_ASSIGN(store::Rows rows,
                s.query(fmt::format("SELECT box_id, CASE WHEN pin_hash IS NULL THEN 0 ELSE 1 END, email_notice, updated_at_us "
                                    "FROM voicemail_box_options WHERE box_id IN ({}) ORDER BY box_id",
                                    options_placeholders(boxes.size())),
                        params));
  for (const store::Row& r : rows)
    out.push_back({r.text(0), r.i64(1) != 0, parse_email_notice(r.text(2)).value_or(EmailNotice::off), r.i64(3)});
  return out;
}

Result<int64_t> delete_options_of_boxes(store::Session& s, const std::vector<std::string>& boxes) {
  if (boxes.empty()) return int64_t{0};
  store::Params params(boxes.begin(), boxes.end());
  return s.exec(
      fmt::format("DELETE FROM voicemail_box_options WHERE box_id IN ({})", options_placeholders(boxes.size())),
      params);
}

}  // namespace privox::voicemail
