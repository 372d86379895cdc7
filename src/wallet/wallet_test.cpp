#include "wallet/wallet.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "rating/rate_table.h"
#include "store/test_stores.h"
#include "wallet/book.h"

namespace privox::wallet {
namespace {

constexpr int64_t kDay = 86'400'000'000;

TEST(WalletAmountsTest, AmountsAreReadAndShownExactly) {
  EXPECT_EQ(amount_text(12'500'000), "12.50");
  EXPECT_EQ(amount_text(16'000), "0.016");
  EXPECT_EQ(amount_text(-2'500'000), "-2.50");
  EXPECT_EQ(amount_text(0), "0.00");
  EXPECT_EQ(parse_signed_amount("25.00"), 25'000'000);
  EXPECT_EQ(parse_signed_amount("-0.5"), -500'000);
  for (const char* bad : {"", "-", "--1", "+1", "1.2345678", "abc", "1,00"})
    EXPECT_FALSE(parse_signed_amount(bad).has_value()) << bad;
  const int64_t noon = *parse_time("2026-11-10T12:00:00Z");
  EXPECT_EQ(day_start_us(noon), *parse_time("2026-11-10"));
  EXPECT_EQ(day_start_us(*parse_time("2026-11-10")), *parse_time("2026-11-10"));
}

// The set-up rules on an in-memory view: what the SIP worker decides without the store.
class WalletBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // US calls: 0.10 connection + 0.60/min in 60 s steps, so the first charge is 0.70 GBP; the
    // company's plan includes 44 (domestic unlimited), and 33 is priced in EUR.
    rates_ = rating::RateTable::build({{"deck-1",
                                        {rating::Rate{"1", "North America", 600'000, 100'000, 60, 60, "GBP", 0, 1},
                                         rating::Rate{"44", "United Kingdom", 10'000, 0, 60, 60, "GBP", 0, 2},
                                         rating::Rate{"33", "France", 10'000, 0, 60, 60, "EUR", 0, 3}}}},
                                      {{"co-1", {"44"}}});
    book_.set_debit_sink([this](Debit d) {
      posted_.push_back(std::move(d));
      return static_cast<uint64_t>(posted_.size());
    });
  }
  void view(int64_t balance, std::optional<int64_t> cap, int64_t spent, uint64_t debits_done = 0) {
    auto v = std::make_shared<WalletView>();
    v->day_start_us = day_start_us(now_);
    v->debits_done = debits_done;
    v->wallets["co-1"] = Wallet{"co-1", "GBP", balance, cap, spent};
    book_.replace(std::move(v));
  }
  std::optional<WalletBook::Refusal> admit(const std::string& record, std::string_view region, std::string_view e164) {
    return book_.admit(*rates_, record, "co-1", "GB", region, e164, now_);
  }

  std::shared_ptr<const rating::RateTable> rates_;
  WalletBook book_;
  std::vector<Debit> posted_;
  int64_t now_ = *parse_time("2026-11-10T12:00:00Z");
};

TEST_F(WalletBookTest, AnInternationalCallNeedsItsFirstChargeInTheBalance) {
  view(0, std::nullopt, 0);
  auto refused = admit("r1", "US", "+14155550123");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 402);
  EXPECT_EQ(refused->reason, "Payment Required: international balance too low");
  EXPECT_FALSE(admit("r2", "GB", "+442071239876").has_value()) << "domestic calls are not the wallet's";
  view(699'999, std::nullopt, 0);
  EXPECT_EQ(admit("r3", "US", "+14155550123")->status, 402) << "0.69 cannot pay 0.70";
  view(700'000, std::nullopt, 0);
  EXPECT_FALSE(admit("r4", "US", "+14155550123").has_value());
  EXPECT_EQ(admit("r5", "FR", "+33142270000")->status, 402) << "a EUR rate cannot draw on a GBP wallet";
  EXPECT_FALSE(admit("r6", "NZ", "+6495550123").has_value()) << "an unrated destination has nothing to draw on";
  EXPECT_EQ(book_.admitted(), 1u);
}

TEST_F(WalletBookTest, TheDailyCapRefusesACallThatWouldCrossIt) {
  view(10'000'000, 2'000'000, 1'300'000);
  EXPECT_FALSE(admit("r1", "US", "+14155550123").has_value()) << "1.30 + 0.70 reaches 2.00 exactly";
  view(10'000'000, 2'000'000, 1'300'001);
  auto refused = admit("r2", "US", "+14155550123");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(refused->reason, "Forbidden: daily spend cap reached");
  view(10'000'000, 0, 0);
  EXPECT_EQ(admit("r3", "US", "+14155550123")->status, 403) << "a cap of 0 refuses every international call";
  // Yesterday's spend does not count today.
  auto old = std::make_shared<WalletView>();
  old->day_start_us = day_start_us(now_) - kDay;
  old->wallets["co-1"] = Wallet{"co-1", "GBP", 10'000'000, 2'000'000, 2'000'000};
  book_.replace(std::move(old));
  EXPECT_FALSE(admit("r4", "US", "+14155550123").has_value());
}

TEST_F(WalletBookTest, AnEndedCallCountsAtOnceUntilTheViewHoldsItsDebit) {
  view(1'500'000, 3'000'000, 0);
  ASSERT_FALSE(admit("r1", "US", "+14155550123").has_value());
  book_.closed("r1", 1'300'000, "GBP");
  ASSERT_EQ(posted_.size(), 1u);
  EXPECT_EQ(posted_[0].traffic_record_id, "r1");
  EXPECT_EQ(posted_[0].company_id, "co-1");
  EXPECT_EQ(posted_[0].cost_micros, 1'300'000);
  EXPECT_EQ(admit("r2", "US", "+14155550123")->status, 402) << "1.50 - 1.30 left cannot pay 0.70";
  book_.closed("r1", 1'300'000, "GBP");
  book_.closed("never-admitted", 1'000, "GBP");
  EXPECT_EQ(posted_.size(), 1u) << "a call is handed over once, and only a wallet call";
  view(200'000, 3'000'000, 1'300'000, 1);  // the keeper's reload now holds debit 1
  EXPECT_EQ(admit("r3", "US", "+14155550123")->status, 402) << "still refused, counted once, not twice";
  view(5'000'000, 3'000'000, 1'300'000, 1);
  EXPECT_FALSE(admit("r4", "US", "+14155550123").has_value()) << "a top-up shows with the next view";
}

// The ledger in the store, on both backends.
class WalletStoreTest : public store::MigratedStoreTest {
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
  int64_t ledger_sum() {
    return count("SELECT coalesce(sum(amount_micros), 0) FROM wallet_ledger WHERE company_id = ?", {company_});
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{*parse_time("2026-11-10T12:00:00Z")};
  std::string company_;
};

TEST_P(WalletStoreTest, EveryBalanceChangeIsALedgerRowAndTheBalanceIsTheirSum) {
  auto first = top_up(*store_, keys_, clock_, company_, 25'000'000, "GBP", "cli:test");
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ(first->balance_after_micros, 25'000'000);
  ASSERT_TRUE(top_up(*store_, keys_, clock_, company_, 5'000'000, "", "cli:test").ok()) << "the wallet's currency";
  ASSERT_TRUE(adjust(*store_, keys_, clock_, company_, -2'500'000, "goodwill reversed", "cli:test").ok());
  auto debited = debit_call(*store_, keys_, clock_, Debit{"rec-1", company_, "GBP", 1'234'567}, "node:a");
  ASSERT_TRUE(debited.ok()) << debited.error().describe();
  EXPECT_TRUE(*debited);
  auto w = wallet_of(*store_, clock_, company_);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->currency, "GBP");
  EXPECT_EQ(w->balance_micros, 25'000'000 + 5'000'000 - 2'500'000 - 1'234'567);
  EXPECT_EQ(w->balance_micros, ledger_sum());
  EXPECT_EQ(w->spent_today_micros, 1'234'567);
  auto ledger = ledger_of(*store_, company_);
  ASSERT_TRUE(ledger.ok());
  ASSERT_EQ(ledger->size(), 4u);
  EXPECT_EQ(ledger->front().kind, "call");
  EXPECT_EQ(ledger->front().traffic_record_id, "rec-1");
  EXPECT_EQ(ledger->front().balance_after_micros, w->balance_micros);
  EXPECT_EQ(ledger->back().kind, "top_up");
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action IN ('wallet.top_up', 'wallet.adjust', 'wallet.debit') "
                  "AND purpose = 'billing'"),
            4);
  // Tomorrow, yesterday's calls no longer count against the cap.
  clock_.advance_us(kDay);
  EXPECT_EQ(wallet_of(*store_, clock_, company_)->spent_today_micros, 0);
}

TEST_P(WalletStoreTest, ACallIsDebitedOnceHoweverOftenItsDebitComes) {
  ASSERT_TRUE(top_up(*store_, keys_, clock_, company_, 10'000'000, "GBP", "cli:test").ok());
  const Debit debit{"rec-7", company_, "GBP", 700'000};
  EXPECT_TRUE(*debit_call(*store_, keys_, clock_, debit, "node:a"));
  EXPECT_FALSE(*debit_call(*store_, keys_, clock_, debit, "node:a"));
  EXPECT_FALSE(*debit_call(*store_, keys_, clock_, debit, "node:b"));
  EXPECT_EQ(wallet_of(*store_, clock_, company_)->balance_micros, 9'300'000);
  EXPECT_EQ(count("SELECT count(*) FROM wallet_ledger WHERE traffic_record_id = 'rec-7'"), 1);
  auto euros = debit_call(*store_, keys_, clock_, Debit{"rec-8", company_, "EUR", 1}, "node:a");
  ASSERT_FALSE(euros.ok());
  EXPECT_EQ(euros.error().field, "currency");
  EXPECT_EQ(ledger_sum(), 9'300'000);
}

TEST_P(WalletStoreTest, ABatchOfDebitsIsOneAuditEntryPerCompanyAndSkipsWhatItCannotPay) {
  accounts::Accounts accounts(*store_, keys_, clock_);
  const std::string other = *accounts.add_company({"Beta GmbH", "eea", "DE"}, "cli:test");
  ASSERT_TRUE(top_up(*store_, keys_, clock_, company_, 10'000'000, "GBP", "cli:test").ok());
  ASSERT_TRUE(top_up(*store_, keys_, clock_, other, 5'000'000, "EUR", "cli:test").ok());
  ASSERT_TRUE(*debit_call(*store_, keys_, clock_, Debit{"rec-0", company_, "GBP", 100'000}, "node:a"));
  const std::vector<Debit> batch = {{"rec-1", company_, "GBP", 1'000'000}, {"rec-2", other, "EUR", 250'000},
                                    {"rec-0", company_, "GBP", 100'000},   {"rec-3", company_, "USD", 9},
                                    {"rec-4", company_, "GBP", 500'000},   {"rec-1", company_, "GBP", 1'000'000},
                                    {"rec-5", other, "EUR", 0}};
  std::vector<DebitOutcome> outcomes;
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                PRIVOX_ASSIGN(outcomes, debit_calls(s, keys_, clock_, batch, "node:a"));
                return {};
              }).ok());
  using enum DebitOutcome;
  EXPECT_EQ(outcomes, (std::vector<DebitOutcome>{debited, debited, already_debited, other_currency, debited,
                                                  already_debited, not_positive}));
  EXPECT_EQ(wallet_of(*store_, clock_, company_)->balance_micros, 10'000'000 - 100'000 - 1'500'000);
  EXPECT_EQ(wallet_of(*store_, clock_, company_)->spent_today_micros, 1'600'000);
  EXPECT_EQ(ledger_sum(), 10'000'000 - 1'600'000);
  EXPECT_EQ(wallet_of(*store_, clock_, other)->balance_micros, 4'750'000);
  // The ledger rows run on in order, each balance after its own call.
  auto ledger = ledger_of(*store_, company_);
  ASSERT_EQ(ledger->size(), 4u);
  EXPECT_EQ(ledger->at(0).traffic_record_id, "rec-4");
  EXPECT_EQ(ledger->at(0).balance_after_micros, 8'400'000);
  EXPECT_EQ(ledger->at(1).traffic_record_id, "rec-1");
  EXPECT_EQ(ledger->at(1).balance_after_micros, 8'900'000);
  // One audit entry per company for the batch (plus the single debit before it), naming its rows.
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'wallet.debit'"), 3);
  auto tx = store_->begin(store::TxMode::read);
  auto rows = (*tx)->query("SELECT detail FROM audit_log WHERE action = 'wallet.debit' ORDER BY seq DESC");
  ASSERT_TRUE(rows.ok());
  bool found = false;
  for (const store::Row& r : *rows) {
    const nlohmann::json detail = nlohmann::json::parse(r.text(0));
    if (detail["company"] != company_ || detail["calls"] != 2) continue;
    found = true;
    EXPECT_EQ(detail["amount_micros"], -1'500'000);
    EXPECT_EQ(detail["ledger_seq_from"], 3);
    EXPECT_EQ(detail["ledger_seq_to"], 4);
  }
  EXPECT_TRUE(found) << "the batch's audit entry for " << company_;
}

TEST_P(WalletStoreTest, BadInputIsRefusedNamingWhatIsWrongAndChangesNothing) {
  auto no_currency = top_up(*store_, keys_, clock_, company_, 1'000'000, "", "cli:test");
  ASSERT_FALSE(no_currency.ok());
  EXPECT_EQ(no_currency.error().field, "currency");
  EXPECT_EQ(top_up(*store_, keys_, clock_, company_, 0, "GBP", "cli:test").error().field, "amount");
  EXPECT_EQ(top_up(*store_, keys_, clock_, company_, 1, "gbp", "cli:test").error().field, "currency");
  EXPECT_EQ(top_up(*store_, keys_, clock_, "no-such-company", 1, "GBP", "cli:test").error().code, ErrorCode::not_found);
  ASSERT_TRUE(top_up(*store_, keys_, clock_, company_, 1'000'000, "GBP", "cli:test").ok());
  EXPECT_EQ(top_up(*store_, keys_, clock_, company_, 1'000'000, "EUR", "cli:test").error().field, "currency");
  EXPECT_EQ(adjust(*store_, keys_, clock_, company_, 1, "", "cli:test").error().field, "note");
  EXPECT_EQ(adjust(*store_, keys_, clock_, company_, 0, "x", "cli:test").error().field, "amount");
  EXPECT_EQ(set_cap(*store_, keys_, clock_, company_, -1, "cli:test").error().field, "cap");
  EXPECT_EQ(ledger_sum(), 1'000'000);
  ASSERT_TRUE(set_cap(*store_, keys_, clock_, company_, 5'000'000, "cli:test").ok());
  EXPECT_EQ(wallet_of(*store_, clock_, company_)->daily_cap_micros, 5'000'000);
  ASSERT_TRUE(set_cap(*store_, keys_, clock_, company_, std::nullopt, "cli:test").ok());
  EXPECT_FALSE(wallet_of(*store_, clock_, company_)->daily_cap_micros.has_value());
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'wallet.cap_set'"), 2);
}

// The keeper writes the debits the book hands it and reloads the view the book reads.
TEST_P(WalletStoreTest, TheKeeperDebitsEndedCallsAndTheViewFollowsTheStore) {
  ASSERT_TRUE(top_up(*store_, keys_, clock_, company_, 1'000'000, "GBP", "cli:test").ok());
  ASSERT_TRUE(set_cap(*store_, keys_, clock_, company_, 1'500'000, "cli:test").ok());
  auto rates = rating::RateTable::build(
      {{"deck-1", {rating::Rate{"1", "North America", 600'000, 100'000, 60, 60, "GBP", 0, 1}}}}, {});
  WalletBook book;
  {
    WalletKeeper keeper(*store_, keys_, clock_, book, "node-a", 3'600'000'000);
    ASSERT_TRUE(keeper.start().ok());
    EXPECT_EQ(book.view()->wallets.at(company_).balance_micros, 1'000'000);
    ASSERT_FALSE(book.admit(*rates, "rec-1", company_, "GB", "US", "+14155550123", clock_.now_us()).has_value());
    book.closed("rec-1", 1'300'000, "GBP");  // two minutes: 0.10 + 1.20
    keeper.stop();                           // drains the debit
  }
  EXPECT_EQ(wallet_of(*store_, clock_, company_)->balance_micros, -300'000) << "a call in progress may over-run";
  EXPECT_EQ(ledger_sum(), -300'000);
  WalletKeeper reloader(*store_, keys_, clock_, book, "node-a");
  ASSERT_TRUE(reloader.refresh().ok());
  EXPECT_EQ(book.view()->wallets.at(company_).spent_today_micros, 1'300'000);
  EXPECT_EQ(book.admit(*rates, "rec-2", company_, "GB", "US", "+14155550123", clock_.now_us())->status, 402);
  ASSERT_TRUE(top_up(*store_, keys_, clock_, company_, 10'000'000, "", "cli:test").ok());
  ASSERT_TRUE(reloader.refresh().ok());
  EXPECT_EQ(book.admit(*rates, "rec-3", company_, "GB", "US", "+14155550123", clock_.now_us())->status, 403)
      << "funded now, but 1.30 + 0.70 passes the 1.50 cap";
}

INSTANTIATE_TEST_SUITE_P(Backends, WalletStoreTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::wallet
