// The settings portal/ reads: login throttling and session lengths (store/settings.h).
#include "portal/module.h"

#include <array>

namespace privox::portal {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// clang-format off
constexpr std::array<SettingSpec, 5> kSettings = {
  SettingSpec{"portal.login_max_failures", integer, "5", 1, 100,
              "failed portal logins allowed per account and per client address in one window before a lock-out "
              "(read when privox serve starts)"},
  SettingSpec{"portal.login_window_minutes", integer, "15", 1, 1440,
              "the window failed portal logins are counted in (read when privox serve starts)"},
  SettingSpec{"portal.lockout_minutes", integer, "15", 1, 1440,
              "how long a portal lock-out lasts (read when privox serve starts)"},
  SettingSpec{"portal.session_idle_minutes", integer, "30", 1, 1440,
              "a portal session unused this long ends (read when privox serve starts)"},
  SettingSpec{"portal.session_max_hours", integer, "12", 1, 168,
              "a portal session ends this long after login however it is used (read when privox serve starts)"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::portal
