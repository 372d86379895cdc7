// The fraud rules: each fires on a pattern built for it and stays quiet on normal traffic; the
// scanner and the alerts on both backends, with their audit entries.
#include <fmt/format.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "common/ids.h"
#include "fraud/alerts.h"
#include "fraud/guard.h"
#include "fraud/live.h"
#include "fraud/rules.h"
#include "store/settings.h"
#include "store/test_stores.h"
#include "traffic/store_sink.h"

namespace privox::fraud {
namespace {

constexpr int64_t kSecond = 1'000'000;
const int64_t kNoon = *parse_time("2026-11-10T12:00:00Z");

// ---- the live rules (LineGuard), on a fake timeline -------------------------------------------

class GuardTest : public ::testing::Test {
 protected:
  GuardTest() : guard_(limits(), [this](Trip t) { trips_.push_back(std::move(t)); }) {}
  static LiveLimits limits() {
    LiveLimits l;
    l.line_per_minute = 5;
    l.company_per_minute = 8;
    l.line_concurrent = 3;
    l.company_concurrent = 100;
    l.velocity_action = Action::suspend;
    l.throttled_per_minute = 2;
    l.max_sources = 2;
    l.sources_action = Action::alert;
    return l;
  }
  std::optional<Refusal> call(const std::string& line, int64_t at, const std::string& company = "co-1",
                              size_t sources = 1) {
    return guard_.admit(line, company, sources, at);
  }
  LineGuard guard_;
  std::vector<Trip> trips_;
};

TEST_F(GuardTest, NormalTrafficPassesAndTripsNothing) {
  for (int64_t i = 0; i < 40; ++i) EXPECT_FALSE(call("line-a", kNoon + i * 15 * kSecond)) << i;  // 4 a minute
  EXPECT_TRUE(trips_.empty());
}

TEST_F(GuardTest, ABurstSuspendsTheLineAndALiftLetsItCallAgain) {
  for (int64_t i = 0; i < 5; ++i) ASSERT_FALSE(call("line-a", kNoon + i * kSecond)) << i;
  const auto sixth = call("line-a", kNoon + 6 * kSecond);
  ASSERT_TRUE(sixth);
  EXPECT_EQ(sixth->status, 403);
  EXPECT_EQ(sixth->reason, "line suspended for suspected fraud");
  ASSERT_EQ(trips_.size(), 1u);
  EXPECT_EQ(trips_[0].alert.rule, Rule::line_velocity);
  EXPECT_EQ(trips_[0].alert.action, Action::suspend);
  EXPECT_EQ(trips_[0].alert.line_id, "line-a");
  // Still refused long after the burst, until the store's list says otherwise; another line is not.
  EXPECT_EQ(call("line-a", kNoon + 30 * kSecond)->status, 403);
  EXPECT_FALSE(call("line-b", kNoon + 30 * kSecond));
  // A read that started before the alert was written does not release it...
  guard_.replace_blocks({}, kNoon + 31 * kSecond);
  EXPECT_TRUE(guard_.suspended("line-a"));
  // ... one that shows it confirms it, and one without it (lifted) releases the line afresh.
  guard_.replace_blocks({{"line-a"}, {}}, kNoon + 32 * kSecond);
  EXPECT_EQ(call("line-a", kNoon + 33 * kSecond)->status, 403);
  guard_.replace_blocks({}, kNoon + 34 * kSecond);
  EXPECT_FALSE(call("line-a", kNoon + 35 * kSecond)) << "the lifted line may call again";
  EXPECT_EQ(trips_.size(), 1u);
}

TEST_F(GuardTest, CompanyVelocityCountsTheLinesTogether) {
  for (int64_t i = 0; i < 8; ++i) ASSERT_FALSE(call(fmt::format("line-{}", i % 4), kNoon + i * kSecond)) << i;
  EXPECT_TRUE(trips_.empty()) << "two calls a line is normal";
  EXPECT_TRUE(call("line-0", kNoon + 9 * kSecond));
  ASSERT_EQ(trips_.size(), 1u);
  EXPECT_EQ(trips_[0].alert.rule, Rule::company_velocity);
  EXPECT_FALSE(call("line-x", kNoon + 9 * kSecond, "co-2")) << "another company is counted apart";
}

TEST_F(GuardTest, CallsUpAtOnceTripTheConcurrencyRule) {
  auto up = [&](const std::string& id, traffic::Direction direction = traffic::Direction::outbound) {
    traffic::CallRecord r;
    r.id = id;
    r.company_id = "co-1";
    r.subject_id = "line-c";
    r.direction = direction;
    guard_.answered(r);
  };
  for (int64_t i = 0; i < 3; ++i) {
    ASSERT_FALSE(call("line-c", kNoon + i * 20 * kSecond)) << i;
    up(fmt::format("up-{}", i));
  }
  up("up-0");  // told twice: counted once
  up("in-1", traffic::Direction::inbound);  // a call to the line is not one it placed
  EXPECT_EQ(guard_.in_progress("line-c"), 3u);
  EXPECT_TRUE(call("line-c", kNoon + 60 * kSecond)) << "a 4th while 3 are up";
  ASSERT_EQ(trips_.size(), 1u);
  EXPECT_EQ(trips_[0].alert.rule, Rule::line_concurrency);
  guard_.ended("up-0");
  guard_.ended("no-such-record");
  EXPECT_EQ(guard_.in_progress("line-c"), 2u);
}

TEST_F(GuardTest, ManySourcesAlertsOnlyOnceAndLetsTheCallThrough) {
  EXPECT_FALSE(call("line-s", kNoon, "co-1", 2));
  EXPECT_TRUE(trips_.empty());
  EXPECT_FALSE(call("line-s", kNoon + kSecond, "co-1", 3)) << "the action is alert: the call goes on";
  EXPECT_FALSE(call("line-s", kNoon + 2 * kSecond, "co-1", 3));
  ASSERT_EQ(trips_.size(), 1u) << "one alert, not one per call";
  EXPECT_EQ(trips_[0].alert.rule, Rule::many_sources);
  EXPECT_EQ(trips_[0].alert.figures, (Figures{{"seen", 3}, {"limit", 2}}));
}

TEST_F(GuardTest, AThrottledLineGetsAFewCallsAMinuteAndA503ForTheRest) {
  guard_.replace_blocks({{}, {"line-t"}}, kNoon);
  EXPECT_FALSE(call("line-t", kNoon + kSecond));
  EXPECT_FALSE(call("line-t", kNoon + 2 * kSecond));
  const auto third = call("line-t", kNoon + 3 * kSecond);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 503);
  EXPECT_EQ(third->retry_after_s, 60);
  EXPECT_FALSE(call("line-t", kNoon + 70 * kSecond)) << "a minute later it may call again";
}

// ---- the scanner's rules, as pure functions ----------------------------------------------------

ScanRecord outbound(const std::string& line, int64_t at, bool international, int64_t seconds, int64_t cost,
                    const std::string& destination = "+14155550100") {
  return {"co-1", line, destination, at, international, seconds > 0, seconds * 1000, cost};
}

TEST(ScanRulesTest, NormalTrafficStaysQuiet) {
  std::vector<ScanRecord> records;
  records.reserve(400);
  for (int64_t day = 1; day <= 30; ++day)  // a month of office calls, a few abroad, in office hours
    for (int64_t i = 0; i < 10; ++i)
      records.push_back(outbound("line-a", kNoon - day * 86'400 * kSecond + i * 600 * kSecond, i < 2, 180, 500'000,
                                 fmt::format("+4420712398{:02}", i)));
  for (int64_t i = 0; i < 10; ++i)
    records.push_back(outbound("line-a", kNoon + i * 60 * kSecond, i < 2, 180, 500'000, fmt::format("+4420712398{:02}", i)));
  EXPECT_TRUE(evaluate(ScanLimits{}, records, kNoon + 3600 * kSecond).empty());
}

TEST(ScanRulesTest, SpendFarAboveTheBaselineFiresAndNamesTheTopLine) {
  ScanLimits limits;
  limits.spend_floor_micros = 10'000'000;
  std::vector<ScanRecord> records;
  records.reserve(400);
  for (int64_t day = 1; day <= 30; ++day) records.push_back(outbound("line-a", kNoon - day * 86'400 * kSecond, true, 60, 1'000'000));
  records.push_back(outbound("line-a", kNoon, true, 600, 4'000'000));
  EXPECT_TRUE(evaluate(limits, records, kNoon).empty()) << "4.00 is under the floor";
  records.push_back(outbound("line-b", kNoon + kSecond, true, 3600, 30'000'000));
  const auto found = evaluate(limits, records, kNoon + 60 * kSecond);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rule, Rule::international_spend);
  EXPECT_EQ(found[0].line_id, "line-b");
  EXPECT_EQ(found[0].figures[0], (std::pair<std::string, int64_t>{"today_micros", 34'000'000}));
  EXPECT_EQ(found[0].figures[1], (std::pair<std::string, int64_t>{"daily_average_micros", 1'000'000}));
}

TEST(ScanRulesTest, InternationalCallsAtNightFireButNationalOnesDoNot) {
  const int64_t night = *parse_time("2026-11-10T02:00:00Z");
  std::vector<ScanRecord> records;
  records.reserve(400);
  for (int64_t i = 0; i < 10; ++i) records.push_back(outbound("line-n", night + i * 60 * kSecond, false, 60, 0));
  EXPECT_TRUE(evaluate(ScanLimits{}, records, night + 3600 * kSecond).empty());
  for (int64_t i = 0; i < 5; ++i) records.push_back(outbound("line-n", night + i * 60 * kSecond, true, 60, 0));
  const auto found = evaluate(ScanLimits{}, records, night + 3600 * kSecond);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rule, Rule::off_hours);
  EXPECT_EQ(found[0].figures[0].second, 5);
}

TEST(ScanRulesTest, ManyShortCallsToManyNumbersFireTheCallBackRule) {
  std::vector<ScanRecord> records;
  records.reserve(400);
  for (int64_t i = 0; i < 30; ++i)  // the same few numbers, short: a redial loop, not a sweep
    records.push_back(outbound("line-w", kNoon + i * 10 * kSecond, false, 0, 0, fmt::format("+4420712398{:02}", i % 3)));
  EXPECT_TRUE(evaluate(ScanLimits{}, records, kNoon + 600 * kSecond).empty());
  for (int64_t i = 0; i < 20; ++i)
    records.push_back(outbound("line-w", kNoon + i * 10 * kSecond, true, i % 2 ? 3 : 0, 0, fmt::format("+2217700000{:02}", i)));
  const auto found = evaluate(ScanLimits{}, records, kNoon + 600 * kSecond);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rule, Rule::short_calls);
  EXPECT_EQ(found[0].figures[1], (std::pair<std::string, int64_t>{"destinations", 23}));
  EXPECT_TRUE(evaluate(ScanLimits{}, records, kNoon + 7200 * kSecond).empty()) << "out of the window";
}

// ---- the store: scanner over real records, alerts, lifting, on both backends -------------------

class FraudStoreTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    for (const char* name : {"Acme Ltd", "Other Ltd"}) {
      auto id = accounts.add_company({name, "eea", "GB"}, "cli:test");
      ASSERT_TRUE(id.ok()) << id.error().describe();
      companies_.push_back(*id);
    }
    accounts::Extensions extensions(*store_, keys_, clock_);
    auto ext = extensions.add_extension({companies_[0], "101", "correct-horse-7", std::nullopt, std::nullopt}, "cli:test");
    ASSERT_TRUE(ext.ok()) << ext.error().describe();
    line_ = *ext;
  }

