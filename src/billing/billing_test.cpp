#include "billing/invoices.h"

#include <fmt/format.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <thread>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "app/registry.h"
#include "privacy/audit_record.h"
#include "privacy/erasure_part.h"
#include "rating/store.h"
#include "retention/retention.h"
#include "store/settings.h"
#include "store/test_stores.h"
#include "traffic/cdr.h"
#include "traffic/store_sink.h"
#include "wallet/wallet.h"

namespace privox::billing {
namespace {

TEST(BillingRulesTest, TaxRatesAreReadExactlyAndBadOnesNamed) {
  auto rates = parse_tax_rates("GB:20,FR:20,US:0,IE:23.5,HU:27.25");
  ASSERT_TRUE(rates.ok()) << rates.error().describe();
  EXPECT_EQ(rates->at("GB"), 2000);
  EXPECT_EQ(rates->at("US"), 0);
  EXPECT_EQ(rates->at("IE"), 2350);
  EXPECT_EQ(rates->at("HU"), 2725);
  EXPECT_TRUE(parse_tax_rates("")->empty());
  for (const char* bad : {"GB", "gb:20", "GB:101", "GB:20.123", "GB:x", "GB:20,GB:5", "GB:20.", "GBR:20"}) {
    auto r = parse_tax_rates(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().field, "billing.tax_rates") << bad;
  }
  EXPECT_EQ(tax_of(1'000'000, 2000), 200'000);
  EXPECT_EQ(tax_of(5, 2000), 1) << "1 micro: half up";
  EXPECT_EQ(tax_of(2, 2000), 0);
  EXPECT_EQ(tax_of(900'000'000'000'000, 10'000), 900'000'000'000'000) << "no overflow";
  EXPECT_EQ(amount_text(12'500'000), "12.50");
  EXPECT_EQ(amount_text(16'000), "0.016");
  auto nov = parse_month("2026-11");
  ASSERT_TRUE(nov.ok());
  EXPECT_EQ(nov->start_us, *parse_time("2026-11-01"));
  EXPECT_EQ(nov->end_us, *parse_time("2026-12-01"));
  EXPECT_EQ(parse_month("2026-12")->end_us, *parse_time("2027-01-01"));
  for (const char* bad : {"2026-13", "2026-1", "26-11", "2026/11", ""}) EXPECT_FALSE(parse_month(bad).ok()) << bad;
}

// Invoices from priced traffic records, on both backends.
class InvoiceTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    company_ = add_company("Acme Ltd");
    accounts::Extensions extensions(*store_, keys_, clock_);
    for (const char* number : {"101", "102", "103"}) {
      auto ext = extensions.add_extension({company_, number, "correct-horse-7", std::nullopt, std::nullopt}, "cli:test");
      ASSERT_TRUE(ext.ok()) << ext.error().describe();
      lines_.push_back(*ext);
    }
    set("billing.seat_price_micros", "5000000");
    set("billing.tax_rates", "GB:20,FR:20,US:0");
  }

  std::string add_company(const std::string& name) {
    accounts::Accounts accounts(*store_, keys_, clock_);
    auto id = accounts.add_company({name, "eea", ""}, "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : std::string{};
  }

  void set(std::string_view key, std::string_view value) {
    const Status s = store::with_transaction(*store_, store::TxMode::write, [&](store::Session& tx) {
      return store::Settings::store_value(tx, key, value, clock_.now_us());
    });
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }

  // Answered outbound calls of `seconds` each through the real sink, priced per second at
  // `per_minute` micros from a deck in `currency`.
  void place_calls(const std::vector<int>& seconds, int64_t per_minute = 60'000, const std::string& currency = "GBP") {
    auto writer = std::make_unique<store::AppendWriter>(std::move(test_store_->open()).value(), store::AppendOptions{});
    traffic::StoreSink sink(*writer, keys_, clock_, "node-a");
    rating::RateBook book;
    book.replace(rating::RateTable::build(
        {{"deck-1", {rating::Rate{"1", "North America", per_minute, 0, 1, 1, currency, 0, 1}}}}, {}));
    sink.set_rates(&book);
    for (const int s : seconds) {
      traffic::CallRecord r;
      r.id = fmt::format("rec-{}", ++calls_);
      r.company_id = company_;
      r.subject_id = lines_[0];
      r.direction = traffic::Direction::outbound;
      r.source = "+442071239876";
      r.destination = "+14155550123";
      r.started_at_us = clock_.now_us();
      r.answered_at_us = r.started_at_us + 1'000'000;
      sink.opened(r, [](const Status&) {});
      r.ended_at_us = r.answered_at_us + s * 1'000'000LL;
      r.outcome = traffic::Outcome::answered;
      sink.closed(r);
    }
    ASSERT_TRUE(sink.flush().ok());
  }

  int64_t audit_count(const std::string& action) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query("SELECT count(*) FROM audit_log WHERE action = ?", {action})->at(0).i64(0);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{*parse_time("2026-11-10T12:00:00Z")};
  std::string company_;
  std::vector<std::string> lines_;
  int calls_ = 0;
};

TEST_P(InvoiceTest, AnInvoiceIsSeatsPlusRatedUsagePlusTheCountrysTax) {
  place_calls({60, 30, 90});  // 1.00 + 0.50 ... at 0.06/min: 0.06 + 0.03 + 0.09 = 0.18
  auto early = issue_invoice(*store_, keys_, clock_, company_, "2026-11", "cli:test");
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().field, "month") << "November has not ended";
  clock_.set_us(*parse_time("2026-12-02"));
  const int64_t reads = audit_count("traffic.list");
  auto inv = issue_invoice(*store_, keys_, clock_, company_, "2026-11", "cli:test");
  ASSERT_TRUE(inv.ok()) << inv.error().describe();
  EXPECT_EQ(inv->number, 1);
  EXPECT_EQ(number_text(*inv), "INV-000001");
  ASSERT_EQ(inv->lines.size(), 2u);
  EXPECT_EQ(inv->lines[0].quantity, 3) << "three lines";
  EXPECT_EQ(inv->lines[0].amount_micros, 15'000'000);
  EXPECT_EQ(inv->lines[1].amount_micros, 180'000);
  EXPECT_EQ(inv->subtotal_micros, 15'180'000);
  EXPECT_EQ(inv->tax_rate_bp, 2000) << "the company is in GB";
  EXPECT_EQ(inv->tax_micros, 3'036'000);
  EXPECT_EQ(inv->total_micros, 18'216'000);
  EXPECT_EQ(audit_count("traffic.list"), reads + 1) << "the traffic read is audited under billing";
  EXPECT_EQ(audit_count("billing.invoice_issue"), 1);
  {
    auto tx = store_->begin(store::TxMode::read);
    auto entry = (*tx)->query("SELECT purpose FROM audit_log WHERE action = 'traffic.list' ORDER BY seq DESC");
    EXPECT_EQ(entry->at(0).text(0), "billing");
    auto stored = find_invoice(**tx, inv->id);
    ASSERT_TRUE(stored.ok() && *stored);
    EXPECT_EQ((*stored)->total_micros, 18'216'000);
    EXPECT_EQ((*stored)->lines[1].amount_micros, 180'000);
    EXPECT_EQ((*stored)->status, "issued");
  }
  auto twice = issue_invoice(*store_, keys_, clock_, company_, "2026-11", "cli:test");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::conflict);
  auto december = issue_invoice(*store_, keys_, clock_, company_, "2026-12", "cli:test");
  EXPECT_FALSE(december.ok()) << "not ended";
}

TEST_P(InvoiceTest, ACallThePrepaidBalancePaidIsNotInvoicedAgain) {
  place_calls({60, 30, 90});  // 0.06 + 0.03 + 0.09
  ASSERT_TRUE(wallet::top_up(*store_, keys_, clock_, company_, 1'000'000, "GBP", "cli:test").ok());
  auto debited = wallet::debit_call(*store_, keys_, clock_, {"rec-2", company_, "GBP", 30'000}, "node-a");
  ASSERT_TRUE(debited.ok() && *debited) << "the 30 s call was an international one, paid from the wallet";
  clock_.set_us(*parse_time("2026-12-02"));
  auto inv = issue_invoice(*store_, keys_, clock_, company_, "2026-11", "cli:test");
  ASSERT_TRUE(inv.ok()) << inv.error().describe();
  EXPECT_EQ(inv->lines[1].amount_micros, 150'000) << "0.06 + 0.09: the prepaid call is not charged twice";
  EXPECT_NE(inv->lines[1].description.find("(2 calls; 1 more paid from the prepaid international balance)"),
            std::string::npos)
      << inv->lines[1].description;
  EXPECT_EQ(inv->subtotal_micros, 15'150'000);
}

TEST_P(InvoiceTest, UnknownCountryRateAndMixedCurrenciesAreRefusedClearly) {
  set("billing.tax_rates", "FR:20");
  clock_.set_us(*parse_time("2026-10-02"));
  place_calls({60}, 60'000, "USD");
  clock_.set_us(*parse_time("2026-12-02"));
  auto no_rate = issue_invoice(*store_, keys_, clock_, company_, "2026-10", "cli:test");
  ASSERT_FALSE(no_rate.ok());
  EXPECT_EQ(no_rate.error().field, "traffic") << "USD call, GBP invoices: refused first";
  EXPECT_NE(no_rate.error().message.find("USD"), std::string::npos);
  auto no_traffic = issue_invoice(*store_, keys_, clock_, company_, "2026-09", "cli:test");
  ASSERT_FALSE(no_traffic.ok());
  EXPECT_EQ(no_traffic.error().field, "company");
  EXPECT_NE(no_traffic.error().message.find("GB"), std::string::npos);
  EXPECT_EQ(issue_invoice(*store_, keys_, clock_, "no-such-company", "2026-09", "cli:test").error().code,
            ErrorCode::not_found);
  auto tx = store_->begin(store::TxMode::read);
  EXPECT_EQ((*tx)->query("SELECT last_number FROM billing_counters")->at(0).i64(0), 0) << "no number was used";
}

TEST_P(InvoiceTest, ACreditNoteTakesTheNextNumberAndCreditsNoMoreThanIsLeft) {
  clock_.set_us(*parse_time("2026-12-02"));
  auto inv = issue_invoice(*store_, keys_, clock_, company_, "2026-11", "cli:test");
  ASSERT_TRUE(inv.ok()) << inv.error().describe();
  auto note = issue_credit_note(*store_, keys_, clock_, inv->id, "one line was unused", 5'000'000, "cli:test");
  ASSERT_TRUE(note.ok()) << note.error().describe();
  EXPECT_EQ(note->number, 2);
  EXPECT_EQ(number_text(*note), "CN-000002");
  EXPECT_EQ(note->credits_invoice_id, inv->id);
  EXPECT_EQ(note->tax_micros, 1'000'000);
  EXPECT_EQ(note->total_micros, 6'000'000);
  auto too_much = issue_credit_note(*store_, keys_, clock_, inv->id, "again", 10'000'001, "cli:test");
  ASSERT_FALSE(too_much.ok());
  EXPECT_EQ(too_much.error().field, "amount");
  EXPECT_EQ(issue_credit_note(*store_, keys_, clock_, inv->id, "", std::nullopt, "cli:test").error().field, "reason");
  EXPECT_EQ(issue_credit_note(*store_, keys_, clock_, inv->id, "x", 0, "cli:test").error().field, "amount");
  EXPECT_EQ(issue_credit_note(*store_, keys_, clock_, note->id, "x", std::nullopt, "cli:test").error().field, "id");
  auto rest = issue_credit_note(*store_, keys_, clock_, inv->id, "the rest", std::nullopt, "cli:test");
  ASSERT_TRUE(rest.ok()) << rest.error().describe();
  EXPECT_EQ(rest->subtotal_micros, 10'000'000) << "what was left";
  EXPECT_EQ(rest->number, 3);
  // The original stands unchanged: a correction never edits an issued invoice.
  auto tx = store_->begin(store::TxMode::read);
  auto all = invoices_of_company(**tx, company_);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].total_micros, inv->total_micros);
  EXPECT_EQ((*all)[0].issued_at_us, inv->issued_at_us);
}

// Issued invoices have no update path: the header declares none, no source of billing/ updates the
// table, and the only deletes are retention's, in delete_expired_invoices (this reads the sources).
TEST(InvoiceImmutabilityTest, NoSourceOfBillingUpdatesAnInvoiceAndOnlyRetentionDeletes) {
  for (const char* file : {"invoices.cpp", "invoices.h", "erasure.cpp", "render.cpp"}) {
    std::ifstream in(std::string(PRIVOX_SOURCE_DIR) + "/src/billing/" + file);
    ASSERT_TRUE(in) << file;
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("UPDATE invoices"), std::string::npos) << file;
    const size_t retention = text.find("Result<InvoiceExpiry> delete_expired_invoices(store::Session& s");
    for (size_t at = text.find("DELETE FROM invoices"); at != std::string::npos;
         at = text.find("DELETE FROM invoices", at + 1)) {
      ASSERT_NE(retention, std::string::npos) << file << " deletes outside retention";
      EXPECT_GT(at, retention) << file;
      EXPECT_LT(at, text.find("\n}\n", retention)) << file << ": a delete outside delete_expired_invoices";
    }
  }
}

// Many issuers at once, each its own connection (as nodes are): every number from 1 to N once.
TEST_P(InvoiceTest, ConcurrentIssuingNeitherSkipsNorDuplicatesANumber) {
  constexpr int kThreads = 6, kEach = 3;
  std::vector<std::string> companies;
  companies.reserve(size_t{kThreads} * kEach);
  for (int i = 0; i < kThreads * kEach; ++i) companies.push_back(add_company(fmt::format("Co {}", i)));
  clock_.set_us(*parse_time("2026-12-02"));
  auto credited = issue_invoice(*store_, keys_, clock_, company_, "2026-11", "cli:test");
  ASSERT_TRUE(credited.ok()) << credited.error().describe();
  std::mutex mutex;
  std::vector<int64_t> numbers{credited->number};
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto own = test_store_->open();
      if (!own.ok()) {
        std::lock_guard lock(mutex);
        errors.push_back(own.error().describe());
        return;
      }
      for (int i = 0; i < kEach; ++i) {
        auto inv = issue_invoice(**own, keys_, clock_, companies[(static_cast<size_t>(t) * kEach) + static_cast<size_t>(i)], "2026-11",
                                 "cli:test");
        // A credit note too, so that both kinds draw from the one sequence at the same time.
        auto note = issue_credit_note(**own, keys_, clock_, credited->id, "test", 1, "cli:test");
        std::lock_guard lock(mutex);
        for (const Result<Invoice>* r : {&inv, &note}) {
          if (r->ok()) numbers.push_back((*r)->number);
          else errors.push_back(r->error().describe());
        }
      }
    });
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(errors.empty()) << errors.front();
  std::sort(numbers.begin(), numbers.end());
  ASSERT_EQ(numbers.size(), static_cast<size_t>(2 * kThreads * kEach + 1));
  for (size_t i = 0; i < numbers.size(); ++i) EXPECT_EQ(numbers[i], static_cast<int64_t>(i) + 1);
}

TEST_P(InvoiceTest, ErasureReportsTheCompanysInvoicesAsKeptUnderTheLegalObligation) {
  clock_.set_us(*parse_time("2026-12-02"));
  ASSERT_TRUE(issue_invoice(*store_, keys_, clock_, company_, "2026-11", "cli:test").ok());
  const privacy::ErasureParticipantSpec* billing = nullptr;
  for (const auto& p : privacy::erasure_participants())
    if (p.name == "billing") billing = &p;
  ASSERT_NE(billing, nullptr) << "installed by the composition root";
  auto tx = store_->begin(store::TxMode::write);
  ASSERT_TRUE(tx.ok());
  const std::string actor = "cli:test";
  privacy::ErasureContext context{*store_, **tx, keys_, clock_.now_us(), actor};
  auto items = billing->erase({"member-1", company_, {}}, context);
  ASSERT_TRUE(items.ok()) << items.error().describe();
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].outcome, "kept");
  EXPECT_EQ((*items)[0].count, 1);
  EXPECT_EQ((*items)[0].until, "2032-12-06") << "six years (of 366 days) from 2026-12-02";
  EXPECT_NE((*items)[0].exception.find("legal obligation"), std::string::npos);
}

// Retention removes an invoice only after billing.retention_years, with its credit notes, and keeps
// one whose credit note is younger; the job reports and audits what it removed.
TEST_P(InvoiceTest, RetentionRemovesInvoicesOnlyAfterTheRetentionYears) {
  clock_.set_us(*parse_time("2026-12-02"));
  auto old_one = issue_invoice(*store_, keys_, clock_, company_, "2026-11", "cli:test");
  ASSERT_TRUE(old_one.ok()) << old_one.error().describe();
  ASSERT_TRUE(issue_credit_note(*store_, keys_, clock_, old_one->id, "fix", 1'000'000, "cli:test").ok());
  clock_.set_us(*parse_time("2027-01-02"));
  auto young = issue_invoice(*store_, keys_, clock_, company_, "2026-12", "cli:test");
  ASSERT_TRUE(young.ok());
  clock_.set_us(*parse_time("2031-01-05"));
  ASSERT_TRUE(issue_credit_note(*store_, keys_, clock_, young->id, "late fix", 1'000'000, "cli:test").ok());
  retention::RetentionJobs jobs(*store_, keys_, clock_);
  const auto count = [&] {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query("SELECT count(*) FROM invoices")->at(0).i64(0);
  };
  clock_.set_us(*parse_time("2032-11-30"));  // six years of 366 days after 2026-12-02 is 2032-12-06
  auto early = jobs.run(retention::Job::invoices, {}, "cli:test");
  ASSERT_TRUE(early.ok()) << early.error().describe();
  EXPECT_EQ(early->changed, 0);
  EXPECT_EQ(count(), 4) << "nothing is past six years yet";
  clock_.set_us(*parse_time("2033-01-10"));
  auto due = jobs.run(retention::Job::invoices, {}, "cli:test");
  ASSERT_TRUE(due.ok()) << due.error().describe();
  EXPECT_EQ(due->changed, 1) << "November's invoice and its note; December's has a note from 2031";
  EXPECT_EQ(count(), 2);
  EXPECT_GE(audit_count("retention.invoices"), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, InvoiceTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::billing
