#pragma once
// The operator's settings: the limits, periods, fees and contact details that the policy leaves to
// the operator (retention periods, the rights-request fee, the controller's contact details, the
// mail relay). Every setting is declared once in settings.cpp with its default, its meaning and how
// it is checked; the store holds only values that differ from the default, so every node reads the
// same configuration. Changing one writes an audit entry.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace privox::privacy {
class Keyring;
}

namespace privox::store {

enum class SettingKind { integer, text, email, url };

struct SettingSpec {
  std::string_view key;
  SettingKind kind;
  std::string_view default_value;
  int64_t min = 0, max = 0;  // integer settings only
  std::string_view meaning;
};

std::span<const SettingSpec> setting_specs();
const SettingSpec* find_setting(std::string_view key);

class Settings {
 public:
  explicit Settings(Store& store) : store_(store) {}

  // The value in force: the stored one, else the default. `not_found` for an undeclared key.
  Result<std::string> text(std::string_view key) const;
  Result<int64_t> integer(std::string_view key) const;
  Result<std::string> text(Session& s, std::string_view key) const;
  Result<int64_t> integer(Session& s, std::string_view key) const;

  // Validates against the spec (`invalid_argument` naming the key and what is wrong) and stores
  // the value with an audit entry in one transaction.
  Status set(std::string_view key, std::string_view value, const privacy::Keyring& keys, const Clock& clock,
             const std::string& actor) const;

  // Every setting: key, value in force, default, whether it was changed, meaning.
  Result<nlohmann::json> all() const;

 private:
  Store& store_;
};

}  // namespace privox::store