  void set(std::string_view key, std::string_view value) {
    const Status s = store::with_transaction(*store_, store::TxMode::write, [&](store::Session& tx) {
      return store::Settings::store_value(tx, key, value, clock_.now_us());
    });
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }

  // Outbound calls from the line through the real sink, each `seconds` long (0: not answered).
  void place_calls(const std::vector<std::string>& destinations, int seconds) {
    auto writer = std::make_unique<store::AppendWriter>(std::move(test_store_->open()).value(), store::AppendOptions{});
    traffic::StoreSink sink(*writer, keys_, clock_, "node-a");
    for (const std::string& to : destinations) {
      traffic::CallRecord r;
      r.id = new_id(clock_.now_us());
      r.company_id = companies_[0];
      r.subject_id = line_;
      r.direction = traffic::Direction::outbound;
      r.source = "+442071239876";
      r.destination = to;
      r.started_at_us = clock_.now_us();
      if (seconds > 0) {
        r.answered_at_us = r.started_at_us + kSecond;
        sink.opened(r, [](const Status&) {});
        r.ended_at_us = r.answered_at_us + seconds * kSecond;
        r.outcome = traffic::Outcome::answered;
      } else {
        r.ended_at_us = r.started_at_us + 5 * kSecond;
        r.outcome = traffic::Outcome::no_answer;
      }
      sink.closed(r);
      clock_.advance_us(10 * kSecond);
    }
    ASSERT_TRUE(sink.flush().ok());
  }

