#pragma once
// Per-company overrides of the fraud rules' thresholds and actions: a company with an autodialer
// or call-centre lines gets its own fraud.velocity.* (or spend, hours, call-back, sources) values
// without the whole node's limits being raised. An override is one fraud.* setting's value for one
// company, checked like the setting itself (store::check_setting); a key a company has no override
// for follows the global setting. Setting and clearing one write an audit entry
// ("fraud.limit_set", "fraud.limit_clear"; subject: the company) in the same transaction.
//
// Neither the proxy nor the scanner reads the table per call: LiveRules re-reads it with the
// settings on every refresh and gives the guard each company's limits (guard.h), and the Scanner
// reads it once a scan.
//
// Thread-safety: free functions work in the caller's transaction; CompanyLimits is safe from any
// thread (its state is in the store).

#include <map>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "store/store.h"

namespace privox::fraud {

// A fraud setting's key -> its value as text.
using Values = std::map<std::string, std::string, std::less<>>;
// A company id -> the values it overrides.
using CompanyValues = std::map<std::string, Values, std::less<>>;

// Whether a company may have its own value of `key`: every fraud.* threshold and action, not the
// node's own (fraud.alert_email, fraud.scan_interval_s).
bool overridable(std::string_view key);

// Every fraud setting's value in force on the node (stored, else the default).
Result<Values> fraud_values(store::Store& store);
// Every company's overrides.
Result<CompanyValues> company_overrides(store::Session& s);
// `global` with `own`'s values in their place.
Values with_overrides(Values global, const Values& own);
// The integer a value holds, or `fallback` when it holds none (a value never checked).
int64_t value_integer(const Values& values, std::string_view key, int64_t fallback);

class CompanyLimits {
 public:
  CompanyLimits(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), clock_(clock), audit_(keys, clock) {}

  // Errors: invalid_argument on `key` for a key that is not an overridable fraud setting, on the
  // key for a value the setting refuses, on `company` for a malformed id; not_found on `company`
  // for an unknown one.
  Status set(const std::string& company_id, std::string_view key, std::string_view value, const std::string& actor);
  // The company follows the global setting again. not_found on `key` when it had no override.
  Status clear(const std::string& company_id, std::string_view key, const std::string& actor);
  // The company's overrides (not_found on `company` for an unknown one).
  Result<Values> list(const std::string& company_id);

 private:
  store::Store& store_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::fraud
