// The settings rights/ reads: the rights-request fee and identity checks (store/settings.h).
#include "rights/module.h"

#include <fmt/format.h>

#include <array>

#include "common/money.h"

namespace privox::rights {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// The fee is shown and charged in this currency: an ISO 4217 code, three capital letters.
Status check_currency(std::string_view value) {
  if (!is_currency_code(value))
    return invalid("rights.fee_currency", fmt::format("'{}' is not an ISO 4217 currency code (e.g. GBP, EUR, USD)", value));
  return {};
}

// clang-format off
constexpr std::array<SettingSpec, 5> kSettings = {
  SettingSpec{"rights.fee_minor_units", integer, "1000", 0, 100000,
              "administration fee for a further copy of a person's data, in minor units of rights.fee_currency "
              "(policy: GBP 10); the first copy is always free (UK GDPR Art. 12(5))"},
  SettingSpec{"rights.fee_currency", text, "GBP", 0, 0, "currency of the administration fee (ISO 4217)",
              check_currency},
  SettingSpec{"rights.code_ttl_minutes", integer, "30", 1, 1440,
              "how long an identity-check code sent by email stays valid"},
  SettingSpec{"rights.code_max_tries", integer, "5", 1, 20, "wrong codes allowed before a code is void"},
  SettingSpec{"rights.download_days", integer, "7", 1, 90,
              "days a member may download the copy of their data from the portal; the file is removed after"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::rights