  int64_t audit_count(const std::string& action) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query("SELECT count(*) FROM audit_log WHERE action = ?", {action})->at(0).i64(0);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{kNoon};
  std::vector<std::string> companies_;
  std::string line_;
};

TEST_P(FraudStoreTest, TheScannerIsQuietOnNormalCallsAndFiresOnACallBackSweep) {
  std::vector<std::string> colleagues;
  colleagues.reserve(5);
  for (int64_t i = 0; i < 5; ++i) colleagues.push_back(fmt::format("+4420712398{:02}", i));
  place_calls(colleagues, 120);
  Scanner scanner(*store_, keys_, clock_);
  const int64_t reads = audit_count("traffic.list");
  auto quiet = scanner.run();
  ASSERT_TRUE(quiet.ok()) << quiet.error().describe();
  EXPECT_TRUE(quiet->empty());
  EXPECT_EQ(audit_count("traffic.list"), reads + 1) << "the scan's read of traffic data is audited";
  {
    auto tx = store_->begin(store::TxMode::read);
    auto rows = (*tx)->query("SELECT purpose, actor FROM audit_log WHERE action = 'traffic.list' ORDER BY seq DESC");
    EXPECT_EQ(rows->at(0).text(0), "fraud");
    EXPECT_EQ(rows->at(0).text(1), "fraud:scanner");
  }

  std::vector<std::string> sweep;
  sweep.reserve(20);
  for (int64_t i = 0; i < 20; ++i) sweep.push_back(fmt::format("+2217700000{:02}", i));
  place_calls(sweep, 0);
  auto found = scanner.run();
  ASSERT_TRUE(found.ok()) << found.error().describe();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].rule, Rule::short_calls);
  EXPECT_EQ((*found)[0].line_id, line_);
  EXPECT_EQ((*found)[0].company_id, companies_[0]);
  EXPECT_EQ(audit_count("fraud.alert_open"), 1);
  auto again = scanner.run();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty()) << "an open alert is not opened twice";
}

