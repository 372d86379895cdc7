// The settings traffic/ reads: the billing dispute period, after which raw traffic data is anonymised (store/settings.h).
#include "traffic/module.h"

#include <array>

namespace privox::traffic {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// clang-format off
constexpr std::array<SettingSpec, 1> kSettings = {
  SettingSpec{"retention.dispute_period_days", integer, "180", 1, 3650,
              "billing dispute period: raw traffic data is anonymised when it ends"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::traffic
