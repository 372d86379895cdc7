// The settings portal/ reads: login throttling, session lengths and rate limits (store/settings.h).
#include "portal/module.h"

#include <array>

namespace privox::portal {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// clang-format off
constexpr std::array<SettingSpec, 10> kSettings = {
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
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::portal