TEST_P(FraudStoreTest, ASuspensionIsListedPerCompanyAndLiftedOnceWithItsAuditEntry) {
  Alert opened;
  const Status s = store::with_transaction(*store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    privacy::AuditChain audit(keys_, clock_);
    PRIVOX_ASSIGN(auto a, open_alert(tx, audit, {companies_[0], line_, Rule::line_velocity, Action::suspend, {{"seen", 31}, {"limit", 30}}},
                                     clock_.now_us(), "fraud:proxy"));
    if (!a) return make_error(ErrorCode::internal, "not opened");
    opened = *a;
    return {};
  });
  ASSERT_TRUE(s.ok()) << s.error().describe();
  {
    auto tx = store_->begin(store::TxMode::read);
    auto blocks = blocked_lines(**tx);
    ASSERT_TRUE(blocks.ok());
    EXPECT_TRUE(blocks->suspended.contains(line_));
  }
  Alerts alerts(*store_, keys_, clock_);
  auto mine = alerts.list(companies_[0]);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].figures, (Figures{{"limit", 30}, {"seen", 31}})) << "read back in name order";
  EXPECT_TRUE(alerts.list(companies_[1])->empty());

  auto other = alerts.lift(opened.id, companies_[1], "login-x");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::not_found) << "another company's alert is not theirs to see";
  EXPECT_EQ(alerts.lift("not an id", "", "cli:test").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(audit_count("fraud.alert_lift"), 0);

  auto lifted = alerts.lift(opened.id, companies_[0], "login-1");
  ASSERT_TRUE(lifted.ok()) << lifted.error().describe();
  EXPECT_FALSE(lifted->open);
  EXPECT_EQ(lifted->lifted_by, "login-1");
  EXPECT_EQ(audit_count("fraud.alert_lift"), 1);
  EXPECT_EQ(alerts.lift(opened.id, "", "cli:test").error().code, ErrorCode::conflict);
  auto tx = store_->begin(store::TxMode::read);
  EXPECT_TRUE(blocked_lines(**tx)->suspended.empty());
}

TEST_P(FraudStoreTest, LiveRulesWriteATripAsAnAlertAndTheGuardReadsItBack) {
  set("fraud.velocity.line_calls_per_minute", "3");
  LiveRules live(*store_, keys_, clock_, {.refresh_us = 50'000, .scan_us = 3'600'000'000});
  ASSERT_TRUE(live.start().ok());
  for (int64_t i = 0; i < 3; ++i) ASSERT_FALSE(live.guard().admit(line_, companies_[0], 1, clock_.now_us())) << i;
  ASSERT_TRUE(live.guard().admit(line_, companies_[0], 1, clock_.now_us()));
  Alerts alerts(*store_, keys_, clock_);
  std::vector<Alert> open;
  for (int64_t i = 0; i < 200 && open.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    open = alerts.list(companies_[0], true).value();
  }
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].rule, Rule::line_velocity);
  EXPECT_EQ(open[0].action, Action::suspend);
  ASSERT_TRUE(alerts.lift(open[0].id, "", "cli:test").ok());
  bool released = false;
  for (int64_t i = 0; i < 200 && !released; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    released = !live.guard().suspended(line_);
  }
  EXPECT_TRUE(released) << "the lift reached the guard through the refresh";
  live.stop();
}

TEST_P(FraudStoreTest, ServeScansAtTheOperatorsInterval) {
  EXPECT_EQ(live_options_from_settings(*store_).value().scan_us, 60 * kSecond) << "a minute by default";
  set("fraud.scan_interval_s", "2");
  const LiveOptions options = live_options_from_settings(*store_).value();
  EXPECT_EQ(options.scan_us, 2 * kSecond);
  EXPECT_EQ(options.refresh_us, LiveOptions{}.refresh_us);
  EXPECT_FALSE(store::check_setting(*store::find_setting("fraud.scan_interval_s"), "0").ok()) << "at least a second";
}

INSTANTIATE_TEST_SUITE_P(Backends, FraudStoreTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::fraud
