// The settings notify/ reads: the mail relay, the SMS sender number and the portal address links point to (store/settings.h).
#include "notify/module.h"

#include <array>

namespace privox::notify {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// clang-format off
constexpr std::array<SettingSpec, 4> kSettings = {
  SettingSpec{"mail.smtp_url", url, "smtp://127.0.0.1:25", 0, 0, "the mail relay privox sends email through"},
  SettingSpec{"mail.from", email, "privox@localhost", 0, 0, "the sender address of privox's email"},
  SettingSpec{"sms.sender_number", text, "", 0, 0,
              "the E.164 number marketing SMS come from and STOP replies go to; empty: no SMS campaigns"},
  SettingSpec{"portal.public_url", url, "http://127.0.0.1:8080", 0, 0,
              "the portal's address as people reach it, for links in email (unsubscribe, requests)"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::notify
