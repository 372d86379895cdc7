#include "consent/consent.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "accounts/accounts.h"
#include "ledgers/notice.h"
#include "consent/optional_data.h"
#include "store/test_stores.h"

namespace privox::consent {
namespace {

class ConsentLedgerTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    ledger_ = std::make_unique<ConsentLedger>(*store_, keys_, clock_);
    accounts::Accounts accounts(*store_, keys_, clock_);
    auto company = accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    ASSERT_TRUE(company.ok()) << company.error().describe();
    auto member = accounts.add_member(*company,
                                      {{"name", "Ada Lovelace"}, {"email", "ada@example.org"},
                                       {"phone", "020 7946 0958"}, {"address", "1 High St"},
                                       {"birth_date", "1990-01-31"}, {"payment_token", "tok_abcdef"}},
                                      "cli:test");
    ASSERT_TRUE(member.ok()) << member.error().describe();
    member_ = *member;
  }

  Result<ConsentRecord> decide(const std::string& subject, ConsentPurpose purpose, bool given) {
    return ledger_->record({subject, purpose, given, ConsentMethod::form, "web", ledgers::notice_version()}, "cli:test");
  }

  int64_t count(const std::string& sql) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query(sql)->at(0).i64(0);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::unique_ptr<ConsentLedger> ledger_;
  std::string member_;
};

TEST_P(ConsentLedgerTest, TheLatestDecisionPerPurposeIsTheCurrentStateAndHistoryKeepsAll) {
  ASSERT_TRUE(decide(member_, ConsentPurpose::marketing_email, true).ok());
  ASSERT_TRUE(decide(member_, ConsentPurpose::marketing_sms, true).ok());
  // Same instant on purpose: the ledger must still order the withdrawal after the consent.
  auto withdrawn = decide(member_, ConsentPurpose::marketing_email, false);
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.error().describe();

  auto now = ledger_->current(member_);
  ASSERT_TRUE(now.ok()) << now.error().describe();
  ASSERT_EQ(now->size(), 2u);
  EXPECT_FALSE(now->at(ConsentPurpose::marketing_email).given);
  EXPECT_EQ(now->at(ConsentPurpose::marketing_email).id, withdrawn->id);
  EXPECT_TRUE(now->at(ConsentPurpose::marketing_sms).given);
  EXPECT_EQ(now->count(ConsentPurpose::location), 0u);

  {
    auto tx = store_->begin(store::TxMode::read);
    EXPECT_FALSE(*ledger_->holds(**tx, member_, ConsentPurpose::marketing_email));
    EXPECT_TRUE(*ledger_->holds(**tx, member_, ConsentPurpose::marketing_sms));
    EXPECT_FALSE(*ledger_->holds(**tx, member_, ConsentPurpose::location));
  }

  auto history = ledger_->history(member_);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_TRUE(history->at(0).given);
  EXPECT_EQ(history->at(2).id, withdrawn->id);
  EXPECT_EQ(history->at(2).notice_version, ledgers::notice_version());
  EXPECT_EQ(history->at(2).channel, "web");

  clock_.advance_us(1'000'000);
  ASSERT_TRUE(decide(member_, ConsentPurpose::marketing_email, true).ok());
  EXPECT_TRUE(ledger_->current(member_)->at(ConsentPurpose::marketing_email).given);
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_ledger"), 4);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action IN ('consent.give', 'consent.withdraw')"), 4);
}

TEST_P(ConsentLedgerTest, TheLedgerRefusesUpdateAndDeleteInTheDatabase) {
  ASSERT_TRUE(decide(member_, ConsentPurpose::marketing_email, true).ok());
  for (const char* sql : {"UPDATE consent_ledger SET decision = 'withdrawn'", "DELETE FROM consent_ledger"}) {
    const Status changed = store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
      PRIVOX_TRY(s.exec(sql));
      return {};
    });
    ASSERT_FALSE(changed.ok()) << sql;
    EXPECT_NE(changed.error().message.find("append-only"), std::string::npos) << changed.error().describe();
  }
  EXPECT_TRUE(ledger_->current(member_)->at(ConsentPurpose::marketing_email).given);
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_ledger"), 1);
}

