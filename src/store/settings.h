#pragma once
// The operator's settings: the limits, periods, fees and contact details that the policy leaves to
// the operator (retention periods, the rights-request fee, the controller's contact details, the
// mail relay). Each subsystem declares its own settings beside its code (a `settings.cpp` with a
// span of SettingSpec); the composition root (app/registry.h) installs them all into one catalogue
// before anything reads a setting. The store holds only values that differ from the default, so
// every node reads the same configuration.
//
// This layer checks a value against its spec and stores it; it knows no subsystem and audits
// nothing. Changing a setting on an operator's behalf goes through privacy/settings_change.h,
// which writes the audit entry in the same transaction.
//
// Thread-safety: install_settings() once, before threads start; everything else is safe from any
// thread (all state is in the store).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace privox::store {

enum class SettingKind { integer, text, email, url };

struct SettingSpec {
  std::string_view key;
  SettingKind kind;
  std::string_view default_value;
  int64_t min = 0, max = 0;  // integer settings only
  std::string_view meaning;
  // The rule the service itself applies when it uses the value, run when the value is set, so
  // that a value the service cannot use is refused then (an SMS sender number libphonenumber
  // cannot read, say). Null: the kind's checks are enough. The error names the key.
  Status (*validate)(std::string_view value) = nullptr;
};

// Installs the catalogue: every subsystem's settings, in layer order. Keys must be unique.
void install_settings(const std::vector<std::span<const SettingSpec>>& parts);
// The installed catalogue, in installation order.
const std::vector<const SettingSpec*>& setting_specs();
const SettingSpec* find_setting(std::string_view key);

// Checks `value` against the spec: the kind's rules, then the spec's own validate().
Status check_setting(const SettingSpec& spec, std::string_view value);

struct SettingValue {
  const SettingSpec* spec;
  std::string value;  // in force: the stored one, else the default
  bool changed;       // a stored value overrides the default
};

class Settings {
 public:
  explicit Settings(Store& store) : store_(store) {}

  // The value in force: the stored one, else the default. `invalid_argument` on `key` for an
  // undeclared key.
  Result<std::string> text(std::string_view key) const;
  Result<int64_t> integer(std::string_view key) const;
  Result<std::string> text(Session& s, std::string_view key) const;
  Result<int64_t> integer(Session& s, std::string_view key) const;

  // Checks the value (check_setting) and stores it in the caller's write transaction. Errors name
  // the key. Not audited: see privacy/settings_change.h.
  static Status store_value(Session& s, std::string_view key, std::string_view value, int64_t now_us);

  // Every setting of the catalogue with the value in force.
  Result<std::vector<SettingValue>> all() const;

 private:
  Store& store_;
};

}  // namespace privox::store
