#include "retention/retention.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "common/ids.h"
#include "ledgers/legal_holds.h"
#include "retention/closures.h"
#include "retention/scheduler.h"
#include "store/settings.h"
#include "store/test_stores.h"
#include "traffic/anonymise.h"
#include "traffic/cdr.h"
#include "traffic/store_sink.h"
#include "privacy/settings_change.h"
#include "erasure/erasure.h"

namespace privox::retention {
namespace {

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kStart = 1'795'000'000'000'000;

// Traffic generated through the real write path (StoreSink, AppendWriter), then retention runs
// against it at chosen times, on both backends.
class RetentionTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    company_ = *accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    other_company_ = *accounts.add_company({"Beta LLC", "us", ""}, "cli:test");
    auto member = accounts.add_member(company_, member_fields("Ada Lovelace", "ada@example.org"), "cli:test");
    ASSERT_TRUE(member.ok()) << member.error().describe();
    member_ = *member;
    accounts::Extensions extensions(*store_, keys_, clock_);
    line_a_ = *extensions.add_extension({company_, "101", "correct-horse-7", member_, std::nullopt}, "cli:test");
    line_b_ = *extensions.add_extension({company_, "102", "correct-horse-8", std::nullopt, std::nullopt}, "cli:test");
    line_c_ = *extensions.add_extension({other_company_, "201", "correct-horse-9", std::nullopt, std::nullopt},
                                        "cli:test");
    writer_ = std::make_unique<store::AppendWriter>(std::move(test_store_->open()).value());
    sink_ = std::make_unique<traffic::StoreSink>(*writer_, keys_, clock_, "node-a");
  }

  static accounts::FieldValues member_fields(const std::string& name, const std::string& email) {
    return {{"name", name},          {"email", email},           {"phone", "020 7946 0958"},
            {"address", "1 High St"}, {"birth_date", "1990-01-31"}, {"payment_token", "tok_abcdef"}};
  }

  // A finished call of `line` that ended at `ended_us`.
  std::string call(const std::string& company, const std::string& line, int64_t ended_us,
                   std::string source = "+442071234567", std::string destination = "+14155550123",
                   bool withheld = false) {
    traffic::CallRecord r;
    r.id = new_id(ended_us);
    r.company_id = company;
    r.subject_id = line;
    r.direction = traffic::Direction::outbound;
    r.source = std::move(source);
    r.destination = std::move(destination);
    r.source_withheld = withheld;
    r.started_at_us = ended_us - 70'000'000;
    r.answered_at_us = ended_us - 60'000'000;
    r.ended_at_us = ended_us;
    r.outcome = traffic::Outcome::answered;
    r.caller_equipment = "Yealink T46U";
    r.callee_equipment = "carrier-gw";
    sink_->closed(r);
    return r.id;
  }

  void flush() { ASSERT_TRUE(sink_->flush().ok()); }

  store::Rows query(const std::string& sql, const store::Params& params = {}) {
    auto tx = store_->begin(store::TxMode::read);
    auto rows = (*tx)->query(sql, params);
    EXPECT_TRUE(rows.ok()) << rows.error().describe();
    return rows.ok() ? *rows : store::Rows{};
  }
  int64_t count(const std::string& sql, const store::Params& params = {}) { return query(sql, params).at(0).i64(0); }

  JobReport run(Job job, int64_t as_of_us, RunOptions options = {}) {
    options.as_of_us = as_of_us;
    RetentionJobs jobs(*store_, keys_, clock_);
    auto report = jobs.run(job, options, "job:test");
    EXPECT_TRUE(report.ok()) << report.error().describe();
    return report.ok() ? *report : JobReport{};
  }

