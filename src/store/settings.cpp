#include "store/settings.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

#include "privacy/audit.h"

namespace privox::store {
namespace {

using enum SettingKind;

// clang-format off
constexpr std::array kSpecs = {
  SettingSpec{"controller.name", text, "", 0, 0,
              "the data controller's legal name, shown on the privacy notice (P16)"},
  SettingSpec{"controller.address", text, "", 0, 0, "the data controller's postal address"},
  SettingSpec{"controller.email", email, "privacy@localhost", 0, 0,
              "where people write about their personal data and rights requests"},
  SettingSpec{"controller.phone", text, "", 0, 0, "the data controller's telephone number"},
  SettingSpec{"rights.fee_minor_units", integer, "1000", 0, 100000,
              "administration fee for an access request, in minor units of rights.fee_currency (policy: GBP 10)"},
  SettingSpec{"rights.fee_currency", text, "GBP", 0, 0, "currency of the administration fee (ISO 4217)"},
  SettingSpec{"rights.code_ttl_minutes", integer, "30", 1, 1440,
              "how long an identity-check code sent by email stays valid"},
  SettingSpec{"rights.code_max_tries", integer, "5", 1, 20, "wrong codes allowed before a code is void"},
  SettingSpec{"retention.dispute_period_days", integer, "180", 1, 3650,
              "billing dispute period: raw traffic data is anonymised when it ends"},
  SettingSpec{"retention.call_log_max_entries", integer, "1000", 1, 1000000,
              "most call and message log entries a member sees; older ones leave the log"},
  SettingSpec{"retention.call_log_max_age_days", integer, "365", 1, 3650,
              "oldest call and message log entry a member sees, in days"},
  SettingSpec{"retention.voicemail_max_messages", integer, "100", 1, 10000, "most voicemails kept per mailbox"},
  SettingSpec{"retention.voicemail_max_age_days", integer, "30", 1, 3650, "oldest voicemail kept, in days"},
  SettingSpec{"retention.closed_account_grace_days", integer, "30", 0, 3650,
              "days after an account closes before its personal data is erased"},
  SettingSpec{"analytics.min_cell_size", integer, "5", 2, 1000,
              "k: the fewest people an aggregate cell may count before it is suppressed (P8)"},
  SettingSpec{"mail.smtp_url", url, "smtp://127.0.0.1:25", 0, 0, "the mail relay privox sends email through"},
  SettingSpec{"mail.from", email, "privox@localhost", 0, 0, "the sender address of privox's email"},
  SettingSpec{"sms.sender_number", text, "", 0, 0,
              "the E.164 number marketing SMS come from and STOP replies go to; empty: no SMS campaigns"},
  SettingSpec{"portal.public_url", url, "http://127.0.0.1:8080", 0, 0,
              "the portal's address as people reach it, for links in email (unsubscribe, requests)"},
  SettingSpec{"portal.login_max_failures", integer, "5", 1, 100,
              "failed portal logins allowed per account and per client address in one window before a lock-out "
              "(read when privox serve starts)"},
  SettingSpec{"portal.login_window_minutes", integer, "15", 1, 1440,
              "the window failed portal logins are counted in (read when privox serve starts)"},
  SettingSpec{"portal.lockout_minutes", integer, "15", 1, 1440,
              "how long a portal lock-out lasts (read when privox serve starts)"},
  SettingSpec{"portal.session_idle_minutes", integer, "60", 1, 1440,
              "a portal session unused this long ends (read when privox serve starts)"},
  SettingSpec{"portal.session_max_hours", integer, "12", 1, 168,
              "a portal session ends this long after login however it is used (read when privox serve starts)"},
};
// clang-format on

Status check(const SettingSpec& spec, std::string_view value) {
  const std::string key(spec.key);
  switch (spec.kind) {
    case integer: {
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || end != value.data() + value.size())
        return invalid(key, fmt::format("'{}' is not a whole number", value));
      if (n < spec.min || n > spec.max)
        return invalid(key, fmt::format("{} is out of range; use {} to {}", n, spec.min, spec.max));
      return {};
    }
    case email:
      if (value.find('@') == std::string_view::npos || value.find_first_of(" \r\n<>") != std::string_view::npos)
        return invalid(key, fmt::format("'{}' is not an email address", value));
      return {};
    case url:
      if (value.find("://") == std::string_view::npos || value.find_first_of(" \r\n") != std::string_view::npos)
        return invalid(key, fmt::format("'{}' is not a URL (scheme://host...)", value));
      return {};
    case text:
      if (value.size() > 500 || value.find_first_of("\r\n") != std::string_view::npos)
        return invalid(key, "must be one line of at most 500 characters");
      return {};
  }
  return {};
}

Result<const SettingSpec*> spec_for(std::string_view key) {
  const SettingSpec* spec = find_setting(key);
  if (!spec) return invalid("key", fmt::format("'{}' is not a setting; `privox settings list` shows them", key));
  return spec;
}

}  // namespace

