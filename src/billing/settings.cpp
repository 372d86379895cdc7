// The settings billing/ reads: what a seat costs, the invoices' currency, the tax rate of each
// customer country, how long issued invoices are kept, when a failed charge is tried again and how often serve charges (store/settings.h).
#include <array>

#include "billing/charges.h"
#include "billing/invoices.h"
#include "billing/module.h"

namespace privox::billing {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

Status check_currency_setting(std::string_view value) {
  const bool ok = value.size() == 3 && std::all_of(value.begin(), value.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!ok) return invalid("billing.currency", "an ISO 4217 code of three capital letters, such as GBP");
  return {};
}

Status check_retry_days_setting(std::string_view value) {
  PRIVOX_TRY(parse_retry_days(value));
  return {};
}

Status check_tax_rates_setting(std::string_view value) {
  PRIVOX_TRY(parse_tax_rates(value));
  return {};
}

// clang-format off
constexpr std::array<SettingSpec, 6> kSettings = {
  SettingSpec{"billing.seat_price_micros", integer, "0", 0, 1'000'000'000'000,
              "what one phone line (seat) costs a month, in millionths of billing.currency"},
  SettingSpec{"billing.currency", text, "GBP", 0, 0,
              "the currency invoices are issued in (ISO 4217); rated calls in another currency are refused", check_currency_setting},
  SettingSpec{"billing.tax_rates", text, "", 0, 0,
              "tax rate per customer country in percent, such as GB:20,FR:20,US:0; a country without a rate cannot be invoiced",
              check_tax_rates_setting},
  SettingSpec{"billing.retention_years", integer, "6", 1, 30,
              "years an issued invoice or credit note is kept (legal obligation to keep accounting records)"},
  SettingSpec{"billing.charge_retry_days", text, "1,3,7", 0, 0,
              "days after each declined or failed charge of an invoice until the next try, such as 1,3,7; after the last the invoice is unpaid",
              check_retry_days_setting},
  SettingSpec{"billing.charge_interval_s", integer, "300", 1, 86'400,
              "seconds between the rounds of serve's charging job (due charges, their retries, refunds of credit notes, "
              "top-ups whose provider answer was lost); read when serve starts"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::billing
