#pragma once
// The fraud rules that look back over traffic records rather than at one call: run by LiveRules
// every scan interval (and by tests directly), over outbound records read under the `fraud`
// purpose (traffic::list_records: one audited `traffic.list` entry per read that found records).
//
//   international_spend: a company's rated international cost today (UTC day) is above
//       fraud.spend.multiple times its daily average over the 30 days before, and above
//       fraud.spend.floor_micros. The alert names the line that spent most today.
//   off_hours: a line placed at least fraud.hours.min_calls international calls today outside
//       fraud.hours.start..end, both the day and the hours in the company's time zone
//       (accounts/time_zone.h; UTC for a company that chose none). A company that set its own
//       business hours (accounts/business_hours.h) is judged by them instead: a call while it is
//       closed, a holiday included, is out of hours.
//   short_calls: a line's outbound calls in the last fraud.short_calls.window_minutes that were
//       never answered or lasted under fraud.short_calls.max_seconds reached at least
//       fraud.short_calls.min_destinations distinct numbers (call-back and wangiri patterns).
// International: an outbound call whose destination's country is not the company's own. Every
// threshold and action is the company's own where it has one (fraud/overrides.h).
//
// The 30 days before today change only when the day does, so the Scanner sums them once per UTC
// day (the Baseline) and each scan in between reads only the records since the start of today (or
// of the call-back window, or of a company's local day, when those reach further back). A call
// that started yesterday and was still up at the day's first scan (its cost not yet written) is
// in the next day's baseline only.
//
// Thread-safety: evaluate() is pure; Scanner is for one thread at a time.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "accounts/business_hours.h"
#include "accounts/time_zone.h"
#include "common/clock.h"
#include "fraud/alerts.h"
#include "fraud/overrides.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::fraud {

struct ScanLimits {
  int64_t spend_multiple = 5, spend_floor_micros = 20'000'000;
  Action spend_action = Action::alert;
  int64_t hours_start = 7, hours_end = 20, hours_min_calls = 5;
  Action hours_action = Action::alert;
  int64_t short_max_seconds = 10, short_min_destinations = 20, short_window_minutes = 60;
  Action short_action = Action::alert;
};
Result<ScanLimits> scan_limits_from_settings(store::Store& store);
// The limits these values (fraud_values(), with a company's overrides) give.
ScanLimits scan_limits_from(const Values& values);

// The limits and time zone each company's records are judged by: its own, else the global ones.
struct ScanPolicy {
  ScanLimits global;
  std::unordered_map<std::string, ScanLimits> limits;   // by company: those with overrides
  std::unordered_map<std::string, accounts::TimeZone> zones;  // by company: those not on UTC
  std::unordered_map<std::string, accounts::CompanyHours> hours;  // by company: those that set their week
  const ScanLimits& limits_of(const std::string& company) const;
  const accounts::TimeZone& zone_of(const std::string& company) const;
};

// A record as the rules see it: the destination kept only in memory, for counting distinct ones.
struct ScanRecord {
  std::string company_id, line_id, destination;
  int64_t started_at_us = 0;
  bool international = false;
  bool answered = false;
  int64_t duration_ms = 0;
  int64_t cost_micros = 0;
};

// Each company's rated international cost over the 30 whole UTC days before `day_us` (a UTC
// midnight), from records that reach back that far.
struct Baseline {
  int64_t day_us = -1;  // the UTC day it is the baseline of; -1: none built yet
  std::unordered_map<std::string, int64_t> past_cost_micros;
};
Baseline baseline_of(const std::vector<ScanRecord>& records, int64_t day_us);

// What fires over these outbound records at `now_us` (at most one finding per rule and line),
// with `baseline` the one of now's UTC day; `records` need reach back only to the start of the
// day (and of the call-back window).
std::vector<NewAlert> evaluate(const ScanPolicy& policy, const Baseline& baseline,
                               const std::vector<ScanRecord>& records, int64_t now_us);
// The same with one set of limits for every company, in UTC, and the baseline from `records`
// (which then reach back 30 days).
std::vector<NewAlert> evaluate(const ScanLimits& limits, const std::vector<ScanRecord>& records, int64_t now_us);

class Scanner {
 public:
  Scanner(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock), audit_(keys, clock) {}
  // Reads the records, evaluates the rules with the operator's settings (and each company's
  // overrides and time zone) and opens an alert for each finding not already open. The first scan
  // of a UTC day reads the 30 days before it too, for the baseline. Returns the alerts opened.
  // Errors are store errors.
  Result<std::vector<Alert>> run();

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
  Baseline baseline_;
};

}  // namespace privox::fraud
