#pragma once
// Fraud alerts: what a rule saw on a line (counts and amounts only), the action it took, and
// whether it still holds. An open alert whose action is suspend refuses the line's new calls at
// set-up (403); throttle limits them (503 with Retry-After); alert only tells. Opening and lifting
// each write an audit entry (subject: the line, purpose fraud) in the same transaction.
//
// The proxy never reads this table: LineGuard (fraud/guard.h) holds the blocked lines in memory,
// and LiveRules re-reads blocked_lines() every few seconds and after each local change.
//
// Thread-safety: free functions work in the caller's transaction; Alerts is safe from any thread.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "store/store.h"

namespace privox::fraud {

enum class Rule : uint8_t {
  line_velocity,        // calls per minute of one line
  company_velocity,     // calls per minute of a company's lines together
  line_concurrency,     // calls in progress at once on one line
  company_concurrency,  // ... on a company's lines together
  international_spend,  // today's international cost far above the company's own baseline
  off_hours,            // international calls out of business hours
  short_calls,          // many short calls to many destinations (call-back, wangiri)
  many_sources,         // one line registered from many addresses at once
};
enum class Action : uint8_t { alert, throttle, suspend };

std::string_view to_string(Rule rule);
std::string_view to_string(Action action);
std::optional<Rule> parse_rule(std::string_view text);
std::optional<Action> parse_action(std::string_view text);
// In words, for the portal and the email: "calls per minute of one line".
std::string_view rule_words(Rule rule);

// Counts and amounts a rule saw, by name ("calls", "limit", "today_micros"): never a party's
// number, an address or a name, which is why the values are integers. Read back in name order.
using Figures = std::vector<std::pair<std::string, int64_t>>;

struct Alert {
  std::string id, company_id, line_id;
  Rule rule = Rule::line_velocity;
  Action action = Action::alert;
  int64_t opened_at_us = 0;
  Figures figures;
  bool open = true;
  int64_t lifted_at_us = 0;
  std::string lifted_by;
  int64_t mailed_at_us = 0;
};

struct NewAlert {
  std::string company_id, line_id;
  Rule rule = Rule::line_velocity;
  Action action = Action::alert;
  Figures figures;
};

// Opens the alert in the caller's write transaction, with its audit entry "fraud.alert_open";
// nullopt (nothing written) when the same rule already has an open alert on the line.
Result<std::optional<Alert>> open_alert(store::Session& tx, const privacy::AuditChain& audit, const NewAlert& alert,
                                        int64_t now_us, const std::string& actor);

// The alerts, newest first: one company's (empty: every company's), only open ones if asked.
Result<std::vector<Alert>> list_alerts(store::Session& s, const std::string& company_id, bool open_only);
Result<std::optional<Alert>> find_alert(store::Session& s, const std::string& id);

// The lines an open alert suspends or throttles (a line both suspended and throttled is only in
// `suspended`).
struct Blocks {
  std::unordered_set<std::string> suspended, throttled;
};
Result<Blocks> blocked_lines(store::Session& s);

// Alerts not yet mailed, oldest first, and marking one mailed (in the caller's transaction).
Result<std::vector<Alert>> unmailed_alerts(store::Session& s);
Status mark_mailed(store::Session& tx, const std::string& id, int64_t now_us);
// The mail outbox's memory per recipient ('operator' or an office manager's member id): whom an
// alert's email already reached, and recording one more. The sender records each recipient in a
// transaction of its own right after the send, so a sweep that fails half-way never sends the
// same alert to anyone twice; only a crash between a send and its record can.
Result<std::unordered_set<std::string>> mailed_recipients(store::Session& s, const std::string& alert_id);
Status mark_mailed_to(store::Session& tx, const std::string& alert_id, const std::string& recipient, int64_t now_us);

// The figures as a JSON object text.
std::string figures_json(const Figures& figures);
// What the CLI and the portal show of an alert: ids, rule (and in words), action, state, times
// (UTC, RFC 3339) and figures.
nlohmann::json to_json(const Alert& alert);

class Alerts {
 public:
  Alerts(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), clock_(clock), audit_(keys, clock) {}

  Result<std::vector<Alert>> list(const std::string& company_id, bool open_only = false);
  // Lifts an open alert, with its audit entry "fraud.alert_lift": a suspended or throttled line
  // may call freely again once the proxies re-read the list. `company_id` non-empty: the alert
  // must be that company's (else not_found, as for an unknown id, so a tenant learns nothing of
  // another's). Errors: invalid_argument on `alert` for a malformed id, not_found, conflict when
  // it was already lifted.
  Result<Alert> lift(const std::string& alert_id, const std::string& company_id, const std::string& actor);

 private:
  store::Store& store_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::fraud
