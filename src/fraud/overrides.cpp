// Per-company overrides of the fraud rules (overrides.h).
#include "fraud/overrides.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>

#include "accounts/accounts.h"
#include "accounts/validation.h"
#include "fraud/module.h"
#include "privacy/audit_record.h"
#include "store/settings.h"

namespace privox::fraud {

bool overridable(std::string_view key) {
  // The operator's address and how often the node scans are the node's, not a company's.
  if (key == "fraud.alert_email" || key == "fraud.scan_interval_s") return false;
  for (const store::SettingSpec& spec : settings())
    if (spec.key == key) return true;
  return false;
}

Result<Values> fraud_values(store::Store& store) {
  const store::Settings stored(store);
  Values out;
  for (const store::SettingSpec& spec : settings()) {
    PRIVOX_ASSIGN(std::string value, stored.text(spec.key));
    out.emplace(spec.key, std::move(value));
  }
  return out;
}

Result<CompanyValues> company_overrides(store::Session& s) {
  PRIVOX_ASSIGN(const store::Rows rows, s.query("SELECT company_id, key, value FROM fraud_company_limits"));
  CompanyValues out;
  for (const store::Row& r : rows) out[r.text(0)][r.text(1)] = r.text(2);
  return out;
}

Values with_overrides(Values global, const Values& own) {
  for (const auto& [key, value] : own) global[key] = value;
  return global;
}

int64_t value_integer(const Values& values, std::string_view key, int64_t fallback) {
  const auto it = values.find(key);
  if (it == values.end()) return fallback;
  int64_t out = 0;
  const std::string& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() ? out : fallback;
}

namespace {

Status check_override(std::string_view key, std::string_view value) {
  const store::SettingSpec* spec = store::find_setting(key);
  if (!spec || !overridable(key))
    return invalid("key", fmt::format("'{}' is not a fraud rule setting a company can override", key));
  return store::check_setting(*spec, value);
}

}  // namespace

Status CompanyLimits::set(const std::string& company_id, std::string_view key, std::string_view value,
                          const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  PRIVOX_TRY(check_override(key, value));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    PRIVOX_TRY(accounts::find_company(tx, company_id));
    PRIVOX_TRY(tx.exec("DELETE FROM fraud_company_limits WHERE company_id = ? AND key = ?",
                       {company_id, std::string(key)}));
    PRIVOX_TRY(tx.exec("INSERT INTO fraud_company_limits (company_id, key, value, set_at_us) VALUES (?, ?, ?, ?)",
                       {company_id, std::string(key), std::string(value), clock_.now_us()}));
    PRIVOX_TRY(audit_.append(tx, {actor, "fraud.limit_set", company_id, "fraud", {{"key", std::string(key)}, {"value", std::string(value)}}}));
    return {};
  });
}

Status CompanyLimits::clear(const std::string& company_id, std::string_view key, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  if (!overridable(key))
    return invalid("key", fmt::format("'{}' is not a fraud rule setting a company can override", key));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    PRIVOX_TRY(accounts::find_company(tx, company_id));
    PRIVOX_ASSIGN(const int64_t gone, tx.exec("DELETE FROM fraud_company_limits WHERE company_id = ? AND key = ?",
                                              {company_id, std::string(key)}));
    if (gone == 0) return Error{ErrorCode::not_found, "key", fmt::format("the company has no own value of {}", key)};
    PRIVOX_TRY(audit_.append(tx, {actor, "fraud.limit_clear", company_id, "fraud", {{"key", std::string(key)}}}));
    return {};
  });
}

Result<Values> CompanyLimits::list(const std::string& company_id) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  Values out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::find_company(s, company_id));
    PRIVOX_ASSIGN(const store::Rows rows,
                  s.query("SELECT key, value FROM fraud_company_limits WHERE company_id = ?", {company_id}));
    for (const store::Row& r : rows) out[r.text(0)] = r.text(1);
    return {};
  }));
  return out;
}

}  // namespace privox::fraud
