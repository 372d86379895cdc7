#include "ledgers/notice.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>

#include "privacy/datamap.h"
#include "ledgers/disclosures.h"
#include "store/settings.h"
#include "store/test_stores.h"
#include "privacy/settings_change.h"

namespace privox::ledgers {
namespace {

class NoticeTest : public store::MigratedStoreTest {
 protected:
  void set(const std::string& key, const std::string& value) {
    const Status s = privacy::change_setting(*store_, keys_, clock_, key, value, "cli:test");
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
};

TEST(NoticeVersionTest, IsStableAndShaped) {
  const std::string v = notice_version();
  ASSERT_EQ(v.size(), 14u);
  EXPECT_EQ(v.substr(0, 2), "n-");
  EXPECT_EQ(v.find_first_not_of("0123456789abcdef", 2), std::string::npos);
  EXPECT_EQ(notice_version(), v);
}

TEST_P(NoticeTest, TheNoticeListsEveryPersonalFieldWithTheOperatorsPeriodsAndContact) {
  set("controller.name", "Shared Desks Ltd");
  set("controller.email", "dpo@shared-desks.example");
  set("retention.dispute_period_days", "90");
  auto notice = privacy_notice(*store_);
  ASSERT_TRUE(notice.ok()) << notice.error().describe();
  EXPECT_EQ((*notice)["controller"]["name"], "Shared Desks Ltd");
  EXPECT_EQ((*notice)["controller"]["email"], "dpo@shared-desks.example");
  EXPECT_EQ((*notice)["version"], notice_version());

  size_t fields = 0;
  bool saw_dispute_period = false;
  for (const auto& category : (*notice)["categories"])
    for (const auto& f : category["fields"]) {
      ++fields;
      if (f["field"] == "source")
        saw_dispute_period = f["retention"].get<std::string>().find("90 days") != std::string::npos;
    }
  EXPECT_EQ(fields, privacy::personal_fields().size());
  EXPECT_TRUE(saw_dispute_period);
  EXPECT_EQ((*notice)["recipients"].size(), std::size(kDisclosureKinds));
  EXPECT_NE((*notice)["rights"].dump().find("dpo@shared-desks.example"), std::string::npos);
  // Settings change what the notice says, not its version: the version follows the data map.
  set("retention.dispute_period_days", "120");
  EXPECT_EQ((*privacy_notice(*store_))["version"], notice_version());
}

// Issue 13 item 6: the notice once gave the login throttle, rate limits, pending confirmations,
// used payment tokens and SIP bans the call-log limits as their retention. Each field's period now
// renders from its own rule and the settings that govern its own data: call-log and voicemail
// limits appear for no field the log jobs do not limit, and each short-lived record says how
// short, with the operator's value.
TEST_P(NoticeTest, EachFieldsRetentionIsTheOneThatGovernsItsOwnData) {
  set("portal.login_window_minutes", "17");
  set("portal.lockout_minutes", "23");
  set("sip.ban_minutes", "11");
  auto notice = privacy_notice(*store_);
  ASSERT_TRUE(notice.ok()) << notice.error().describe();
  std::map<std::string, std::string> words;
  for (const auto& category : (*notice)["categories"])
    for (const auto& f : category["fields"]) words[f["field"]] = f["retention"];
  for (const privacy::FieldSpec& f : privacy::personal_fields()) {
    ASSERT_TRUE(words.count(std::string(f.name))) << f.name;
    const std::string& said = words[std::string(f.name)];
    EXPECT_FALSE(said.empty() || said == "?") << f.name;
    if (f.retention != privacy::RetentionRule::operator_limit)
      EXPECT_EQ(said.find("call log"), std::string::npos) << f.name << ": " << said;
  }
  EXPECT_NE(words["login_throttle_key"].find("17 minutes"), std::string::npos) << words["login_throttle_key"];
  EXPECT_NE(words["login_throttle_key"].find("23 minutes"), std::string::npos) << words["login_throttle_key"];
  EXPECT_NE(words["banned_source"].find("11 minutes"), std::string::npos) << words["banned_source"];
  EXPECT_NE(words["pending_confirmation"].find("24 hours"), std::string::npos) << words["pending_confirmation"];
  EXPECT_NE(words["used_payment_token"].find("90 days"), std::string::npos) << words["used_payment_token"];
  EXPECT_NE(words["rate_limit_key"].find("hour"), std::string::npos) << words["rate_limit_key"];
}

TEST_P(NoticeTest, TheRecordOfProcessingNamesControllerRecipientsTransfersAndMeasures) {
  set("controller.name", "Shared Desks Ltd");
  const DisclosureRegister reg(*store_, keys_, clock_);
  NewDisclosure transfer{"privox store in region us", DisclosureKind::region_transfer, {privacy::Category::identity_contact},
                         privacy::LegalBasis::contract, "", "standard contractual clauses", {}, ""};
  ASSERT_TRUE(reg.record(transfer, "t").ok());
  auto ropa = record_of_processing(*store_);
  ASSERT_TRUE(ropa.ok()) << ropa.error().describe();
  EXPECT_EQ((*ropa)["controller"]["name"], "Shared Desks Ltd");
  EXPECT_EQ((*ropa)["purposes"].size(), 6u);
  EXPECT_FALSE((*ropa)["security_measures"].empty());
  EXPECT_EQ((*ropa)["transfers"]["registered"].size(), 1u);
  EXPECT_EQ((*ropa)["transfers"]["registered"][0]["safeguard"], "standard contractual clauses");
  const std::string text = record_of_processing_text(*ropa);
  EXPECT_NE(text.find("Controller: Shared Desks Ltd"), std::string::npos);
  EXPECT_NE(text.find("standard contractual clauses"), std::string::npos);
  EXPECT_NE(text.find(notice_version()), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, NoticeTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::ledgers
