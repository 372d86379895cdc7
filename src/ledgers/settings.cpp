// The settings ledgers/ reads: the data controller's contact details, shown on the privacy notice (store/settings.h).
#include "ledgers/module.h"

#include <array>

namespace privox::ledgers {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// clang-format off
constexpr std::array<SettingSpec, 4> kSettings = {
  SettingSpec{"controller.name", text, "", 0, 0,
              "the data controller's legal name, shown on the privacy notice (P16)"},
  SettingSpec{"controller.address", text, "", 0, 0, "the data controller's postal address"},
  SettingSpec{"controller.email", email, "privacy@localhost", 0, 0,
              "where people write about their personal data and rights requests"},
  SettingSpec{"controller.phone", text, "", 0, 0, "the data controller's telephone number"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::ledgers
