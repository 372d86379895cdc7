// The settings notify/ reads: the mail relay, the SMS sender number and the portal address links point to (store/settings.h).
#include "notify/module.h"

#include <fmt/format.h>

#include <array>

#include "numbers/e164.h"
#include "notify/mailer.h"

namespace privox::notify {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

Status check_relay(std::string_view value) { return check_smtp_url(value); }

// The proxy recognises a STOP reply by comparing the dialled number's digits with this one's, and
// carriers dial in E.164: so the number must be a valid one, written exactly in E.164.
Status check_sender_number(std::string_view value) {
  if (value.empty()) return {};  // no SMS campaigns
  if (!numbers::is_e164(value))
    return invalid("sms.sender_number",
                   fmt::format("'{}' is not a number in E.164 form (+ then country code and number, no spaces)", value));
  return {};
}

// Links in email are followed by people's browsers.
Status check_public_url(std::string_view value) {
  if (!value.starts_with("http://") && !value.starts_with("https://"))
    return invalid("portal.public_url", fmt::format("'{}' is not an http:// or https:// address", value));
  return {};
}

// clang-format off
constexpr std::array<SettingSpec, 4> kSettings = {
  SettingSpec{"mail.smtp_url", url, "smtp://127.0.0.1:25", 0, 0, "the mail relay privox sends email through",
              check_relay},
  SettingSpec{"mail.from", email, "privox@localhost", 0, 0, "the sender address of privox's email"},
  SettingSpec{"sms.sender_number", text, "", 0, 0,
              "the E.164 number marketing SMS come from and STOP replies go to; empty: no SMS campaigns",
              check_sender_number},
  SettingSpec{"portal.public_url", url, "http://127.0.0.1:8080", 0, 0,
              "the portal's address as people reach it, for links in email (unsubscribe, requests)",
              check_public_url},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::notify