  void set(const std::string& key, const std::string& value) {
    const Status s = privacy::change_setting(*store_, keys_, clock_, key, value, "cli:test");
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{kStart};
  std::string company_, other_company_, member_, line_a_, line_b_, line_c_;
  std::unique_ptr<store::AppendWriter> writer_;
  std::unique_ptr<traffic::StoreSink> sink_;
};

TEST_P(RetentionTest, RecordsAreAnonymisedOnlyOnceTheDisputePeriodHasPassed) {
  const std::string old_call = call(company_, line_a_, kStart);
  const std::string edge_call = call(company_, line_b_, kStart + 10 * kDay);
  flush();

  // 180 days (the default) after the first call ended: the second is 170 days old.
  const JobReport report = run(Job::traffic, kStart + 180 * kDay + 1);
  EXPECT_TRUE(report.finished);
  EXPECT_EQ(report.changed, 1);
  store::Rows old_row = query("SELECT subject_id, source_prefix, destination_prefix, source_enc, destination_enc, "
                              "caller_equipment_enc, callee_equipment_enc, anonymised_at_us, log_hidden_at_us "
                              "FROM traffic_records WHERE id = ?",
                              {old_call});
  ASSERT_EQ(old_row.size(), 1u);
  EXPECT_EQ(old_row[0].text(0), traffic::kAnonymisedSubject);
  EXPECT_EQ(old_row[0].text(1), "+44207");
  EXPECT_EQ(old_row[0].text(2), "+1415");
  for (size_t sealed = 3; sealed <= 6; ++sealed) EXPECT_TRUE(old_row[0].is_null(sealed)) << sealed;
  EXPECT_FALSE(old_row[0].is_null(7));
  EXPECT_FALSE(old_row[0].is_null(8));  // and it left every call log

  store::Rows edge_row = query("SELECT subject_id, source_enc, anonymised_at_us FROM traffic_records WHERE id = ?",
                               {edge_call});
  EXPECT_EQ(edge_row[0].text(0), line_b_);
  EXPECT_FALSE(edge_row[0].is_null(1));
  EXPECT_TRUE(edge_row[0].is_null(2));

  // Ten days later the second one goes too.
  EXPECT_EQ(run(Job::traffic, kStart + 190 * kDay + 1).changed, 1);
  EXPECT_EQ(count("SELECT count(*) FROM traffic_records WHERE subject_id = ?", {std::string(traffic::kAnonymisedSubject)}), 2);
}

TEST_P(RetentionTest, PrefixesFollowTheRulesAndAWithheldCallerStaysWithheld) {
  const std::string internal = call(company_, line_a_, kStart, "101", "102");
  const std::string withheld = call(company_, line_a_, kStart, "+442071234567", "+33612345678", true);
  const std::string sip_address = call(company_, line_a_, kStart, "sip:someone@example.org", "4415550123456");
  flush();
  EXPECT_EQ(run(Job::traffic, kStart + 181 * kDay).changed, 3);

  auto prefixes = [&](const std::string& id) {
    return query("SELECT source_prefix, destination_prefix, source_withheld FROM traffic_records WHERE id = ?", {id})
        .at(0);
  };
  EXPECT_TRUE(prefixes(internal).is_null(0));
  EXPECT_TRUE(prefixes(internal).is_null(1));
  EXPECT_TRUE(prefixes(withheld).is_null(0));
  EXPECT_EQ(prefixes(withheld).text(1), "+33612");
  EXPECT_EQ(prefixes(withheld).i64(2), 1);
  EXPECT_TRUE(prefixes(sip_address).is_null(0));
  EXPECT_EQ(prefixes(sip_address).text(1), "+44155");
}

TEST_P(RetentionTest, TheWritePathStoresPrefixesWithEmptyTextForNothingKept) {
  const std::string external = call(company_, line_a_, kStart);
  const std::string internal = call(company_, line_a_, kStart, "101", "102");
  const std::string withheld = call(company_, line_a_, kStart, "+442071234567", "+33612345678", true);
  flush();
  auto prefixes = [&](const std::string& id) {
    return query("SELECT source_prefix, destination_prefix FROM traffic_records WHERE id = ?", {id}).at(0);
  };
  EXPECT_EQ(prefixes(external).text(0), "+44207");
  EXPECT_EQ(prefixes(external).text(1), "+1415");
  EXPECT_EQ(prefixes(internal).text(0), "");
  EXPECT_EQ(prefixes(internal).text(1), "");
  EXPECT_EQ(prefixes(withheld).text(0), "");
  EXPECT_EQ(prefixes(withheld).text(1), "+33612");
}

// Records written before prefixes were stored at write time have NULL there: the job opens their
// sealed parties instead, in the same batches as the others, and holds still apply to them.
TEST_P(RetentionTest, RecordsWrittenWithoutPrefixesAreCutFromTheirSealedParties) {
  std::vector<std::string> legacy, current;
  for (int i = 0; i < 6; ++i) {
    legacy.push_back(call(company_, i % 2 ? line_b_ : line_c_, kStart + int64_t{2} * i, "+442071234567", "101"));
    current.push_back(call(company_, line_b_, kStart + int64_t{2} * i + 1, "+33612345678", "+14155550123"));
  }
  const std::string held_legacy = call(company_, line_a_, kStart + 20);
  flush();
  {
    auto tx = store_->begin(store::TxMode::write);
    ASSERT_TRUE(tx.ok());
    for (const std::string& id : legacy)
      ASSERT_TRUE((*tx)->exec("UPDATE traffic_records SET source_prefix = NULL, destination_prefix = NULL "
                              "WHERE id = ?", {id}).ok());
    ASSERT_TRUE((*tx)->exec("UPDATE traffic_records SET source_prefix = NULL, destination_prefix = NULL "
                            "WHERE id = ?", {held_legacy}).ok());
    ASSERT_TRUE((*tx)->commit().ok());
  }
  ledgers::LegalHolds holds(*store_, keys_, clock_);
  ASSERT_TRUE(holds.place(member_, "litigation", "case 43", "cli:test").ok());

  RunOptions options;
  options.batch_rows = 5;  // batches that mix both kinds of record
  const JobReport report = run(Job::traffic, kStart + 181 * kDay, options);
  EXPECT_EQ(report.changed, 12);
  EXPECT_EQ(report.held_subjects, std::vector<std::string>{line_a_});
  for (const std::string& id : legacy) {
    const store::Row r = query("SELECT subject_id, source_prefix, destination_prefix, source_enc FROM traffic_records "
                               "WHERE id = ?", {id}).at(0);
    EXPECT_EQ(r.text(0), traffic::kAnonymisedSubject);
    EXPECT_EQ(r.text(1), "+44207");
    EXPECT_TRUE(r.is_null(2));  // an extension keeps nothing
    EXPECT_TRUE(r.is_null(3));
  }
  for (const std::string& id : current) {
    const store::Row r = query("SELECT source_prefix, destination_prefix FROM traffic_records WHERE id = ?", {id}).at(0);
    EXPECT_EQ(r.text(0), "+33612");
    EXPECT_EQ(r.text(1), "+1415");
  }
  EXPECT_EQ(count("SELECT count(*) FROM traffic_records WHERE id = ? AND source_enc IS NOT NULL "
                  "AND anonymised_at_us IS NULL", {held_legacy}), 1);
}

TEST_P(RetentionTest, AggregatesPerCompanyAreUnchangedAndTheSubjectLinkIsGone) {
  for (int64_t i = 0; i < 4; ++i) call(company_, i % 2 ? line_a_ : line_b_, kStart + i * 1000);
  for (int64_t i = 0; i < 3; ++i) call(other_company_, line_c_, kStart + i * 1000);
  flush();
  const std::string per_company =
      "SELECT company_id, direction, kind, outcome, count(*), sum(duration_ms), min(started_at_us), "
      "max(ended_at_us), count(trunk_id) FROM traffic_records GROUP BY company_id, direction, kind, outcome "
      "ORDER BY company_id, direction";
  auto snapshot = [&] {
    std::vector<std::string> out;
    for (const store::Row& r : query(per_company))
      out.push_back(fmt::format("{} {} {} {} {} {} {} {} {}", r.text(0), r.text(1), r.text(2), r.text(3), r.i64(4),
                                r.i64(5), r.i64(6), r.i64(7), r.i64(8)));
    return out;
  };
  const std::vector<std::string> before = snapshot();
  EXPECT_EQ(run(Job::traffic, kStart + 200 * kDay).changed, 7);
  EXPECT_EQ(snapshot(), before);
  for (const std::string& line : {line_a_, line_b_, line_c_})
    EXPECT_EQ(count("SELECT count(*) FROM traffic_records WHERE subject_id = ?", {line}), 0) << line;

  // What a reader gets back after anonymisation: no parties, no equipment, for any purpose.
  traffic::CdrQuery legal;
  legal.purpose = privacy::Purpose::legal;
  auto rows = traffic::list_records(*store_, keys_, clock_, legal, "cli:test");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 7u);
  for (const traffic::CdrRow& r : *rows) {
    EXPECT_FALSE(r.source.has_value());
    EXPECT_FALSE(r.destination.has_value());
    EXPECT_FALSE(r.caller_equipment.has_value());
  }
}