TEST_P(ConsentLedgerTest, SubjectsHoldingIsTheAudienceOfAPurpose) {
  ASSERT_TRUE(decide("visitor-a", ConsentPurpose::marketing_email, true).ok());
  ASSERT_TRUE(decide("visitor-b", ConsentPurpose::marketing_email, true).ok());
  ASSERT_TRUE(decide("visitor-b", ConsentPurpose::marketing_email, false).ok());
  ASSERT_TRUE(decide("visitor-c", ConsentPurpose::marketing_email, false).ok());
  ASSERT_TRUE(decide("visitor-c", ConsentPurpose::marketing_email, true).ok());
  ASSERT_TRUE(decide("visitor-c", ConsentPurpose::marketing_email, true).ok());
  ASSERT_TRUE(decide("visitor-d", ConsentPurpose::marketing_sms, true).ok());

  auto audience = ledger_->subjects_holding(ConsentPurpose::marketing_email);
  ASSERT_TRUE(audience.ok()) << audience.error().describe();
  EXPECT_EQ(*audience, (std::vector<std::string>{"visitor-a", "visitor-c"}));
  EXPECT_EQ(*ledger_->subjects_holding(ConsentPurpose::marketing_sms), std::vector<std::string>{"visitor-d"});
  EXPECT_TRUE(ledger_->subjects_holding(ConsentPurpose::location)->empty());
}

TEST_P(ConsentLedgerTest, IncompleteDecisionsAreRefusedNamingTheField) {
  ConsentDecision d{member_, ConsentPurpose::location, true, ConsentMethod::staff, "cli", ledgers::notice_version()};
  d.subject_id = "";
  EXPECT_EQ(ledger_->record(d, "t").error().field, "subject");
  d.subject_id = member_;
  d.channel = "";
  EXPECT_EQ(ledger_->record(d, "t").error().field, "channel");
  d.channel = "cli";
  d.notice_version = "";
  EXPECT_EQ(ledger_->record(d, "t").error().field, "notice_version");
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_ledger"), 0);
  d.notice_version = ledgers::notice_version();
  auto ok = ledger_->record(d, "t");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(to_string(ok->method), "operator");
}

TEST_P(ConsentLedgerTest, WithdrawingDeletesTheOptionalDataInTheSameTransaction) {
  const OptionalData optional(*store_, keys_, clock_);
  const nlohmann::json contacts = nlohmann::json::array({{{"name", "Bob"}, {"number", "+442079460000"}}});
  ASSERT_TRUE(decide(member_, ConsentPurpose::contacts_sync, true).ok());
  ASSERT_TRUE(decide(member_, ConsentPurpose::location, true).ok());
  ASSERT_TRUE(optional.put(member_, OptionalKind::contacts, contacts, "mobile").ok());
  ASSERT_TRUE(optional.put(member_, OptionalKind::location, {{"lat", 51.5}, {"lon", -0.12}}, "mobile").ok());

  // The deletion is part of the withdrawal's transaction: when that rolls back, the data stays.
  const Status aborted = store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(ledger_->record(s, {member_, ConsentPurpose::contacts_sync, false, ConsentMethod::form, "web",
                                   ledgers::notice_version()},
                               "cli:test"));
    return make_error(ErrorCode::internal, "rolled back by the test");
  });
  ASSERT_FALSE(aborted.ok());
  EXPECT_EQ(count("SELECT COUNT(*) FROM optional_data WHERE contacts_enc IS NOT NULL"), 1);
  clock_.advance_us(1000);
  auto withdrawn = decide(member_, ConsentPurpose::contacts_sync, false);
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.error().describe();

  auto left = optional.list(member_, "mobile");
  ASSERT_TRUE(left.ok()) << left.error().describe();
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->at(0).kind, OptionalKind::location);
  EXPECT_EQ(count("SELECT COUNT(*) FROM optional_data WHERE contacts_enc IS NOT NULL"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'consent.withdraw' AND detail LIKE "
                  "'%optional_data_deleted\":true%'"),
            1);

  ASSERT_TRUE(decide(member_, ConsentPurpose::location, false).ok());
  EXPECT_EQ(count("SELECT COUNT(*) FROM optional_data"), 0);  // nothing left, not even the row
}

INSTANTIATE_TEST_SUITE_P(Backends, ConsentLedgerTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::consent
