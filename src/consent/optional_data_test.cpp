#include "consent/optional_data.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "accounts/accounts.h"
#include "ledgers/notice.h"
#include "store/test_stores.h"
#include "erasure/erasure.h"

namespace privox::consent {
namespace {

class OptionalDataTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts_ = std::make_unique<accounts::Accounts>(*store_, keys_, clock_);
    ledger_ = std::make_unique<ConsentLedger>(*store_, keys_, clock_);
    data_ = std::make_unique<OptionalData>(*store_, keys_, clock_);
    auto company = accounts_->add_company({"Acme Ltd", "eea", ""}, "cli:test");
    ASSERT_TRUE(company.ok()) << company.error().describe();
    auto member = accounts_->add_member(*company,
                                        {{"name", "Ada Lovelace"}, {"email", "ada@example.org"},
                                         {"phone", "020 7946 0958"}, {"address", "1 High St"},
                                         {"birth_date", "1990-01-31"}, {"payment_token", "tok_abcdef"}},
                                        "cli:test");
    ASSERT_TRUE(member.ok()) << member.error().describe();
    member_ = *member;
  }

  void consent(ConsentPurpose purpose, bool given) {
    clock_.advance_us(1000);
    auto r = ledger_->record({member_, purpose, given, ConsentMethod::form, "mobile", ledgers::notice_version()}, "mobile");
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::unique_ptr<accounts::Accounts> accounts_;
  std::unique_ptr<ConsentLedger> ledger_;
  std::unique_ptr<OptionalData> data_;
  std::string member_;
};

TEST_P(OptionalDataTest, DataIsAcceptedOnlyWhileItsConsentHolds) {
  const nlohmann::json contacts = nlohmann::json::array({{{"name", "Grace Hopper"}, {"number", "+15550100"}}});
  auto refused = data_->put(member_, OptionalKind::contacts, contacts, "mobile");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::conflict);
  EXPECT_EQ(refused.error().field, "consent");
  EXPECT_NE(refused.error().message.find("contacts_sync"), std::string::npos);

  consent(ConsentPurpose::contacts_sync, true);
  ASSERT_TRUE(data_->put(member_, OptionalKind::contacts, contacts, "mobile").ok());
  EXPECT_EQ(data_->put(member_, OptionalKind::location, {{"lat", 1}}, "mobile").error().field, "consent");

  auto items = data_->list(member_, "mobile");
  ASSERT_TRUE(items.ok()) << items.error().describe();
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ(items->at(0).kind, OptionalKind::contacts);
  EXPECT_EQ(items->at(0).value, contacts);
  EXPECT_EQ(items->at(0).updated_at_us, clock_.now_us());

  // Storing again replaces; the value never sits in the store in clear.
  const nlohmann::json newer = nlohmann::json::array({{{"name", "Katherine Johnson"}, {"number", "+15550111"}}});
  ASSERT_TRUE(data_->put(member_, OptionalKind::contacts, newer, "mobile").ok());
  EXPECT_EQ(data_->list(member_, "mobile")->at(0).value, newer);
  const std::string everything = test_store_->everything_stored(*store_, "UPDATE optional_data SET contacts_enc");
  EXPECT_EQ(everything.find("Katherine Johnson"), std::string::npos);
  EXPECT_EQ(everything.find("Grace Hopper"), std::string::npos);
}

TEST_P(OptionalDataTest, RemovingAndWithdrawingDeleteTheKind) {
  consent(ConsentPurpose::location, true);
  consent(ConsentPurpose::social_profile, true);
  ASSERT_TRUE(data_->put(member_, OptionalKind::location, {{"lat", 51.5}, {"lon", -0.1}}, "mobile").ok());
  ASSERT_TRUE(data_->put(member_, OptionalKind::social_profile, {{"network", "mastodon"}}, "mobile").ok());
  EXPECT_TRUE(*data_->remove(member_, OptionalKind::location, "mobile"));
  EXPECT_FALSE(*data_->remove(member_, OptionalKind::location, "mobile"));
  ASSERT_EQ(data_->list(member_, "mobile")->size(), 1u);
  consent(ConsentPurpose::social_profile, false);
  EXPECT_TRUE(data_->list(member_, "mobile")->empty());
  EXPECT_EQ(data_->put(member_, OptionalKind::social_profile, {{"network", "x"}}, "mobile").error().field, "consent");
}

TEST_P(OptionalDataTest, BadInputIsRefusedNamingTheField) {
  consent(ConsentPurpose::location, true);
  EXPECT_EQ(data_->put(member_, OptionalKind::location, "somewhere", "mobile").error().field, "value");
  EXPECT_EQ(data_->put(member_, OptionalKind::location, 42, "mobile").error().field, "value");
  nlohmann::json huge = nlohmann::json::array();
  for (int i = 0; i < 30'000; ++i) huge.push_back("0123456789");
  EXPECT_EQ(data_->put(member_, OptionalKind::location, huge, "mobile").error().field, "value");
  auto missing = data_->put("0190e2a1-0000-7000-8000-000000000000", OptionalKind::location, {{"lat", 1}}, "mobile");
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_EQ(missing.error().field, "member");

  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, member_, "cli:test", "test").ok());
  EXPECT_EQ(data_->list(member_, "mobile").error().code, ErrorCode::erased);
  EXPECT_EQ(parse_optional_kind("location"), OptionalKind::location);
  EXPECT_FALSE(parse_optional_kind("diary"));
  EXPECT_EQ(optional_kind_for(ConsentPurpose::contacts_sync), OptionalKind::contacts);
  EXPECT_FALSE(optional_kind_for(ConsentPurpose::marketing_email));
}

INSTANTIATE_TEST_SUITE_P(Backends, OptionalDataTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::consent