TEST_P(RetentionTest, ASecondRunChangesNothingAndEveryRunIsAudited) {
  for (int i = 0; i < 5; ++i) call(company_, line_b_, kStart + i);
  flush();
  const int64_t as_of = kStart + 181 * kDay;
  EXPECT_EQ(run(Job::traffic, as_of).changed, 5);
  const std::string state = "SELECT id, subject_id, source_prefix, anonymised_at_us FROM traffic_records ORDER BY id";
  const store::Rows first = query(state);
  clock_.advance_us(1'000'000);
  const JobReport again = run(Job::traffic, as_of);
  EXPECT_EQ(again.changed, 0);
  EXPECT_FALSE(again.resumed);
  const store::Rows second = query(state);
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].i64(3), second[i].i64(3));

  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'retention.traffic'"), 2);
  const store::Rows detail = query("SELECT detail FROM audit_log WHERE action = 'retention.traffic' ORDER BY seq");
  EXPECT_EQ(nlohmann::json::parse(detail[0].text(0))["changed"], 5);
  EXPECT_EQ(nlohmann::json::parse(detail[1].text(0))["changed"], 0);
  auto verified = privacy::AuditChain(keys_, clock_).verify(*store_);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << verified->problem;
}

TEST_P(RetentionTest, ALineOfAMemberUnderLegalHoldIsSkippedAndReported) {
  call(company_, line_a_, kStart);  // line_a_ is the held member's
  call(company_, line_b_, kStart);
  flush();
  ledgers::LegalHolds holds(*store_, keys_, clock_);
  auto hold = holds.place(member_, "litigation", "case 42", "cli:test");
  ASSERT_TRUE(hold.ok()) << hold.error().describe();

  const JobReport held = run(Job::traffic, kStart + 181 * kDay);
  EXPECT_EQ(held.changed, 1);
  EXPECT_EQ(held.held_subjects, std::vector<std::string>{line_a_});
  EXPECT_EQ(count("SELECT count(*) FROM traffic_records WHERE subject_id = ? AND source_enc IS NOT NULL", {line_a_}), 1);
  const store::Rows audit = query("SELECT detail FROM audit_log WHERE action = 'retention.traffic'");
  EXPECT_EQ(nlohmann::json::parse(audit.at(0).text(0))["held_subjects"], nlohmann::json::array({line_a_}));

  ASSERT_TRUE(holds.release(*hold, "cli:test").ok());
  const JobReport released = run(Job::traffic, kStart + 182 * kDay);
  EXPECT_EQ(released.changed, 1);
  EXPECT_TRUE(released.held_subjects.empty());
}

