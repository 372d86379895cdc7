// The settings ledgers/ reads: the data controller's contact details, shown on the privacy notice (store/settings.h).
#include "ledgers/module.h"

#include <fmt/format.h>

#include <array>

#include "numbers/e164.h"

namespace privox::ledgers {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// People dial it from anywhere, so it must be a number in international form; spaces and
// the like are kept as the operator wrote them, for reading.
Status check_controller_phone(std::string_view value) {
  if (value.empty()) return {};
  if (!numbers::is_possible_international(value))
    return invalid("controller.phone",
                   fmt::format("'{}' is not a phone number in international form (+CC ...)", value));
  return {};
}

// clang-format off
constexpr std::array<SettingSpec, 4> kSettings = {
  SettingSpec{"controller.name", text, "", 0, 0,
              "the data controller's legal name, shown on the privacy notice (P16)"},
  SettingSpec{"controller.address", text, "", 0, 0, "the data controller's postal address"},
  SettingSpec{"controller.email", email, "privacy@localhost", 0, 0,
              "where people write about their personal data and rights requests"},
  SettingSpec{"controller.phone", text, "", 0, 0, "the data controller's telephone number",
              check_controller_phone},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::ledgers
