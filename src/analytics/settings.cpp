// The settings analytics/ reads: the smallest cell an aggregate may release (store/settings.h).
#include "analytics/module.h"

#include <array>

namespace privox::analytics {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// clang-format off
constexpr std::array<SettingSpec, 1> kSettings = {
  SettingSpec{"analytics.min_cell_size", integer, "5", 2, 1000,
              "k: the fewest people an aggregate cell may count before it is suppressed (P8)"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::analytics