std::span<const SettingSpec> setting_specs() { return kSpecs; }

const SettingSpec* find_setting(std::string_view key) {
  for (const SettingSpec& s : kSpecs)
    if (s.key == key) return &s;
  return nullptr;
}

Result<std::string> Settings::text(Session& s, std::string_view key) const {
  PRIVOX_ASSIGN(const SettingSpec* spec, spec_for(key));
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT value FROM settings WHERE key = ?", {std::string(key)}));
  return rows.empty() ? std::string(spec->default_value) : rows[0].text(0);
}

Result<int64_t> Settings::integer(Session& s, std::string_view key) const {
  PRIVOX_ASSIGN(std::string value, text(s, key));
  int64_t n = 0;
  std::from_chars(value.data(), value.data() + value.size(), n);
  return n;
}

Result<std::string> Settings::text(std::string_view key) const {
  std::string out;
  PRIVOX_TRY(with_transaction(store_, TxMode::read, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(out, text(s, key));
    return {};
  }));
  return out;
}

Result<int64_t> Settings::integer(std::string_view key) const {
  int64_t out = 0;
  PRIVOX_TRY(with_transaction(store_, TxMode::read, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(out, integer(s, key));
    return {};
  }));
  return out;
}

Status Settings::set(std::string_view key, std::string_view value, const privacy::Keyring& keys, const Clock& clock,
                     const std::string& actor) const {
  PRIVOX_ASSIGN(const SettingSpec* spec, spec_for(key));
  PRIVOX_TRY(check(*spec, value));
  const privacy::AuditChain audit(keys, clock);
  return with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("DELETE FROM settings WHERE key = ?", {std::string(key)}));
    PRIVOX_TRY(s.exec("INSERT INTO settings (key, value, updated_at_us) VALUES (?, ?, ?)",
                      {std::string(key), std::string(value), clock.now_us()}));
    // The value itself goes in the chain: settings are the operator's configuration, not personal data.
    PRIVOX_TRY(audit.append(s, {actor, "settings.set", "", "", {{"key", key}, {"value", value}}}));
    return {};
  });
}

Result<nlohmann::json> Settings::all() const {
  nlohmann::json out = nlohmann::json::array();
  PRIVOX_TRY(with_transaction(store_, TxMode::read, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(Rows rows, s.query("SELECT key, value FROM settings"));
    std::map<std::string, std::string> stored;
    for (const Row& r : rows) stored[r.text(0)] = r.text(1);
    for (const SettingSpec& spec : kSpecs) {
      const auto it = stored.find(std::string(spec.key));
      out.push_back({{"key", spec.key},
                     {"value", it == stored.end() ? std::string(spec.default_value) : it->second},
                     {"default", spec.default_value},
                     {"changed", it != stored.end()},
                     {"meaning", spec.meaning}});
    }
    return {};
  }));
  return out;
}

}  // namespace privox::store
