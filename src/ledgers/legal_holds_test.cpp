#include "ledgers/legal_holds.h"

#include <gtest/gtest.h>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "store/test_stores.h"

namespace privox::ledgers {
namespace {

class LegalHoldsTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    holds_ = std::make_unique<LegalHolds>(*store_, keys_, clock_);
    accounts::Accounts accounts(*store_, keys_, clock_);
    auto company = accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    ASSERT_TRUE(company.ok()) << company.error().describe();
    company_ = *company;
    auto member = accounts.add_member(company_,
                                      {{"name", "Ada Lovelace"}, {"email", "ada@example.org"},
                                       {"phone", "020 7946 0958"}, {"address", "1 High St"},
                                       {"birth_date", "1990-01-31"}, {"payment_token", "tok_abcdef"}},
                                      "cli:test");
    ASSERT_TRUE(member.ok()) << member.error().describe();
    member_ = *member;
  }

  bool held(const std::string& subject) {
    auto tx = store_->begin(store::TxMode::read);
    auto r = LegalHolds::is_held(**tx, subject);
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r.ok() && *r;
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::unique_ptr<LegalHolds> holds_;
  std::string company_, member_;
};

TEST_P(LegalHoldsTest, AHoldCoversTheMemberAndTheirLinesUntilReleased) {
  accounts::Extensions extensions(*store_, keys_, clock_);
  auto line = extensions.add_extension({company_, "201", "correct-horse-9", member_, std::nullopt}, "cli:test");
  ASSERT_TRUE(line.ok()) << line.error().describe();
  EXPECT_FALSE(held(member_));
  EXPECT_FALSE(held(*line));

  auto first = holds_->place(member_, "Smith v Acme, High Court", "HC-2026-000114", "cli:legal");
  ASSERT_TRUE(first.ok()) << first.error().describe();
  clock_.advance_us(1000);
  auto second = holds_->place(member_, "regulator's inquiry", "", "cli:legal");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(held(member_));
  EXPECT_TRUE(held(*line));
  {
    auto tx = store_->begin(store::TxMode::read);
    EXPECT_EQ(*LegalHolds::held_members(**tx), std::vector<std::string>{member_});
  }

  ASSERT_TRUE(holds_->release(*first, "cli:legal").ok());
  EXPECT_TRUE(held(member_));  // the second hold still covers them
  auto again = holds_->release(*first, "cli:legal");
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  ASSERT_TRUE(holds_->release(*second, "cli:legal").ok());
  EXPECT_FALSE(held(member_));
  EXPECT_FALSE(held(*line));

  EXPECT_TRUE(holds_->list()->empty());
  auto all = holds_->list(true);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at(0).reference, "HC-2026-000114");
  EXPECT_EQ(all->at(0).released_by, "cli:legal");
  EXPECT_TRUE(all->at(0).released_at_us.has_value());
  auto tx = store_->begin(store::TxMode::read);
  EXPECT_EQ((*tx)->query("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'legal_hold.%'")->at(0).i64(0), 4);
}

TEST_P(LegalHoldsTest, BadInputIsRefusedNamingTheField) {
  EXPECT_EQ(holds_->place(member_, "", "", "t").error().field, "reason");
  EXPECT_EQ(holds_->place(member_, std::string(501, 'x'), "", "t").error().field, "reason");
  EXPECT_EQ(holds_->place(member_, "case", std::string(201, 'x'), "t").error().field, "reference");
  auto stranger = holds_->place("0190e2a1-0000-7000-8000-000000000000", "case", "", "t");
  EXPECT_EQ(stranger.error().code, ErrorCode::not_found);
  EXPECT_EQ(stranger.error().field, "member");
  auto missing = holds_->release("0190e2a1-0000-7000-8000-000000000000", "t");
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_EQ(missing.error().field, "id");
  EXPECT_TRUE(holds_->list(true)->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, LegalHoldsTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::ledgers
