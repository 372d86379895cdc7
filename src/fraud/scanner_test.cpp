// The scanner's daily baseline, each company's own thresholds (overrides) in the scanner and the
// live guard, and business hours in the company's time zone, on both backends.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <vector>

#include "accounts/accounts.h"
#include "accounts/business_hours.h"
#include "accounts/extensions.h"
#include "common/ids.h"
#include "fraud/live.h"
#include "fraud/overrides.h"
#include "fraud/rules.h"
#include "store/settings.h"
#include "store/test_stores.h"
#include "traffic/store_sink.h"

namespace privox::fraud {
namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kDay = 86'400 * kSec;
const int64_t kMidday = *parse_time("2026-11-10T12:00:00Z");

class FraudScanStoreTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    accounts::Extensions extensions(*store_, keys_, clock_);
    for (const char* name : {"Acme Ltd", "Dialler Ltd"}) {
      auto id = accounts.add_company({name, "eea", "GB"}, "cli:test");
      ASSERT_TRUE(id.ok()) << id.error().describe();
      companies_.push_back(*id);
      auto ext = extensions.add_extension({*id, "101", "correct-horse-7", std::nullopt, std::nullopt}, "cli:test");
      ASSERT_TRUE(ext.ok()) << ext.error().describe();
      lines_.push_back(*ext);
    }
  }

  // Outbound calls from company `c`'s line through the real sink, each `seconds` long (0: not
  // answered), 10 s apart from now; answered ones cost `cost` each.
  void place(size_t c, const std::vector<std::string>& destinations, int seconds, int64_t cost = 0) {
    auto writer = std::make_unique<store::AppendWriter>(std::move(test_store_->open()).value(), store::AppendOptions{});
    traffic::StoreSink sink(*writer, keys_, clock_, "node-a");
    std::vector<std::string> ids;
    for (const std::string& to : destinations) {
      traffic::CallRecord r;
      r.id = new_id(clock_.now_us());
      ids.push_back(r.id);
      r.company_id = companies_[c];
      r.subject_id = lines_[c];
      r.direction = traffic::Direction::outbound;
      r.source = "+442071239876";
      r.destination = to;
      r.started_at_us = clock_.now_us();
      if (seconds > 0) {
        r.answered_at_us = r.started_at_us + kSec;
        sink.opened(r, [](const Status&) {});
        r.ended_at_us = r.answered_at_us + seconds * kSec;
        r.outcome = traffic::Outcome::answered;
      } else {
        r.ended_at_us = r.started_at_us + 5 * kSec;
        r.outcome = traffic::Outcome::no_answer;
      }
      sink.closed(r);
      clock_.advance_us(10 * kSec);
    }
    ASSERT_TRUE(sink.flush().ok());
    // The price a rate deck would have written (rating/ is tested on its own).
    for (const std::string& id : ids)
      ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& tx) -> Status {
        PRIVOX_TRY(tx.exec("UPDATE traffic_records SET cost_micros = ? WHERE id = ?", {cost, id}));
        return {};
      }).ok());
  }

  static std::vector<std::string> numbers(std::string_view prefix, int64_t n) {
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out.push_back(fmt::format("{}{:02}", prefix, i));
    return out;
  }

  // The `records` count of the newest traffic.list audit entry: how many records a scan read.
  int64_t last_read_records() {
    auto tx = store_->begin(store::TxMode::read);
    auto rows = (*tx)->query("SELECT detail FROM audit_log WHERE action = 'traffic.list' ORDER BY seq DESC");
    if (!rows.ok() || rows->empty()) return -1;
    return nlohmann::json::parse(rows->at(0).text(0)).value("records", int64_t{-1});
  }

  int64_t audit_count(const std::string& action) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query("SELECT count(*) FROM audit_log WHERE action = ?", {action})->at(0).i64(0);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{kMidday};
  std::vector<std::string> companies_, lines_;
};

