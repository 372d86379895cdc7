#include "wallet/top_ups.h"

#include <gtest/gtest.h>

#include "accounts/accounts.h"
#include "store/test_stores.h"
#include "wallet/wallet.h"

namespace privox::wallet {
namespace {

constexpr TopUpLimits kLimits{5'000'000, 500'000'000};

// Card top-ups in the store, on both backends: the provider's part is the caller's (portal/).
class TopUpStoreTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    auto id = accounts.add_company({"Acme Ltd", "eea", "GB"}, "cli:test");
    ASSERT_TRUE(id.ok()) << id.error().describe();
    company_ = *id;
  }
  int64_t count(const std::string& sql, const store::Params& params = {}) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query(sql, params)->at(0).i64(0);
  }
  Result<BegunTopUp> begin(const std::string& key, int64_t amount, const std::string& currency = "GBP") {
    return begin_top_up(*store_, keys_, clock_, kLimits, company_, key, amount, currency, "tok_card_1", "member-1");
  }
  int64_t balance() { return wallet_of(*store_, clock_, company_)->balance_micros; }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{*parse_time("2026-11-10T12:00:00Z")};
  std::string company_;
};

TEST_P(TopUpStoreTest, ATopUpIsPendingBeforeTheChargeAndCreditedOnceHoweverOftenItIsConfirmed) {
  auto begun = begin("key-1", 25'000'000);
  ASSERT_TRUE(begun.ok()) << begun.error().describe();
  EXPECT_TRUE(begun->fresh);
  EXPECT_EQ(begun->top_up.state, "pending");
  EXPECT_EQ(provider_key(begun->top_up), "wallet-top-up-" + begun->top_up.id);
  EXPECT_EQ(balance(), 0) << "nothing is credited before the provider answers";
  // A double submit finds the same top-up, so the provider is sent the same key.
  auto again = begin("key-1", 25'000'000);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->fresh);
  EXPECT_EQ(again->top_up.id, begun->top_up.id);
  // The card it was sent with is kept, sealed, for a retry, and only while it is pending.
  EXPECT_EQ(*sent_card_token(*store_, keys_, begun->top_up.id), "tok_card_1");
  EXPECT_EQ(count("SELECT count(*) FROM wallet_top_ups WHERE card_token_sealed IS NOT NULL"), 1);
  // Two confirmations (two racing submits, or a retry after a lost answer) credit once.
  auto credited = credit_top_up(*store_, keys_, clock_, begun->top_up.id, "ch_1", "member-1");
  ASSERT_TRUE(credited.ok()) << credited.error().describe();
  EXPECT_EQ(credited->state, "succeeded");
  EXPECT_EQ(credited->provider_reference, "ch_1");
  EXPECT_FALSE(credited->ledger_entry_id.empty());
  auto twice = credit_top_up(*store_, keys_, clock_, begun->top_up.id, "ch_1", "member-1");
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->ledger_entry_id, credited->ledger_entry_id);
  EXPECT_EQ(balance(), 25'000'000);
  EXPECT_EQ(*sent_card_token(*store_, keys_, begun->top_up.id), "") << "dropped once it has ended";
  EXPECT_EQ(count("SELECT count(*) FROM wallet_ledger WHERE company_id = ? AND kind = 'top_up'", {company_}), 1);
  auto ledger = ledger_of(*store_, company_);
  ASSERT_EQ(ledger->size(), 1u);
  EXPECT_EQ(ledger->front().id, credited->ledger_entry_id);
  EXPECT_EQ(ledger->front().currency, "GBP") << "the first top-up sets the wallet's currency";
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action IN ('wallet.top_up_requested', 'wallet.top_up', "
                  "'wallet.top_up_charged') AND purpose = 'billing'"),
            3);
  // A key already used stays that top-up; a new key is a new top-up.
  EXPECT_EQ(begin("key-1", 25'000'000)->top_up.state, "succeeded");
  EXPECT_TRUE(begin("key-2", 25'000'000)->fresh);
}

