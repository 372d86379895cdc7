#include "analytics/surveys.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "analytics/traffic_stats.h"
#include "common/ids.h"
#include "store/test_stores.h"
#include "traffic/store_sink.h"
#include "erasure/erasure.h"

namespace privox::analytics {
namespace {

class AnalyticsTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    company_ = *accounts().add_company({"Acme Ltd", "eea", ""}, "cli:test");
  }

  accounts::Accounts& accounts() {
    if (!accounts_) accounts_ = std::make_unique<accounts::Accounts>(*store_, keys_, clock_);
    return *accounts_;
  }

  std::vector<std::string> add_members(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      const std::string email = "m" + std::to_string(next_++) + "@example.org";
      auto id = accounts().add_member(company_, {{"name", "Member " + email}, {"email", email},
                                                 {"phone", "020 7946 0958"}, {"address", "1 High St"},
                                                 {"birth_date", "1990-01-31"}, {"payment_token", "tok_abcdef"}},
                                      "cli:test");
      EXPECT_TRUE(id.ok()) << id.error().describe();
      out.push_back(*id);
    }
    return out;
  }

  static const nlohmann::json& cell(const nlohmann::json& results, size_t question, const std::string& key) {
    for (const nlohmann::json& c : results["questions"][question]["cells"])
      if (c["key"] == key) return c;
    static const nlohmann::json none;
    return none;
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::unique_ptr<accounts::Accounts> accounts_;
  std::string company_;
  int next_ = 0;
};

TEST_P(AnalyticsTest, SurveyCellsUnderKAreSuppressedAndAtKReleased) {
  Surveys surveys(*store_, keys_, clock_);
  auto id = surveys.create("Service quality", {{"Happy with call quality?", {"yes", "no", "unsure"}}}, "cli:test");
  ASSERT_TRUE(id.ok()) << id.error().describe();
  const std::vector<std::string> members = add_members(9);
  for (size_t i = 0; i < members.size(); ++i)
    ASSERT_TRUE(surveys.respond(*id, members[i], {i < 5 ? "yes" : "no"}, "portal").ok());

  // yes: 5 (= k), no: 4 (= k - 1), unsure: 0. Hidden together the small ones count 4 < k, so "yes"
  // would give "no" away through the total: everything is suppressed.
  auto results = surveys.results(*id, "cli:test");
  ASSERT_TRUE(results.ok()) << results.error().describe();
  EXPECT_EQ((*results)["k"], 5);
  EXPECT_EQ((*results)["respondents"], 9);
  EXPECT_EQ(cell(*results, 0, "yes")["suppressed"], true);
  EXPECT_EQ(cell(*results, 0, "no")["suppressed"], true);
  EXPECT_FALSE(cell(*results, 0, "no").contains("people"));

  // One more "no": both cells reach k and are released; the empty one stays suppressed.
  ASSERT_TRUE(surveys.respond(*id, add_members(1)[0], {"no"}, "portal").ok());
  results = surveys.results(*id, "cli:test");
  EXPECT_EQ(cell(*results, 0, "yes")["people"], 5);
  EXPECT_EQ(cell(*results, 0, "no")["people"], 5);
  EXPECT_EQ(cell(*results, 0, "unsure")["suppressed"], true);

  // Erasing a respondent shreds their answer: "yes" falls to k - 1 and is suppressed again.
  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, members[0], "cli:test", "test").ok());
  results = surveys.results(*id, "cli:test");
  EXPECT_EQ((*results)["respondents"], 9);
  EXPECT_EQ(cell(*results, 0, "yes")["suppressed"], true);
}

