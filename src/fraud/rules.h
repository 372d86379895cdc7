#pragma once
// The fraud rules that look back over traffic records rather than at one call: run by LiveRules
// every scan interval (and by tests directly), over the records of the last 31 days read under
// the `fraud` purpose (traffic::list_records: one audited `traffic.list` entry per scan that
// found records).
//
//   international_spend: a company's rated international cost today (UTC day) is above
//       fraud.spend.multiple times its daily average over the 30 days before, and above
//       fraud.spend.floor_micros. The alert names the line that spent most today.
//   off_hours: a line placed at least fraud.hours.min_calls international calls today outside
//       fraud.hours.start..end (UTC hours: privox keeps no time zone per company).
//   short_calls: a line's outbound calls in the last fraud.short_calls.window_minutes that were
//       never answered or lasted under fraud.short_calls.max_seconds reached at least
//       fraud.short_calls.min_destinations distinct numbers (call-back and wangiri patterns).
// International: an outbound call whose destination's country is not the company's own.
//
// Thread-safety: evaluate() is pure; Scanner is for one thread at a time.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "fraud/alerts.h"
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

// A record as the rules see it: the destination kept only in memory, for counting distinct ones.
struct ScanRecord {
  std::string company_id, line_id, destination;
  int64_t started_at_us = 0;
  bool international = false;
  bool answered = false;
  int64_t duration_ms = 0;
  int64_t cost_micros = 0;
};

// What fires over these outbound records at `now_us` (at most one finding per rule and line).
std::vector<NewAlert> evaluate(const ScanLimits& limits, const std::vector<ScanRecord>& records, int64_t now_us);

class Scanner {
 public:
  Scanner(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock), audit_(keys, clock) {}
  // Reads the records, evaluates the rules with the operator's settings and opens an alert for
  // each finding not already open. Returns the alerts opened. Errors are store errors.
  Result<std::vector<Alert>> run();

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::fraud
