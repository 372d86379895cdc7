// The settings fraud/ reads: each rule's thresholds and its action, how often the scanner runs
// and how often the proxy's list of suspended and throttled lines is re-read (store/settings.h).
// A company may have its own value of a threshold or action (fraud/overrides.h).
#include <array>

#include "fraud/alerts.h"
#include "fraud/module.h"

namespace privox::fraud {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

Status check_action_setting(std::string_view value) {
  if (!parse_action(value)) return invalid("action", "must be alert, throttle or suspend");
  return {};
}

// clang-format off
constexpr std::array<SettingSpec, 21> kFraudSettings = {
  SettingSpec{"fraud.velocity.line_calls_per_minute", integer, "30", 1, 100'000,
              "new calls one line may place in a minute before the velocity rule fires"},
  SettingSpec{"fraud.velocity.company_calls_per_minute", integer, "120", 1, 1'000'000,
              "new calls one company's lines together may place in a minute before the velocity rule fires"},
  SettingSpec{"fraud.velocity.line_concurrent_calls", integer, "10", 1, 100'000,
              "calls one line may have in progress at once before the concurrency rule fires"},
  SettingSpec{"fraud.velocity.company_concurrent_calls", integer, "60", 1, 1'000'000,
              "calls one company's lines may have in progress at once before the concurrency rule fires"},
  SettingSpec{"fraud.velocity.action", text, "suspend", 0, 0,
              "what the velocity and concurrency rules do: alert, throttle or suspend the line", check_action_setting},
  SettingSpec{"fraud.throttle.calls_per_minute", integer, "2", 0, 10'000,
              "new calls a throttled line may place in a minute; the others are answered 503 with Retry-After"},
  SettingSpec{"fraud.spend.multiple", integer, "5", 1, 1'000,
              "the spend rule fires when today's international cost is above this many times the company's daily average over the 30 days before"},
  SettingSpec{"fraud.spend.floor_micros", integer, "20000000", 0, 1'000'000'000'000,
              "and above this amount (millionths of the currency), so a company with little history is not flagged for a few calls"},
  SettingSpec{"fraud.spend.action", text, "alert", 0, 0,
              "what the spend rule does: alert, throttle or suspend", check_action_setting},
  SettingSpec{"fraud.hours.start", integer, "7", 0, 23,
              "business hours start (hour, inclusive, in the company's time zone: UTC unless set): international calls outside them count for the hours rule"},
  SettingSpec{"fraud.hours.end", integer, "20", 1, 24,
              "business hours end (hour, exclusive, in the company's time zone)"},
  SettingSpec{"fraud.hours.min_calls", integer, "5", 1, 100'000,
              "international calls out of hours one line may place in a day before the hours rule fires"},
  SettingSpec{"fraud.hours.action", text, "alert", 0, 0,
              "what the hours rule does: alert, throttle or suspend", check_action_setting},
  SettingSpec{"fraud.short_calls.max_seconds", integer, "10", 1, 3'600,
              "a call shorter than this (or never answered) counts as short for the call-back rule"},
  SettingSpec{"fraud.short_calls.min_destinations", integer, "20", 2, 100'000,
              "distinct destinations of one line's short outbound calls within the window that fire the call-back rule"},
  SettingSpec{"fraud.short_calls.window_minutes", integer, "60", 1, 1'440,
              "the call-back rule's window"},
  SettingSpec{"fraud.short_calls.action", text, "alert", 0, 0,
              "what the call-back rule does: alert, throttle or suspend", check_action_setting},
  SettingSpec{"fraud.sources.max_addresses", integer, "4", 1, 1'000,
              "distinct source addresses one line may be registered from at once; more fires the sources rule at its next call"},
  SettingSpec{"fraud.sources.action", text, "alert", 0, 0,
              "what the sources rule does: alert, throttle or suspend", check_action_setting},
  SettingSpec{"fraud.scan_interval_s", integer, "60", 1, 3'600,
              "how often (seconds) the spend, hours and call-back rules scan the traffic records; read when serve starts"},
  SettingSpec{"fraud.alert_email", email, "fraud@localhost", 0, 0,
              "the operator's address that every fraud alert is sent to, beside the company's office managers"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kFraudSettings; }

}  // namespace privox::fraud
