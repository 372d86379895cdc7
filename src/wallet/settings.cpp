// The settings wallet/ reads: the bounds of one top-up an office manager makes from the portal
// (store/settings.h). The operator's own `privox wallet top-up` is not bounded by them.
#include <array>

#include "wallet/module.h"
#include "wallet/top_ups.h"

namespace privox::wallet {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// clang-format off
constexpr std::array<SettingSpec, 2> kWalletSettings = {
  SettingSpec{"wallet.top_up_min_micros", integer, "5000000", 1, 1'000'000'000'000,
              "the least one portal top-up of the international balance may be, in millionths of the wallet's currency (5.00)"},
  SettingSpec{"wallet.top_up_max_micros", integer, "500000000", 1, 1'000'000'000'000,
              "the most one portal top-up of the international balance may be, in millionths of the wallet's currency (500.00)"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kWalletSettings; }

}  // namespace privox::wallet