TEST_P(TopUpStoreTest, ADeclinedTopUpCreditsNothingAndStaysDeclined) {
  auto begun = begin("key-d", 10'000'000);
  ASSERT_TRUE(begun.ok());
  auto declined = end_top_up(*store_, keys_, clock_, begun->top_up.id, "declined", "your card was declined", "member-1");
  ASSERT_TRUE(declined.ok()) << declined.error().describe();
  EXPECT_EQ(declined->state, "declined");
  EXPECT_EQ(declined->message, "your card was declined");
  auto late = credit_top_up(*store_, keys_, clock_, begun->top_up.id, "ch_x", "member-1");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::conflict);
  EXPECT_EQ(balance(), 0);
  EXPECT_EQ(count("SELECT count(*) FROM wallet_ledger WHERE company_id = ?", {company_}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'wallet.top_up_declined'"), 1);
  EXPECT_EQ(end_top_up(*store_, keys_, clock_, begun->top_up.id, "paid", "", "member-1").error().field, "state");
}

TEST_P(TopUpStoreTest, APendingTopUpIsFoundForItsRetry) {
  auto first = begin("key-p1", 6'000'000);
  clock_.advance_us(60'000'000);
  auto second = begin("key-p2", 7'000'000);
  ASSERT_TRUE(first.ok() && second.ok());
  auto stale = pending_top_ups(*store_, company_, clock_.now_us() - 30'000'000);
  ASSERT_TRUE(stale.ok());
  ASSERT_EQ(stale->size(), 1u) << "only those begun before the cut-off";
  EXPECT_EQ(stale->front().id, first->top_up.id);
  ASSERT_EQ(all_pending_top_ups(*store_, clock_.now_us() - 30'000'000, 10)->size(), 1u);
  ASSERT_EQ(all_pending_top_ups(*store_, clock_.now_us(), 1)->size(), 1u) << "at most the limit";
  ASSERT_TRUE(credit_top_up(*store_, keys_, clock_, first->top_up.id, "ch_p1", "job").ok());
  EXPECT_EQ(pending_top_ups(*store_, company_, clock_.now_us())->size(), 1u);
  EXPECT_EQ(all_pending_top_ups(*store_, clock_.now_us(), 10)->front().id, second->top_up.id);
  EXPECT_EQ(balance(), 6'000'000);
}

TEST_P(TopUpStoreTest, BadInputIsRefusedNamingTheFieldAndWritesNothing) {
  EXPECT_EQ(begin("", 10'000'000).error().field, "Idempotency-Key");
  EXPECT_EQ(begin("bad key!", 10'000'000).error().field, "Idempotency-Key");
  EXPECT_EQ(begin(std::string(101, 'k'), 10'000'000).error().field, "Idempotency-Key");
  auto small = begin("key-s", 4'999'999);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error().field, "amount");
  EXPECT_NE(small.error().message.find("5.00 to 500.00 GBP"), std::string::npos) << small.error().message;
  EXPECT_EQ(begin("key-b", 500'000'001).error().field, "amount");
  EXPECT_EQ(begin("key-c", 10'000'000, "").error().field, "currency");
  EXPECT_EQ(begin_top_up(*store_, keys_, clock_, kLimits, "no-such-company", "key-n", 10'000'000, "GBP", "tok", "m")
                .error()
                .code,
            ErrorCode::not_found);
  EXPECT_EQ(count("SELECT count(*) FROM wallet_top_ups"), 0);
  ASSERT_TRUE(begin("key-r", 10'000'000).ok());
  auto reused = begin("key-r", 20'000'000);
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, ErrorCode::conflict);
  EXPECT_EQ(reused.error().field, "Idempotency-Key");
  EXPECT_EQ(count("SELECT count(*) FROM wallet_top_ups"), 1);
}

TEST_P(TopUpStoreTest, TheLimitsAreTheOperatorsSettings) {
  store::Settings settings(*store_);
  auto limits = top_up_limits(settings);
  ASSERT_TRUE(limits.ok()) << limits.error().describe();
  EXPECT_EQ(limits->min_micros, 5'000'000);
  EXPECT_EQ(limits->max_micros, 500'000'000);
}

INSTANTIATE_TEST_SUITE_P(Backends, TopUpStoreTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::wallet