// The 30 days before today are summed once a UTC day; the scans in between read today's records
// only, and judge today's spend against the same average a full read gives.
TEST_P(FraudScanStoreTest, TheBaselineIsReadOncePerDayAndStaysCorrect) {
  for (int64_t day = 1; day <= 10; ++day) {  // 3 units a day on 10 of the 30 days: 1 a day on average
    clock_.set_us(kMidday - day * kDay);
    place(0, {"+221770000001"}, 60, 3'000'000);
  }
  clock_.set_us(kMidday);
  Scanner scanner(*store_, keys_, clock_);
  auto first = scanner.run();
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_TRUE(first->empty());
  EXPECT_EQ(last_read_records(), 10) << "the day's first scan reads the 30 days for the baseline";

  place(0, numbers("+2217700001", 5), 600, 5'000'000);  // 25 units today: above 5 x 1 and the floor of 20
  auto second = scanner.run();
  ASSERT_TRUE(second.ok()) << second.error().describe();
  EXPECT_EQ(last_read_records(), 5) << "a later scan reads today's records only";
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].rule, Rule::international_spend);
  const Figures expected{{"today_micros", 25'000'000}, {"daily_average_micros", 1'000'000}, {"multiple", 5}};
  EXPECT_EQ((*second)[0].figures, expected) << "the cached baseline is the one the records give";
  // A fresh scanner (another node, a restart) reads the 30 days again and sees the same.
  {
    Scanner other(*store_, keys_, clock_);
    ASSERT_TRUE(other.run().ok());
    EXPECT_EQ(last_read_records(), 15);
  }

  // The next day's first scan rebuilds it: today's 25 units join the 30 before (55 / 30).
  clock_.set_us(kMidday + kDay);
  ASSERT_TRUE(scanner.run().ok());
  EXPECT_EQ(last_read_records(), 15);
  place(0, numbers("+2217700002", 5), 600, 2'000'000);  // 10 units: under the floor
  auto third = scanner.run();
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(last_read_records(), 5);
  EXPECT_TRUE(third->empty());
}

TEST_P(FraudScanStoreTest, OverridesAreCheckedAuditedAndListed) {
  CompanyLimits limits(*store_, keys_, clock_);
  ASSERT_TRUE(limits.set(companies_[1], "fraud.velocity.line_calls_per_minute", "600", "cli:test").ok());
  EXPECT_EQ(limits.list(companies_[1]).value(), (Values{{"fraud.velocity.line_calls_per_minute", "600"}}));
  EXPECT_TRUE(limits.list(companies_[0]).value().empty()) << "another company keeps the global value";
  EXPECT_EQ(audit_count("fraud.limit_set"), 1);

  const Status unknown = limits.set(companies_[1], "fraud.velocity.nonsense", "5", "cli:test");
  EXPECT_EQ(unknown.error().field, "key");
  EXPECT_EQ(limits.set(companies_[1], "fraud.alert_email", "a@example.com", "cli:test").error().field, "key")
      << "the operator's address is the node's";
  EXPECT_EQ(limits.set(companies_[1], "fraud.velocity.line_calls_per_minute", "0", "cli:test").error().code,
            ErrorCode::invalid_argument)
      << "below the setting's minimum";
  EXPECT_EQ(limits.set(companies_[1], "fraud.spend.action", "shout", "cli:test").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(limits.set(new_id(clock_.now_us()), "fraud.spend.multiple", "9", "cli:test").error().code,
            ErrorCode::not_found);
  EXPECT_EQ(audit_count("fraud.limit_set"), 1) << "nothing refused was written";

  ASSERT_TRUE(limits.clear(companies_[1], "fraud.velocity.line_calls_per_minute", "cli:test").ok());
  EXPECT_TRUE(limits.list(companies_[1]).value().empty());
  EXPECT_EQ(limits.clear(companies_[1], "fraud.velocity.line_calls_per_minute", "cli:test").error().code,
            ErrorCode::not_found);
  EXPECT_EQ(audit_count("fraud.limit_clear"), 1);
}

// The call-centre company's own velocity limit lets its line through where the global one
// suspends another company's; the guard holds both in memory from the start.
TEST_P(FraudScanStoreTest, TheLiveGuardUsesEachCompanysOwnLimits) {
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& tx) {
    return store::Settings::store_value(tx, "fraud.velocity.line_calls_per_minute", "3", clock_.now_us());
  }).ok());
  ASSERT_TRUE(CompanyLimits(*store_, keys_, clock_)
                  .set(companies_[1], "fraud.velocity.line_calls_per_minute", "20", "cli:test")
                  .ok());
  LiveRules live(*store_, keys_, clock_, {.refresh_us = 3'600'000'000, .scan_us = 3'600'000'000});
  ASSERT_TRUE(live.start().ok());
  for (int64_t i = 0; i < 20; ++i)
    EXPECT_FALSE(live.guard().admit(lines_[1], companies_[1], 1, clock_.now_us())) << "dialler call " << i;
  EXPECT_TRUE(live.guard().admit(lines_[1], companies_[1], 1, clock_.now_us())) << "its own limit still holds";
  for (int64_t i = 0; i < 3; ++i) EXPECT_FALSE(live.guard().admit(lines_[0], companies_[0], 1, clock_.now_us()));
  EXPECT_TRUE(live.guard().admit(lines_[0], companies_[0], 1, clock_.now_us())) << "the global limit of 3";
  live.stop();
}