TEST_P(RetentionTest, AnInterruptedRunResumesWhereItStoppedWithItsOwnTime) {
  for (int i = 0; i < 25; ++i) call(i % 3 ? company_ : other_company_, i % 2 ? line_a_ : line_c_, kStart + i);
  flush();
  RunOptions stop_early;
  stop_early.batch_rows = 10;
  stop_early.max_batches = 1;
  const JobReport first = run(Job::traffic, kStart + 181 * kDay, stop_early);
  EXPECT_FALSE(first.finished);
  EXPECT_EQ(first.changed, 10);
  EXPECT_EQ(count("SELECT count(*) FROM retention_runs WHERE job = 'traffic' AND finished_at_us IS NULL"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM traffic_records WHERE anonymised_at_us IS NOT NULL"), 10);

  // A new process: the run is continued with the time it started with, not the new one.
  RunOptions rest;
  rest.batch_rows = 10;
  const JobReport second = run(Job::traffic, kStart + 400 * kDay, rest);
  EXPECT_TRUE(second.resumed);
  EXPECT_TRUE(second.finished);
  EXPECT_EQ(second.run_id, first.run_id);
  EXPECT_EQ(second.as_of_us, kStart + 181 * kDay);
  EXPECT_EQ(second.changed, 15);
  EXPECT_EQ(second.batches, 2);
  EXPECT_EQ(count("SELECT count(*) FROM traffic_records WHERE anonymised_at_us IS NULL"), 0);
  const store::Rows totals = query("SELECT batches, changed, finished_at_us FROM retention_runs WHERE job = 'traffic'");
  EXPECT_EQ(totals[0].i64(0), 3);
  EXPECT_EQ(totals[0].i64(1), 25);
  EXPECT_FALSE(totals[0].is_null(2));
}

TEST_P(RetentionTest, CallLogsKeepTheNewestEntriesWithinTheAgeLimit) {
  set("retention.call_log_max_entries", "5");
  set("retention.call_log_max_age_days", "30");
  // Line a: 12 calls, one a day, the first 40 days before as-of. Line b: 2 calls, one too old.
  const int64_t as_of = kStart + 40 * kDay;
  std::vector<std::string> line_a_calls;
  line_a_calls.reserve(12);
  for (int i = 0; i < 12; ++i) line_a_calls.push_back(call(company_, line_a_, kStart + (28 + i) * kDay));
  const std::string b_old = call(company_, line_b_, kStart + kDay);
  const std::string b_new = call(company_, line_b_, kStart + 35 * kDay);
  flush();

  RunOptions options;
  options.batch_rows = 4;  // several batches in both passes
  const JobReport report = run(Job::call_log, as_of, options);
  EXPECT_TRUE(report.finished);
  // Line a: all 12 are within 30 days, so the count limit leaves its newest 5; line b's old one goes by age.
  const store::Rows visible_a = query("SELECT id FROM traffic_records WHERE subject_id = ? AND log_hidden_at_us IS NULL "
                                      "ORDER BY started_at_us",
                                      {line_a_});
  ASSERT_EQ(visible_a.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(visible_a[i].text(0), line_a_calls[7 + i]);
  EXPECT_FALSE(query("SELECT log_hidden_at_us FROM traffic_records WHERE id = ?", {b_old})[0].is_null(0));
  EXPECT_TRUE(query("SELECT log_hidden_at_us FROM traffic_records WHERE id = ?", {b_new})[0].is_null(0));
  EXPECT_EQ(report.changed, 7 + 1);
  // Billing keeps them: hidden, not deleted or anonymised.
  EXPECT_EQ(count("SELECT count(*) FROM traffic_records WHERE source_enc IS NOT NULL"), 14);

  EXPECT_EQ(run(Job::call_log, as_of).changed, 0);
}

TEST_P(RetentionTest, ClosedAccountsAreErasedAfterTheGracePeriodUnlessHeld) {
  accounts::Accounts accounts(*store_, keys_, clock_);
  auto other = accounts.add_member(company_, member_fields("Grace Hopper", "grace@example.org"), "cli:test");
  ASSERT_TRUE(other.ok());
  auto closed = close_account(*store_, keys_, clock_, member_, "cli:test");
  ASSERT_TRUE(closed.ok()) << closed.error().describe();
  EXPECT_FALSE(closed->already_closed);
  auto again = close_account(*store_, keys_, clock_, member_, "cli:test");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_closed);
  EXPECT_EQ(again->closed_at_us, closed->closed_at_us);
  ASSERT_TRUE(close_account(*store_, keys_, clock_, *other, "cli:test").ok());
  ledgers::LegalHolds holds(*store_, keys_, clock_);
  ASSERT_TRUE(holds.place(*other, "authority order", "ref 7", "cli:test").ok());

  auto status = [&](const std::string& id) { return query("SELECT status FROM members WHERE id = ?", {id})[0].text(0); };
  EXPECT_EQ(run(Job::closed_accounts, kStart + 29 * kDay).changed, 0);  // the default grace is 30 days
  EXPECT_EQ(status(member_), "active");

  const JobReport due = run(Job::closed_accounts, kStart + 30 * kDay);
  EXPECT_EQ(due.changed, 1);
  EXPECT_EQ(due.held_subjects, std::vector<std::string>{*other});
  EXPECT_EQ(status(member_), "erased");
  EXPECT_EQ(status(*other), "active");
  EXPECT_EQ(count("SELECT count(*) FROM account_closures WHERE erased_at_us IS NOT NULL"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM extensions WHERE member_id = ?", {member_}), 0);  // lines unassigned
  EXPECT_EQ(run(Job::closed_accounts, kStart + 31 * kDay).changed, 0);

  auto erased_again = close_account(*store_, keys_, clock_, member_, "cli:test");
  ASSERT_TRUE(erased_again.ok());
  EXPECT_TRUE(erased_again->already_closed);
}

TEST_P(RetentionTest, ClosingNeedsAKnownLiveMember) {
  auto bad = close_account(*store_, keys_, clock_, "not-an-id", "cli:test");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "id");
  auto unknown = close_account(*store_, keys_, clock_, "0190e2a1-0000-7000-8000-000000000000", "cli:test");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);
  accounts::Accounts accounts(*store_, keys_, clock_);
  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, member_, "cli:test", "test").ok());
  auto erased = close_account(*store_, keys_, clock_, member_, "cli:test");
  ASSERT_FALSE(erased.ok());
  EXPECT_EQ(erased.error().code, ErrorCode::erased);
}

