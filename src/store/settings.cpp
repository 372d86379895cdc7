#include "store/settings.h"

#include <fmt/format.h>

#include <cassert>
#include <charconv>
#include <map>

namespace privox::store {
namespace {

using enum SettingKind;

std::vector<const SettingSpec*>& catalogue() {
  static std::vector<const SettingSpec*> specs;
  return specs;
}

Result<const SettingSpec*> spec_for(std::string_view key) {
  const SettingSpec* spec = find_setting(key);
  if (!spec) return invalid("key", fmt::format("'{}' is not a setting; `privox settings list` shows them", key));
  return spec;
}

Status check_kind(const SettingSpec& spec, std::string_view value) {
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

}  // namespace

void install_settings(const std::vector<std::span<const SettingSpec>>& parts) {
  std::vector<const SettingSpec*>& specs = catalogue();
  specs.clear();
  for (std::span<const SettingSpec> part : parts)
    for (const SettingSpec& spec : part) {
      assert(find_setting(spec.key) == nullptr && "a setting key is declared twice");
      specs.push_back(&spec);
    }
}

const std::vector<const SettingSpec*>& setting_specs() {
  assert(!catalogue().empty() && "app::install_registries() was not called");
  return catalogue();
}

const SettingSpec* find_setting(std::string_view key) {
  for (const SettingSpec* s : catalogue())
    if (s->key == key) return s;
  return nullptr;
}

Status check_setting(const SettingSpec& spec, std::string_view value) {
  PRIVOX_TRY(check_kind(spec, value));
  if (spec.validate) {
    Status s = spec.validate(value);
    if (!s.ok()) return Error{s.error().code, std::string(spec.key), s.error().message};
  }
  return {};
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

Status Settings::store_value(Session& s, std::string_view key, std::string_view value, int64_t now_us) {
  PRIVOX_ASSIGN(const SettingSpec* spec, spec_for(key));
  PRIVOX_TRY(check_setting(*spec, value));
  PRIVOX_TRY(s.exec("DELETE FROM settings WHERE key = ?", {std::string(key)}));
  PRIVOX_TRY(s.exec("INSERT INTO settings (key, value, updated_at_us) VALUES (?, ?, ?)",
                    {std::string(key), std::string(value), now_us}));
  return {};
}

Result<std::vector<SettingValue>> Settings::all() const {
  std::vector<SettingValue> out;
  PRIVOX_TRY(with_transaction(store_, TxMode::read, [&](Session& s) -> Status {
    out.clear();
    PRIVOX_ASSIGN(Rows rows, s.query("SELECT key, value FROM settings"));
    std::map<std::string, std::string, std::less<>> stored;
    for (const Row& r : rows) stored[r.text(0)] = r.text(1);
    for (const SettingSpec* spec : setting_specs()) {
      const auto it = stored.find(spec->key);
      out.push_back({spec, it == stored.end() ? std::string(spec->default_value) : it->second, it != stored.end()});
    }
    return {};
  }));
  return out;
}

}  // namespace privox::store