TEST_P(AnalyticsTest, SurveyInputIsCheckedAndAnswersAreSealed) {
  Surveys surveys(*store_, keys_, clock_);
  EXPECT_EQ(surveys.create("", {{"Q", {"a", "b"}}}, "t").error().field, "title");
  EXPECT_EQ(surveys.create("T", {}, "t").error().field, "question");
  EXPECT_EQ(surveys.create("T", {{"Q", {"a"}}}, "t").error().field, "choices");
  EXPECT_EQ(surveys.create("T", {{"Q", {"a", "a"}}}, "t").error().field, "choices");
  auto id = surveys.create("T", {{"Q1", {"red", "blue"}}, {"Q2", {"1", "2", "3"}}}, "t");
  ASSERT_TRUE(id.ok());
  const std::string member = add_members(1)[0];
  EXPECT_EQ(surveys.respond(*id, member, {"red"}, "t").error().field, "answer");
  EXPECT_EQ(surveys.respond(*id, member, {"green", "1"}, "t").error().field, "answer");
  EXPECT_EQ(surveys.respond(*id, "0190e2a1-0000-7000-8000-000000000000", {"red", "1"}, "t").error().code,
            ErrorCode::not_found);
  EXPECT_EQ(surveys.respond("0190e2a1-0000-7000-8000-000000000000", member, {"red", "1"}, "t").error().code,
            ErrorCode::not_found);
  ASSERT_TRUE(surveys.respond(*id, member, {"blue", "3"}, "t").ok());
  EXPECT_EQ(surveys.respond(*id, member, {"red", "1"}, "t").error().code, ErrorCode::conflict);

  auto tx = store_->begin(store::TxMode::read);
  auto stored = (*tx)->query("SELECT answers_enc FROM survey_responses");
  ASSERT_EQ(stored->size(), 1u);
  const Bytes& sealed = stored->at(0).blob(0);
  EXPECT_EQ(std::string(sealed.begin(), sealed.end()).find("[1,2]"), std::string::npos);
}

TEST_P(AnalyticsTest, TrafficStatsCountDistinctLinesAndSuppressSmallCells) {
  accounts::Extensions extensions(*store_, keys_, clock_);
  auto writer = std::make_unique<store::AppendWriter>(std::move(test_store_->open()).value());
  traffic::StoreSink sink(*writer, keys_, clock_, "node-a");
  std::vector<std::string> lines;
  lines.reserve(6);
  for (int i = 0; i < 6; ++i)
    lines.push_back(*extensions.add_extension({company_, std::to_string(100 + i), "correct-horse-" + std::to_string(i),
                                               std::nullopt, std::nullopt},
                                              "cli:test"));
  auto call = [&](const std::string& line, traffic::Direction direction) {
    traffic::CallRecord r;
    r.id = new_id(clock_.now_us());
    r.company_id = company_;
    r.subject_id = line;
    r.direction = direction;
    r.source = "101";
    r.destination = "+442071234567";
    r.started_at_us = clock_.now_us();
    r.answered_at_us = r.started_at_us + 1'000'000;
    r.ended_at_us = r.answered_at_us + 120'000'000;
    r.outcome = traffic::Outcome::answered;
    sink.closed(r);
  };
  // outbound: 5 lines (k), two calls each; inbound: 4 lines (k - 1), many calls from one of them.
  for (int i = 0; i < 5; ++i) {
    call(lines[static_cast<size_t>(i)], traffic::Direction::outbound);
    call(lines[static_cast<size_t>(i)], traffic::Direction::outbound);
  }
  for (size_t i = 1; i <= 4; ++i) call(lines[i], traffic::Direction::inbound);
  for (int i = 0; i < 10; ++i) call(lines[1], traffic::Direction::inbound);
  ASSERT_TRUE(sink.flush().ok());

  TrafficStatsQuery by_direction;
  by_direction.by = GroupBy::direction;
  auto stats = traffic_stats(*store_, keys_, clock_, by_direction, "cli:test");
  ASSERT_TRUE(stats.ok()) << stats.error().describe();
  // Lines 0-4 = 5 people in total; inbound (4 < k) is suppressed, and outbound with it, since
  // the total would give inbound away.
  EXPECT_EQ((*stats)["people"], 5);
  ASSERT_EQ((*stats)["cells"].size(), 2u);
  for (const nlohmann::json& c : (*stats)["cells"]) EXPECT_EQ(c["suppressed"], true) << c.dump();

  call(lines[5], traffic::Direction::inbound);  // inbound reaches k
  ASSERT_TRUE(sink.flush().ok());
  stats = traffic_stats(*store_, keys_, clock_, by_direction, "cli:test");
  for (const nlohmann::json& c : (*stats)["cells"]) {
    ASSERT_FALSE(c.contains("suppressed")) << c.dump();
    EXPECT_EQ(c["people"], 5);
    EXPECT_EQ(c["calls"], c["key"] == "inbound" ? 15 : 10);
    EXPECT_EQ(c["minutes"], c["key"] == "inbound" ? 30 : 20);
  }

  TrafficStatsQuery by_company;
  stats = traffic_stats(*store_, keys_, clock_, by_company, "cli:test");
  ASSERT_EQ((*stats)["cells"].size(), 1u);
  EXPECT_EQ((*stats)["cells"][0]["people"], 6);
  EXPECT_EQ((*stats)["cells"][0]["calls"], 25);
}

INSTANTIATE_TEST_SUITE_P(Backends, AnalyticsTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::analytics