TEST_P(RetentionTest, TheSchedulerRunsEveryJobOnlyWhileNoOneElseHoldsTheLock) {
  call(company_, line_b_, kStart - 200 * kDay);
  flush();
  auto wait_for_round = [](const Scheduler& scheduler) {
    for (int i = 0; i < 200 && scheduler.completed_rounds() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return scheduler.completed_rounds();
  };
  {
    auto other_node = store_->try_lock_job(kJobLockName);
    ASSERT_TRUE(other_node.ok() && *other_node);
    Scheduler scheduler(*store_, keys_, clock_, 20'000);
    std::atomic<int> swept{0};
    scheduler.add_node_sweep([&] { swept.fetch_add(1); });
    scheduler.start(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    scheduler.stop();
    EXPECT_EQ(scheduler.completed_rounds(), 0u);
    EXPECT_GE(swept.load(), 1) << "a node sweeps its own files whoever holds the lock";
  }
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action LIKE 'retention.%'"), 0);

  Scheduler scheduler(*store_, keys_, clock_, 3'600'000'000);
  scheduler.start(0);
  EXPECT_GE(wait_for_round(scheduler), 1u);
  scheduler.stop();
  for (const char* action : {"retention.traffic", "retention.call_log", "retention.closed_accounts"})
    EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = ?", {std::string(action)}), 1) << action;
  EXPECT_EQ(count("SELECT count(*) FROM traffic_records WHERE subject_id = ?", {std::string(traffic::kAnonymisedSubject)}), 1);
}

// Issue 13: closing a company ends its service only when the notice is over, and then for good:
// its lines go with their registrations (the DID is free for another company), its members'
// accounts close, and the closed-accounts job erases them after the grace period.
TEST_P(RetentionTest, AClosingCompanyLosesItsLinesWhenTheNoticeEndsAndItsMembersAreErasedLater) {
  accounts::Extensions extensions(*store_, keys_, clock_);
  auto with_did = extensions.add_extension({company_, "103", "correct-horse-6", std::nullopt, "+442079460111"}, "cli:test");
  ASSERT_TRUE(with_did.ok()) << with_did.error().describe();
  {
    auto tx = store_->begin(store::TxMode::write);
    ASSERT_TRUE((*tx)->exec("INSERT INTO bindings (id, extension_id, contact_enc, contact_bidx, cseq, expires_at_us, "
                            "updated_at_us) VALUES ('b1', ?, ?, ?, 1, ?, ?)",
                            {line_a_, Bytes{1, 2}, Bytes{3, 4}, kStart + kDay, kStart})
                    .ok());
    ASSERT_TRUE((*tx)->commit().ok());
  }
  CompanyClosures closures(*store_, keys_, clock_);
  auto scheduled = closures.schedule(company_, "member:manager");
  ASSERT_TRUE(scheduled.ok()) << scheduled.error().describe();
  EXPECT_EQ(scheduled->service_ends_at_us, kStart + 30 * kDay);  // the default notice
  auto twice = closures.schedule(company_, "member:manager");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::conflict);
  // A closing company takes no new lines or members.
  auto refused = extensions.add_extension({company_, "104", "correct-horse-5", std::nullopt, std::nullopt}, "cli:test");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "company");
  EXPECT_NE(refused.error().message.find("closing"), std::string::npos) << refused.error().message;
  accounts::Accounts accounts(*store_, keys_, clock_);
  EXPECT_FALSE(accounts.add_member(company_, member_fields("Bea", "bea@example.org"), "cli:test").ok());

  // Before the notice ends nothing happens; calling it off and asking again restarts the notice.
  EXPECT_EQ(run(Job::company_closures, kStart + 29 * kDay).changed, 0);
  EXPECT_EQ(count("SELECT count(*) FROM extensions WHERE company_id = ?", {company_}), 3);
  ASSERT_TRUE(closures.cancel(company_, "member:manager").ok());
  EXPECT_FALSE(closures.get(company_)->scheduled());
  clock_.set_us(kStart + 10 * kDay);
  ASSERT_TRUE(closures.schedule(company_, "member:manager").ok());
  EXPECT_EQ(run(Job::company_closures, kStart + 39 * kDay).changed, 0);

  clock_.set_us(kStart + 40 * kDay);
  const JobReport ended = run(Job::company_closures, kStart + 40 * kDay);
  EXPECT_EQ(ended.changed, 1);
  EXPECT_EQ(count("SELECT count(*) FROM extensions WHERE company_id = ?", {company_}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM bindings"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM extensions WHERE company_id = ?", {other_company_}), 1);  // others untouched
  EXPECT_TRUE(closures.get(company_)->closed());
  EXPECT_FALSE(closures.cancel(company_, "member:manager").ok()) << "a closed company cannot be reopened";
  EXPECT_EQ(count("SELECT count(*) FROM account_closures WHERE member_id = ?", {member_}), 1);
  EXPECT_EQ(count("SELECT count(*) FROM directory_changes WHERE change = 'removed'"), 3);
  // The number is free again, for another company.
  EXPECT_TRUE(extensions.add_extension({other_company_, "202", "correct-horse-4", std::nullopt, "+442079460111"}, "cli:test")
                  .ok());
  EXPECT_EQ(run(Job::company_closures, kStart + 41 * kDay).changed, 0) << "a company closes once";

  // Then the policy's grace period for closed accounts, and erasure.
  EXPECT_EQ(run(Job::closed_accounts, kStart + 69 * kDay).changed, 0);
  EXPECT_EQ(run(Job::closed_accounts, kStart + 70 * kDay).changed, 1);
  EXPECT_EQ(query("SELECT status FROM members WHERE id = ?", {member_})[0].text(0), "erased");
}

INSTANTIATE_TEST_SUITE_P(Backends, RetentionTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::retention
