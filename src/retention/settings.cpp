// The settings retention/ reads: the call-log and voicemail limits and the grace period of closed accounts and the notice period of closing companies (store/settings.h).
#include "retention/module.h"

#include <array>

namespace privox::retention {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// clang-format off
constexpr std::array<SettingSpec, 6> kSettings = {
  SettingSpec{"retention.call_log_max_entries", integer, "1000", 1, 1000000,
              "most call and message log entries a member sees; older ones leave the log"},
  SettingSpec{"retention.call_log_max_age_days", integer, "365", 1, 3650,
              "oldest call and message log entry a member sees, in days"},
  SettingSpec{"retention.voicemail_max_messages", integer, "100", 1, 10000, "most voicemails kept per mailbox"},
  SettingSpec{"retention.voicemail_max_age_days", integer, "30", 1, 3650, "oldest voicemail kept, in days"},
  SettingSpec{"retention.closed_account_grace_days", integer, "30", 0, 3650,
              "days after an account closes before its personal data is erased"},
  SettingSpec{"retention.company_closure_notice_days", integer, "30", 0, 365,
              "days between asking to close a company and the end of its phone service"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::retention
