// The settings portal/ reads: login throttling, session lengths and rate limits (store/settings.h),
// and the plan a new company is offered, which sign-up shows before it asks for a card.
#include "portal/module.h"

#include <fmt/format.h>

#include <array>

#include "common/money.h"

namespace privox::portal {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

Status check_plan_currency(std::string_view value) {
  if (!is_currency_code(value))
    return invalid("plan.currency", fmt::format("'{}' is not an ISO 4217 currency code (e.g. GBP, EUR, USD)", value));
  return {};
}

// clang-format off
constexpr std::array<SettingSpec, 15> kSettings = {
  SettingSpec{"portal.login_max_failures", integer, "5", 1, 100,
              "failed portal logins one client (address, IPv6 /64) may make at one account before each further "
              "try waits, 1 s after the first, doubling with each failure; other clients are not slowed "
              "(read when privox serve starts)"},
  SettingSpec{"portal.login_window_minutes", integer, "15", 1, 1440,
              "each this long without a failure (once past its delay) takes one failure off a client's count at "
              "an account (read when privox serve starts)"},
  SettingSpec{"portal.lockout_minutes", integer, "15", 1, 1440,
              "the longest delay between one client's tries at one account (read when privox serve starts)"},
  SettingSpec{"portal.session_idle_minutes", integer, "30", 1, 1440,
              "a portal session unused this long ends (read when privox serve starts)"},
  SettingSpec{"portal.session_max_hours", integer, "12", 1, 168,
              "a portal session ends this long after login however it is used (read when privox serve starts)"},
  SettingSpec{"portal.signups_per_hour", integer, "10", 1, 100000,
              "sign-ups one client address may attempt in an hour (read when privox serve starts)"},
  SettingSpec{"portal.consent_writes_per_hour", integer, "30", 1, 100000,
              "consent decisions one visitor address, or one member, may record in an hour (read when privox serve "
              "starts)"},
  SettingSpec{"portal.password_resets_per_hour", integer, "10", 1, 100000,
              "forgotten-password emails one client address may ask for in an hour (read when privox serve starts)"},
  SettingSpec{"portal.password_resets_per_email_per_hour", integer, "3", 1, 1000,
              "forgotten-password emails one address may be sent in an hour, whoever asks (read when privox serve "
              "starts)"},
  SettingSpec{"portal.invites_per_hour", integer, "50", 1, 100000,
              "invitations one company's office managers may send in an hour (read when privox serve starts)"},
  SettingSpec{"portal.identity_codes_per_hour", integer, "5", 1, 100,
              "new identity-check codes one member may ask to be sent for their rights requests in an hour; each "
              "is an email to them (read when privox serve starts)"},
  SettingSpec{"plan.name", text, "Office", 0, 0, "the name of the plan sign-up offers a new company"},
  SettingSpec{"plan.line_price_minor_units", integer, "1995", 0, 10000000,
              "the plan's price per line per month, in minor units of plan.currency, shown before sign-up asks "
              "for a card"},
  SettingSpec{"plan.currency", text, "GBP", 0, 0, "currency of the plan's price (ISO 4217)", check_plan_currency},
  SettingSpec{"plan.summary", text, "Calls between your company's lines are free. Prices exclude tax.", 0, 0,
              "one or two sentences under the plan's price on the landing and sign-up pages"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::portal
