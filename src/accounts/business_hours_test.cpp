// Business hours and holidays: parsing and checks naming their field, is_open across a DST zone
// and on a holiday, and the store on SQLite and PostgreSQL.
#include "accounts/business_hours.h"

#include <gtest/gtest.h>

#include "accounts/accounts.h"
#include "privacy/audit_record.h"
#include "store/test_stores.h"

namespace privox::accounts {
namespace {

std::string field_of(CompanyHours hours) {
  const Status checked = check_hours(hours);
  return checked.ok() ? "ok" : checked.error().field;
}

CompanyHours weekdays_nine_to_five_thirty() {
  CompanyHours h;
  h.week.emplace();
  for (size_t day = 0; day < 5; ++day) (*h.week)[day] = {{9 * 60, 12 * 60 + 30}, {13 * 60 + 30, 17 * 60 + 30}};
  return h;
}

TEST(BusinessHoursTest, DaysParseAndBadOnesNameTheirField) {
  const auto day = parse_day_hours("09:00-12:30,13:30-24:00", "hours.mon");
  ASSERT_TRUE(day.ok()) << day.error().describe();
  ASSERT_EQ(day->size(), 2u);
  EXPECT_EQ(format_interval((*day)[0]), "09:00-12:30");
  EXPECT_EQ((*day)[1].end_minute, 1440);
  EXPECT_TRUE(parse_day_hours("closed", "hours.sat")->empty());
  for (const char* bad : {"9:00-17:00", "09:00", "09:00-", "09:60-10:00", "24:00-24:00", "25:00-26:00", "a", "09:00-17:00,", "17:00-09:00", "09:00-10:00,09:30-11:00"}) {
    const auto parsed = parse_day_hours(bad, "hours.tue");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().field, "hours.tue") << bad;
  }
  EXPECT_EQ(weekday_of("Tue"), 1u);
  EXPECT_FALSE(weekday_of("tuesday"));
}

TEST(BusinessHoursTest, OverlapsTooManyAndBackwardsAreRefusedOnTheDay) {
  EXPECT_EQ(field_of(weekdays_nine_to_five_thirty()), "ok");
  CompanyHours overlap = weekdays_nine_to_five_thirty();
  (*overlap.week)[1] = {{13 * 60, 17 * 60}, {9 * 60, 13 * 60 + 1}};
  EXPECT_EQ(field_of(overlap), "hours.tue");
  CompanyHours touching = weekdays_nine_to_five_thirty();
  (*touching.week)[2] = {{9 * 60, 12 * 60}, {12 * 60, 17 * 60}};
  EXPECT_EQ(field_of(touching), "hours.wed");
  CompanyHours backwards = weekdays_nine_to_five_thirty();
  (*backwards.week)[6] = {{17 * 60, 9 * 60}};
  EXPECT_EQ(field_of(backwards), "hours.sun");
  CompanyHours many = weekdays_nine_to_five_thirty();
  (*many.week)[5] = {{60, 120}, {180, 240}, {300, 360}, {420, 480}, {540, 600}};
  EXPECT_EQ(field_of(many), "hours.sat");
  CompanyHours twice = weekdays_nine_to_five_thirty();
  twice.holidays = {{"2026-12-25", "Christmas Day"}, {"2026-12-25", "Again"}};
  EXPECT_EQ(field_of(twice), "holidays");
  for (const char* bad : {"2026-02-30", "2026-13-01", "26-12-25", "2026/12/25", ""}) {
    CompanyHours h;
    h.holidays = {{bad, "x"}};
    EXPECT_EQ(field_of(h), "holidays") << bad;
  }
  CompanyHours long_label;
  long_label.holidays = {{"2026-12-25", std::string(kMaxHolidayLabel + 1, 'x')}};
  EXPECT_EQ(field_of(long_label), "holidays");
}

TEST(BusinessHoursTest, OpenIsJudgedInTheCompanysZoneWithSummerTimeAndHolidays) {
  const TimeZone london = TimeZone::find("Europe/London").value();
  const CompanyHours h = weekdays_nine_to_five_thirty();
  const std::vector<Holiday> none;
  // Wednesday 15 July 2026: BST, so 08:30 UTC is 09:30 local (open) and 16:45 UTC is 17:45 (closed).
  EXPECT_TRUE(is_open(*h.week, none, london, *parse_time("2026-07-15T08:30:00Z")));
  EXPECT_FALSE(is_open(*h.week, none, london, *parse_time("2026-07-15T16:45:00Z")));
  EXPECT_TRUE(is_open(*h.week, none, TimeZone::utc(), *parse_time("2026-07-15T16:45:00Z")));
  EXPECT_FALSE(is_open(*h.week, none, london, *parse_time("2026-07-15T11:45:00Z"))) << "12:45 BST, lunch";
  // In winter London is on UTC: 09:00 UTC is 09:00 local.
  EXPECT_TRUE(is_open(*h.week, none, london, *parse_time("2026-01-14T09:00:00Z")));
  EXPECT_FALSE(is_open(*h.week, none, london, *parse_time("2026-01-14T08:59:00Z")));
  // Saturday 18 July is closed; Friday 25 December 2026 is a holiday, closed all day.
  EXPECT_FALSE(is_open(*h.week, none, london, *parse_time("2026-07-18T10:00:00Z")));
  EXPECT_TRUE(is_open(*h.week, none, london, *parse_time("2026-12-25T10:00:00Z")));
  EXPECT_FALSE(is_open(*h.week, {{"2026-12-25", "Christmas Day"}}, london, *parse_time("2026-12-25T10:00:00Z")));
  // The holiday is the local date: 23:30 UTC on 24 December is 25 December in Tokyo.
  const TimeZone tokyo = TimeZone::find("Asia/Tokyo").value();
  WeekHours always;
  for (auto& day : always) day = {{0, 1440}};
  EXPECT_FALSE(is_open(always, {{"2026-12-25", ""}}, tokyo, *parse_time("2026-12-24T23:30:00Z")));
  EXPECT_TRUE(is_open(always, {{"2026-12-25", ""}}, london, *parse_time("2026-12-24T23:30:00Z")));
}

class BusinessHoursStoreTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts_ = std::make_unique<Accounts>(*store_, keys_, clock_);
    hours_ = std::make_unique<BusinessHours>(*store_, keys_, clock_);
    auto company = accounts_->add_company({"Acme Ltd", "eea", ""}, "cli:test");
    ASSERT_TRUE(company.ok()) << company.error().describe();
    company_ = *company;
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<BusinessHours> hours_;
  std::string company_;
};

