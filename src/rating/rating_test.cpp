#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "accounts/accounts.h"
#include "common/clock.h"
#include "numbers/e164.h"
#include "rating/deck.h"
#include "rating/rate_table.h"
#include "rating/store.h"
#include "store/test_stores.h"

namespace privox::rating {
namespace {

int64_t at(const char* date) { return *parse_time(date); }

Rate rate(std::string prefix, int64_t per_minute, int32_t first, int32_t next, const char* from = "2026-01-01") {
  return Rate{std::move(prefix), "", per_minute, 0, first, next, "GBP", at(from), 0};
}

TEST(DeckTest, ADeckIsReadWithItsHeaderAQuotedDescriptionAndExactAmounts) {
  auto deck = parse_deck_csv(
      "prefix,description,price_per_minute,connection_fee,increments,currency,valid_from\n"
      "44,\"United Kingdom, fixed\",0.0125,0,60/60,GBP,2026-01-01\r\n"
      "\n"
      "+447,UK mobile,0.08,0.015,30/6,GBP,2026-01-01\n"
      "1800,US toll free,0,0,1/1,USD,2026-02-01\n");
  ASSERT_TRUE(deck.ok()) << deck.error().describe();
  ASSERT_EQ(deck->size(), 3u);
  EXPECT_EQ((*deck)[0].description, "United Kingdom, fixed");
  EXPECT_EQ((*deck)[0].price_per_minute_micros, 12'500);
  EXPECT_EQ((*deck)[1].prefix, "447") << "a leading + is dropped";
  EXPECT_EQ((*deck)[1].connection_fee_micros, 15'000);
  EXPECT_EQ((*deck)[1].first_increment_s, 30);
  EXPECT_EQ((*deck)[1].next_increment_s, 6);
  EXPECT_EQ((*deck)[1].line, 4u);
  EXPECT_EQ((*deck)[2].valid_from_us, at("2026-02-01"));
}

TEST(DeckTest, AMalformedDeckIsRefusedWholeNamingTheLine) {
  const std::string good = "44,UK,0.01,0,60/60,GBP,2026-01-01\n";
  const std::pair<std::string, std::string> cases[] = {
      {good + "4a4,UK,0.01,0,60/60,GBP,2026-01-01\n", "line 2: prefix \"4a4\""},
      {good + "0044,UK,0.01,0,60/60,GBP,2026-01-01\n", "line 2: prefix"},
      {good + "45,DK,-0.01,0,60/60,GBP,2026-01-01\n", "line 2: price_per_minute \"-0.01\""},
      {good + "45,DK,0.0000001,0,60/60,GBP,2026-01-01\n", "line 2: price_per_minute"},
      {good + "45,DK,0.01,x,60/60,GBP,2026-01-01\n", "line 2: connection_fee"},
      {good + "45,DK,0.01,0,60,GBP,2026-01-01\n", "line 2: increments"},
      {good + "45,DK,0.01,0,0/60,GBP,2026-01-01\n", "line 2: increments"},
      {good + "45,DK,0.01,0,60/60,pounds,2026-01-01\n", "line 2: currency"},
      {good + "45,DK,0.01,0,60/60,GBP,2026-02-30\n", "line 2: valid_from"},
      {good + "45,DK,0.01,0,60/60,GBP\n", "line 2: 6 fields"},
      {good + "45,\"DK,0.01,0,60/60,GBP,2026-01-01\n", "line 2: a quoted field"},
      {good + good, "line 2: prefix 44 is priced twice"},
      {"", "no rate"},
  };
  for (const auto& [csv, expected] : cases) {
    auto deck = parse_deck_csv(csv);
    ASSERT_FALSE(deck.ok()) << csv;
    EXPECT_EQ(deck.error().field, "deck");
    EXPECT_NE(deck.error().message.find(expected), std::string::npos) << deck.error().message;
  }
}

TEST(DeckTest, EveryIncrementRuleBillsAsCarriersDo) {
  const Rate per_minute = rate("44", 600'000, 60, 60);  // 0.60 a minute: a cent a second
  EXPECT_EQ(billed_seconds(per_minute, 0), 0) << "never answered: nothing";
  EXPECT_EQ(billed_seconds(per_minute, 1), 60);
  EXPECT_EQ(billed_seconds(per_minute, 60'000), 60);
  EXPECT_EQ(billed_seconds(per_minute, 60'001), 120);
  const Rate thirty_six = rate("44", 600'000, 30, 6);
  EXPECT_EQ(billed_seconds(thirty_six, 5'000), 30);
  EXPECT_EQ(billed_seconds(thirty_six, 31'000), 36);
  EXPECT_EQ(billed_seconds(thirty_six, 36'500), 42);
  const Rate per_second = rate("44", 600'000, 1, 1);
  EXPECT_EQ(billed_seconds(per_second, 61'200), 62) << "a started second counts";
  EXPECT_EQ(cost_micros(per_second, 61'200), 620'000);
  Rate with_fee = per_minute;
  with_fee.connection_fee_micros = 50'000;
  EXPECT_EQ(cost_micros(with_fee, 61'000), 50'000 + 1'200'000);
  EXPECT_EQ(cost_micros(with_fee, 0), 0) << "no connection fee for a call never answered";
  EXPECT_EQ(cost_micros(rate("44", 12'500, 1, 1), 1'000), 208) << "0.0125/60 = 208.33 micro-units, rounded";
  EXPECT_EQ(micros_to_minor(16'000), 2) << "0.016 is 2 pence, rounded half up";
}

TEST(RateTableTest, TheLongestPrefixValidAtTheCallsStartWins) {
  const auto table = RateTable::build(
      {{"deck-a", {rate("1", 10'000, 60, 60), rate("44", 20'000, 60, 60), rate("447", 80'000, 60, 60),
                   rate("4479", 150'000, 60, 60)}},
       {"deck-b", {rate("447", 90'000, 60, 60, "2026-06-01"), rate("1800", 0, 60, 60)}}},
      {{"co-1", {"44"}}});
  std::string_view deck;
  const Rate* r = table->find("+447911123456", at("2026-03-01"), &deck);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->prefix, "4479") << "overlapping prefixes: the longest";
  EXPECT_EQ(deck, "deck-a");
  r = table->find("+447711123456", at("2026-03-01"), &deck);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->price_per_minute_micros, 80'000) << "before the deck change";
  r = table->find("+447711123456", at("2026-07-01"), &deck);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->price_per_minute_micros, 90'000) << "after it";
  EXPECT_EQ(deck, "deck-b");
  EXPECT_EQ(table->find("+18005550100", at("2026-03-01"))->prefix, "1800");
  EXPECT_EQ(table->find("+14155550100", at("2026-03-01"))->prefix, "1");
  EXPECT_EQ(table->find("+33123456789", at("2026-03-01")), nullptr) << "no rate";
  EXPECT_EQ(table->find("+447711123456", at("2025-12-31")), nullptr) << "before any deck was valid";
  const Priced included = table->price("co-1", "+442079460958", at("2026-03-01"), 60'000);
  EXPECT_TRUE(included.included);
  EXPECT_EQ(included.cost_micros, 0);
  const Priced rated = table->price("co-2", "+442079460958", at("2026-03-01"), 60'000);
  EXPECT_FALSE(rated.included) << "another company's plan is not this one's";
  EXPECT_EQ(rated.cost_micros, 20'000);
}

TEST(RateTableTest, ACompanyCallsItsOwnCountryOnlyUntilItAllowsMoreAndNeverPremiumRateUnlessAllowed) {
  const auto table = RateTable::build({}, {}, {{"co-open", {{"FR", "DE"}, false}}, {"co-any", {{"*"}, true}}});
  EXPECT_FALSE(table->refusal("co-none", "GB", "GB", false, "+442079460958")) << "its own country";
  const auto abroad = table->refusal("co-none", "GB", "FR", false, "+33140000000");
  ASSERT_TRUE(abroad) << "by default, nowhere else";
  EXPECT_EQ(*abroad, "calls to FR are not allowed for this company");
  EXPECT_TRUE(table->refusal("co-none", "GB", "GB", true, "+449098790000")) << "premium rate, even at home";
  EXPECT_TRUE(table->refusal("co-none", "GB", "", false, "+999")) << "a destination nobody can place";
  EXPECT_FALSE(table->refusal("co-open", "GB", "FR", false, "+33140000000"));
  EXPECT_TRUE(table->refusal("co-open", "GB", "CU", false, "+5371234567"));
  EXPECT_TRUE(table->refusal("co-open", "GB", "DE", true, "+4990012345")) << "premium rate needs its own permission";
  EXPECT_FALSE(table->refusal("co-any", "GB", "CU", true, "+5371234567"));
  const numbers::Destination uk = numbers::destination_of("+442079460958");
  EXPECT_EQ(uk.region, "GB");
  EXPECT_FALSE(uk.premium);
  EXPECT_TRUE(numbers::destination_of("+449098790000").premium) << "UK 09 numbers are premium rate";
  EXPECT_EQ(numbers::destination_of("+14155550123").region, "US");
  EXPECT_EQ(numbers::destination_of("not a number").region, "");
}

TEST(RateTableTest, TheOperatorsHighRiskPrefixesAreRefusedEvenWhereTheCountryIsAllowed) {
  const auto table = RateTable::build({}, {},
                                      {{"co-open", {{"*"}, false, false}}, {"co-trusted", {{"*"}, false, true}}},
                                      {"882", "+447781"});
  EXPECT_TRUE(table->high_risk("+88213"));
  EXPECT_TRUE(table->high_risk("+447781123456"));
  EXPECT_FALSE(table->high_risk("+447700900123")) << "the same country outside the listed range";
  EXPECT_FALSE(table->high_risk("+88")) << "shorter than the prefix";
  const auto refused = table->refusal("co-open", "GB", "", false, "+882130000001");
  ASSERT_TRUE(refused) << "anywhere allowed, but not a high-risk range";
  EXPECT_EQ(*refused, "calls to high-risk destinations are not allowed for this company");
  EXPECT_TRUE(table->refusal("co-none", "GB", "GB", false, "+447781123456")) << "not even in the company's own country";
  EXPECT_FALSE(table->refusal("co-open", "GB", "GB", false, "+447700900123"));
  EXPECT_FALSE(table->refusal("co-trusted", "GB", "", false, "+882130000001")) << "a company let call them may";
}

class RatingStoreTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    company_ = *accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
  }
  int64_t count(const std::string& sql) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query(sql)->at(0).i64(0);
  }
  std::shared_ptr<const RateTable> table() {
    auto tx = store_->begin(store::TxMode::read);
    return load_table(**tx).value();
  }
  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::string company_;
};

TEST_P(RatingStoreTest, ANewPriceNeedsALaterDateAndAFailedImportChangesNothing) {
  auto first = import_deck(*store_, keys_, clock_, "Carrier A, January",
                           "44,UK,0.01,0,60/60,GBP,2026-01-01\n447,UK mobile,0.08,0,60/60,GBP,2026-01-01\n", "cli:test");
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ(first->rates, 2);
  // The same prefix from the same date: refused whole, naming the line, nothing stored.
  auto again = import_deck(*store_, keys_, clock_, "Carrier A, fixed",
                           "33,France,0.02,0,60/60,EUR,2026-01-01\n44,UK,0.02,0,60/60,GBP,2026-01-01\n", "cli:test");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("line 2: prefix 44 is already priced"), std::string::npos)
      << again.error().message;
  EXPECT_EQ(count("SELECT count(*) FROM rates"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM rate_decks"), 1);
  auto later = import_deck(*store_, keys_, clock_, "Carrier A, June", "44,UK,0.02,0,60/60,GBP,2026-06-01\n", "cli:test");
  ASSERT_TRUE(later.ok()) << later.error().describe();
  const auto t = table();
  EXPECT_EQ(t->find("+442071234567", at("2026-03-01"))->price_per_minute_micros, 10'000);
  EXPECT_EQ(t->find("+442071234567", at("2026-07-01"))->price_per_minute_micros, 20'000);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'rating.deck_import'"), 2);
  auto decks = list_decks(*store_);
  ASSERT_TRUE(decks.ok());
  EXPECT_EQ(decks->size(), 2u);
}

TEST_P(RatingStoreTest, APlanIncludesItsPrefixesAndAKeeperPicksUpChanges) {
  RateBook book;
  BookKeeper keeper(*store_, book, 50'000);
  ASSERT_TRUE(keeper.start().ok());
  EXPECT_EQ(book.table()->rates(), 0u);
  ASSERT_TRUE(import_deck(*store_, keys_, clock_, "A", "44,UK,0.01,0,60/60,GBP,2026-01-01\n", "cli:test").ok());
  ASSERT_TRUE(set_plan(*store_, keys_, clock_, company_, {"+44"}, "cli:test").ok());
  for (int i = 0; i < 200 && !book.table()->included(company_, "+442071234567"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(book.table()->rates(), 1u);
  EXPECT_TRUE(book.table()->included(company_, "+442071234567")) << "the keeper reloaded the plan";
  const Status bad = set_plan(*store_, keys_, clock_, company_, {"44x"}, "cli:test");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "included");
  const Status nobody = set_plan(*store_, keys_, clock_, "no-such-company", {"44"}, "cli:test");
  EXPECT_FALSE(nobody.ok());
  auto plan = plan_of(*store_, company_);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(*plan, std::vector<std::string>{"44"});
  ASSERT_TRUE(set_destinations(*store_, keys_, clock_, company_, {{"FR"}, false, false}, "cli:test").ok());
  const Status lower = set_destinations(*store_, keys_, clock_, company_, {{"fr"}, false, false}, "cli:test");
  ASSERT_FALSE(lower.ok());
  EXPECT_EQ(lower.error().field, "countries");
  for (int i = 0; i < 200 && book.table()->refusal(company_, "GB", "FR", false, "+33140000000"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(book.table()->refusal(company_, "GB", "FR", false, "+33140000000")) << "the keeper reloaded the destinations";
  EXPECT_TRUE(book.table()->included(company_, "+442071234567")) << "and kept the plan";
  auto allowed = destinations_of(*store_, company_);
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed->countries, std::vector<std::string>{"FR"});
  keeper.stop();
}

TEST_P(RatingStoreTest, TheHighRiskListIsAuditedRefusesBadPrefixesAndReachesTheBook) {
  RateBook book;
  BookKeeper keeper(*store_, book, 50'000);
  ASSERT_TRUE(keeper.start().ok());
  ASSERT_TRUE(set_destinations(*store_, keys_, clock_, company_, {{"*"}, false, false}, "cli:test").ok());
  ASSERT_TRUE(add_high_risk(*store_, keys_, clock_, "+882", "international networks", "cli:test").ok());
  const Status again = add_high_risk(*store_, keys_, clock_, "882", "twice", "cli:test");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  const Status bad = add_high_risk(*store_, keys_, clock_, "88x", "letters", "cli:test");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "prefix");
  EXPECT_EQ(add_high_risk(*store_, keys_, clock_, "883", "", "cli:test").error().field, "description");
  auto listed = list_high_risk(*store_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).prefix, "882");
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'rating.high_risk_add'"), 1);

  for (int i = 0; i < 200 && !book.table()->refusal(company_, "GB", "", false, "+88213"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(book.table()->refusal(company_, "GB", "", false, "+88213")) << "the keeper loaded the new prefix";
  ASSERT_TRUE(set_destinations(*store_, keys_, clock_, company_, {{"*"}, false, true}, "cli:test").ok());
  EXPECT_TRUE(destinations_of(*store_, company_)->high_risk);
  for (int i = 0; i < 200 && book.table()->refusal(company_, "GB", "", false, "+88213"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(book.table()->refusal(company_, "GB", "", false, "+88213")) << "the company is now let call them";
  ASSERT_TRUE(remove_high_risk(*store_, keys_, clock_, "+882", "cli:test").ok());
  EXPECT_EQ(remove_high_risk(*store_, keys_, clock_, "882", "cli:test").error().code, ErrorCode::not_found);
  EXPECT_TRUE(list_high_risk(*store_)->empty());
  keeper.stop();
}

INSTANTIATE_TEST_SUITE_P(Backends, RatingStoreTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::rating