TEST_P(FraudScanStoreTest, TheScannerUsesEachCompanysOwnThresholds) {
  place(0, numbers("+2217700000", 20), 0);
  place(1, numbers("+2217700000", 20), 0);
  ASSERT_TRUE(CompanyLimits(*store_, keys_, clock_)
                  .set(companies_[1], "fraud.short_calls.min_destinations", "50", "cli:test")
                  .ok());
  Scanner scanner(*store_, keys_, clock_);
  auto found = scanner.run();
  ASSERT_TRUE(found.ok()) << found.error().describe();
  ASSERT_EQ(found->size(), 1u) << "the company that raised its threshold is not flagged";
  EXPECT_EQ((*found)[0].company_id, companies_[0]);
  EXPECT_EQ((*found)[0].rule, Rule::short_calls);
}

// 12:00 UTC is 21:00 in Tokyo: out of its business hours (7-20), though in them in UTC.
TEST_P(FraudScanStoreTest, BusinessHoursAreTheCompanysOwnTimeZone) {
  place(0, numbers("+2217700000", 5), 60);
  Scanner scanner(*store_, keys_, clock_);
  auto in_utc = scanner.run();
  ASSERT_TRUE(in_utc.ok());
  EXPECT_TRUE(in_utc->empty()) << "noon in UTC is business hours";

  accounts::Accounts accounts(*store_, keys_, clock_);
  const Status bad = accounts.set_time_zone(companies_[0], "Mars/Olympus_Mons", "cli:test");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "time_zone");
  EXPECT_NE(bad.error().message.find("Mars/Olympus_Mons"), std::string::npos) << "the error names the zone";
  ASSERT_TRUE(accounts.set_time_zone(companies_[0], "Asia/Tokyo", "cli:test").ok());
  EXPECT_EQ(accounts.company(companies_[0])->time_zone, "Asia/Tokyo");
  EXPECT_EQ(accounts.company(companies_[1])->time_zone, "UTC") << "a company that chose none";
  EXPECT_EQ(audit_count("company.time_zone"), 1);
  auto in_tokyo = scanner.run();
  ASSERT_TRUE(in_tokyo.ok());
  ASSERT_EQ(in_tokyo->size(), 1u);
  EXPECT_EQ((*in_tokyo)[0].rule, Rule::off_hours);
}

// A company's own business hours replace fraud.hours.start..end: noon on Tuesday 10 November is
// inside the global 7..20 but after this London company closes at 11:00.
TEST_P(FraudScanStoreTest, ACompanysOwnHoursJudgeItsInternationalCalls) {
  accounts::Accounts accounts(*store_, keys_, clock_);
  ASSERT_TRUE(accounts.set_time_zone(companies_[0], "Europe/London", "cli:test").ok());
  accounts::CompanyHours hours;
  hours.week.emplace();
  (*hours.week)[1] = {{9 * 60, 11 * 60}};
  ASSERT_TRUE(accounts::BusinessHours(*store_, keys_, clock_).set(companies_[0], hours, "cli:test").ok());
  place(0, numbers("+2217700000", 5), 60);
  place(1, numbers("+2217700001", 5), 60);
  auto found = Scanner(*store_, keys_, clock_).run();
  ASSERT_TRUE(found.ok()) << found.error().describe();
  ASSERT_EQ(found->size(), 1u) << "only the company whose own hours ended";
  EXPECT_EQ((*found)[0].rule, Rule::off_hours);
  EXPECT_EQ((*found)[0].company_id, companies_[0]);
}

// Open at noon by its hours, but 10 November is one of its holidays: closed all day.
TEST_P(FraudScanStoreTest, AHolidayIsOutOfHoursAllDay) {
  accounts::BusinessHours business(*store_, keys_, clock_);
  accounts::CompanyHours hours;
  hours.week.emplace();
  (*hours.week)[1] = {{9 * 60, 17 * 60 + 30}};
  ASSERT_TRUE(business.set(companies_[0], hours, "cli:test").ok());
  place(0, numbers("+2217700000", 5), 60);
  Scanner scanner(*store_, keys_, clock_);
  auto open = scanner.run();
  ASSERT_TRUE(open.ok()) << open.error().describe();
  EXPECT_TRUE(open->empty()) << "inside its own hours";
  hours.holidays = {{"2026-11-10", "Company day"}};
  ASSERT_TRUE(business.set(companies_[0], hours, "cli:test").ok());
  auto holiday = scanner.run();
  ASSERT_TRUE(holiday.ok()) << holiday.error().describe();
  ASSERT_EQ(holiday->size(), 1u);
  EXPECT_EQ((*holiday)[0].rule, Rule::off_hours);
}

INSTANTIATE_TEST_SUITE_P(Backends, FraudScanStoreTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::fraud