TEST_P(BusinessHoursStoreTest, HoursAreNoneUntilSetThenKeptWholeWithAnAuditOfCounts) {
  const auto before = hours_->get(company_);
  ASSERT_TRUE(before.ok()) << before.error().describe();
  EXPECT_FALSE(before->week.has_value());
  EXPECT_TRUE(before->holidays.empty());

  CompanyHours wanted = weekdays_nine_to_five_thirty();
  wanted.holidays = {{"2026-12-26", "Boxing Day"}, {"2026-12-25", "Christmas Day"}};
  const auto stored = hours_->set(company_, wanted, "cli:test");
  ASSERT_TRUE(stored.ok()) << stored.error().describe();
  const auto read = hours_->get(company_);
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(read->week.has_value());
  EXPECT_EQ(*read->week, *wanted.week);
  ASSERT_EQ(read->holidays.size(), 2u);
  EXPECT_EQ(read->holidays[0].date, "2026-12-25") << "sorted by date";
  EXPECT_EQ(read->holidays[1].label, "Boxing Day");
  const auto all = [&] {
    auto tx = store_->begin(store::TxMode::read);
    return companies_with_hours(**tx);
  }();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->count(company_), 1u);

  {
    auto tx = store_->begin(store::TxMode::read);
    const auto rows = (*tx)->query("SELECT action, detail FROM audit_log ORDER BY seq DESC LIMIT 1");
    ASSERT_TRUE(rows.ok()) << rows.error().describe();
    EXPECT_EQ(rows->at(0).text(0), "company.hours");
    const std::string detail = rows->at(0).text(1);
    EXPECT_NE(detail.find("\"intervals\":10"), std::string::npos) << detail;
    EXPECT_EQ(detail.find("Christmas"), std::string::npos) << "counts only";
  }

  // A change that fails its check stores nothing.
  const auto refused = hours_->update(
      company_,
      [](CompanyHours& h) -> Status {
        (*h.week)[1].push_back({10 * 60, 11 * 60});
        return {};
      },
      "cli:test");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "hours.tue");
  EXPECT_EQ(hours_->get(company_)->week, wanted.week);

  // Clearing the week keeps the holidays; an unknown company is not found.
  CompanyHours cleared;
  cleared.holidays = read->holidays;
  ASSERT_TRUE(hours_->set(company_, cleared, "cli:test").ok());
  EXPECT_FALSE(hours_->get(company_)->week.has_value());
  EXPECT_EQ(hours_->get(company_)->holidays.size(), 2u);
  const auto missing = hours_->get(std::string(company_).replace(company_.size() - 4, 4, "0000"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

INSTANTIATE_TEST_SUITE_P(Backends, BusinessHoursStoreTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::accounts
