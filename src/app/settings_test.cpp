// Every setting refuses, when it is set, a value the service could not use later (issue: settings
// that accept what the service cannot use). The rules are each folder's own (their settings.cpp);
// this walks the installed catalogue, so a setting that loses its rule fails here.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "store/settings.h"

namespace privox::app {
namespace {

struct Cases {
  std::vector<std::string> good, bad;
};

// For each setting whose kind alone is not enough: values it must take, and values it must refuse.
const std::map<std::string, Cases>& cases() {
  static const std::map<std::string, Cases> all = {
      {"sms.sender_number", {{"", "+447700900123", "+14155550123"},
                             {"07700900123", "+44 7700 900123", "447700900123", "+4477009", "+999123456789"}}},
      {"mail.smtp_url", {{"smtp://127.0.0.1:25", "smtps://relay.example:465"},
                         {"http://relay.example", "ftp://relay.example", "relay.example:25"}}},
      {"portal.public_url", {{"http://127.0.0.1:8080", "https://portal.example"},
                             {"smtp://portal.example", "javascript://alert(1)"}}},
      {"controller.phone", {{"", "+442079460000", "+44 20 7946 0000"}, {"020 7946 0000", "+44 20", "call us"}}},
      {"rights.fee_currency", {{"GBP", "EUR", "USD"}, {"gbp", "£", "POUNDS", "GB"}}},
  };
  return all;
}

TEST(SettingRulesTest, EachSettingRefusesAtSetTimeWhatItsServiceCannotUse) {
  for (const auto& [key, c] : cases()) {
    const store::SettingSpec* spec = store::find_setting(key);
    ASSERT_NE(spec, nullptr) << key;
    for (const std::string& value : c.good)
      EXPECT_TRUE(store::check_setting(*spec, value).ok()) << key << " = '" << value << "' should be accepted";
    for (const std::string& value : c.bad) {
      const Status s = store::check_setting(*spec, value);
      ASSERT_FALSE(s.ok()) << key << " = '" << value << "' should be refused";
      EXPECT_EQ(s.error().field, key) << "the error names the setting";
    }
  }
}

TEST(SettingRulesTest, EveryDefaultPassesItsOwnRule) {
  for (const store::SettingSpec* spec : store::setting_specs())
    EXPECT_TRUE(store::check_setting(*spec, spec->default_value).ok()) << spec->key;
}

}  // namespace
}  // namespace privox::app
