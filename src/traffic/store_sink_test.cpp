#include "traffic/store_sink.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "privacy/audit_record.h"
#include "rating/store.h"
#include "store/test_stores.h"
#include "traffic/cdr.h"
#include "traffic/rerate.h"

namespace privox::traffic {
namespace {

// Traffic records through the batched writer, read back by cdr, on both backends.
class StoreSinkTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    company_ = *accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    accounts::Extensions extensions(*store_, keys_, clock_);
    auto ext = extensions.add_extension({company_, "101", "correct-horse-7", std::nullopt, std::nullopt}, "cli:test");
    ASSERT_TRUE(ext.ok()) << ext.error().describe();
    extension_ = *ext;
    writer_ = std::make_unique<store::AppendWriter>(
        std::move(test_store_->open()).value(),
        store::AppendOptions{.on_batch = [this](const store::BatchOutcome& b) {
          std::lock_guard lock(mutex_);
          batches_.push_back(b);
        }});
    sink_ = std::make_unique<StoreSink>(*writer_, keys_, clock_, "node-a");
  }

  // What the worker's event loop does in privox serve: hand each finished batch to the sink.
  void deliver() {
    std::vector<store::BatchOutcome> batches;
    {
      std::lock_guard lock(mutex_);
      batches.swap(batches_);
    }
    for (const store::BatchOutcome& b : batches) sink_->completed(b);
  }

  // Opens the call's record; what opened() reports lands in `outcome`.
  void open(const CallRecord& call, std::optional<Status>* outcome = nullptr) {
    sink_->opened(call, [outcome](const Status& s) {
      if (outcome) *outcome = s;
    });
  }

  CallRecord answered_call(std::string id) {
    CallRecord r;
    r.id = std::move(id);
    r.company_id = company_;
    r.subject_id = extension_;
    r.direction = Direction::outbound;
    r.source = "+442071239876";
    r.destination = "+14155550123";
    r.started_at_us = clock_.now_us();
    r.answered_at_us = r.started_at_us + 3'000'000;
    r.caller_equipment = "Yealink T46U";
    r.callee_equipment = "carrier-gw";
    return r;
  }

  std::vector<CdrRow> list(privacy::Purpose purpose) {
    CdrQuery query;
    query.purpose = purpose;
    auto rows = list_records(*store_, keys_, clock_, query, "cli:test");
    EXPECT_TRUE(rows.ok()) << rows.error().describe();
    return rows.ok() ? *rows : std::vector<CdrRow>{};
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::string company_, extension_;
  std::mutex mutex_;
  std::vector<store::BatchOutcome> batches_;  // guarded by mutex_
  std::unique_ptr<store::AppendWriter> writer_;
  std::unique_ptr<StoreSink> sink_;
};

TEST_P(StoreSinkTest, AnAnsweredCallIsDurableWhenAnsweredAndCompleteWhenItEnds) {
  CallRecord call = answered_call("rec-1");
  open(call);
  ASSERT_TRUE(sink_->flush().ok());
  auto open = list(privacy::Purpose::billing);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].outcome, "open");
  EXPECT_EQ(open[0].source, "+442071239876");

  call.ended_at_us = call.answered_at_us + 65'000'000;
  call.outcome = Outcome::answered;
  call.end_reason = "bye";
  sink_->closed(call);
  ASSERT_TRUE(sink_->flush().ok());
  auto done = list(privacy::Purpose::billing);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, "answered");
  EXPECT_EQ(done[0].end_reason, "bye");
  EXPECT_EQ(done[0].duration_ms, 65'000);
  EXPECT_EQ(done[0].destination, "+14155550123");
}

// An answered outbound call is priced as it ends, from the decks as they stood when it began; an
// internal one is not, and a destination the plan includes costs nothing.
TEST_P(StoreSinkTest, AnAnsweredOutboundCallCarriesItsCostAsTheDecksStoodWhenItBegan) {
  const int64_t day = 86'400'000'000;
  rating::RateBook book;
  book.replace(rating::RateTable::build(
      {{"deck-1",
        {rating::Rate{"1", "North America", 20'000, 0, 60, 60, "GBP", clock_.now_us() - day, 1},
         rating::Rate{"1415", "San Francisco", 10'000, 5'000, 30, 6, "GBP", clock_.now_us() - day, 2}}},
       {"deck-2", {rating::Rate{"1415", "San Francisco", 90'000, 0, 1, 1, "GBP", clock_.now_us() + day, 1}}}},
      {}));
  sink_->set_rates(&book);
  CallRecord call = answered_call("rec-rated");
  open(call);
  call.ended_at_us = call.answered_at_us + 65'000'000;  // 65 s: 30 s, then six 6 s steps = 66 s
  call.outcome = Outcome::answered;
  sink_->closed(call);
  CallRecord internal = answered_call("rec-internal");
  internal.direction = Direction::internal;
  internal.destination = "102";
  open(internal);
  internal.ended_at_us = internal.answered_at_us + 5'000'000;
  internal.outcome = Outcome::answered;
  sink_->closed(internal);
  ASSERT_TRUE(sink_->flush().ok());
  for (const CdrRow& r : list(privacy::Purpose::billing)) {
    if (r.id == "rec-rated") {
      ASSERT_TRUE(r.cost_micros) << "rated";
      // 0.005 connection + 0.01/min x 66 s = 0.016: the longest prefix (1415) of the deck valid at
      // the start, not the dearer one from tomorrow.
      EXPECT_EQ(*r.cost_micros, 16'000);
      EXPECT_EQ(r.cost_currency, "GBP");
    } else {
      EXPECT_FALSE(r.cost_micros) << "an internal call is not rated";
    }
  }
  EXPECT_EQ(traffic::cost_text(16'000), "0.016");
  EXPECT_EQ(traffic::cost_text(2'000'000), "2.00");

  // The deck was wrong: re-rating the period prices the call again, audited, and only it.
  const auto corrected = rating::RateTable::build(
      {{"deck-3", {rating::Rate{"1415", "San Francisco", 5'000, 0, 1, 1, "GBP", clock_.now_us() - day, 1}}}}, {});
  auto report = rerate(*store_, keys_, clock_, *corrected, clock_.now_us() - day, clock_.now_us() + day, "",
                       "cli:test");
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(report->records, 1) << "the internal call is not re-rated";
  EXPECT_EQ(report->changed, 1);
  for (const CdrRow& r : list(privacy::Purpose::billing))
    if (r.id == "rec-rated") EXPECT_EQ(r.cost_micros, std::optional<int64_t>(5'417)) << "65 s at 0.005/min, per second";
  {
    auto tx = store_->begin(store::TxMode::read);
    EXPECT_EQ((*tx)->query("SELECT count(*) FROM audit_log WHERE action = 'traffic.rerate'")->at(0).i64(0), 1);
  }
  const auto bad = rerate(*store_, keys_, clock_, *corrected, clock_.now_us(), clock_.now_us(), "", "cli:test");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "period");
}

TEST_P(StoreSinkTest, PartiesAndEquipmentNeverReachTheStoreInClear) {
  CallRecord call = answered_call("rec-2");
  call.ended_at_us = call.started_at_us + 1;
  call.answered_at_us = 0;
  call.outcome = Outcome::busy;
  sink_->closed(call);
  ASSERT_TRUE(sink_->flush().ok());
  const std::string stored = test_store_->everything_stored(*store_, "INSERT INTO traffic_records");
  for (const char* secret : {"+442071239876", "+14155550123", "Yealink T46U", "carrier-gw"})
    EXPECT_EQ(stored.find(secret), std::string::npos) << secret;
}

TEST_P(StoreSinkTest, AWithheldCallerIsShownOnlyForBillingAndLegal) {
  CallRecord call = answered_call("rec-3");
  call.source_withheld = true;
  call.answered_at_us = 0;
  call.ended_at_us = call.started_at_us + 1;
  call.outcome = Outcome::no_answer;
  sink_->closed(call);
  ASSERT_TRUE(sink_->flush().ok());
  EXPECT_EQ(list(privacy::Purpose::billing).at(0).source, "+442071239876");
  EXPECT_EQ(list(privacy::Purpose::legal).at(0).source, "+442071239876");
  EXPECT_EQ(list(privacy::Purpose::support).at(0).source, "withheld");
  EXPECT_EQ(list(privacy::Purpose::fraud).at(0).source, "withheld");
}

TEST_P(StoreSinkTest, ARestartClosesTheCallsThisNodeLeftOpenAtItsLastHeartbeat) {
  open(answered_call("mine"));
  sink_->heartbeat();
  const int64_t last_seen = clock_.now_us();
  ASSERT_TRUE(sink_->flush().ok());
  // Another node's open call is not this node's to close.
  StoreSink other(*writer_, keys_, clock_, "node-b");
  other.opened(answered_call("theirs"), [](const Status&) {});
  ASSERT_TRUE(other.flush().ok());

  clock_.advance_us(600'000'000);  // the crash: ten minutes pass before the restart
  auto closed = close_open_calls(*store_, "node-a", clock_);
  ASSERT_TRUE(closed.ok()) << closed.error().describe();
  EXPECT_EQ(*closed, 1);
  for (const CdrRow& r : list(privacy::Purpose::billing)) {
    if (r.id == "mine") {
      EXPECT_EQ(r.outcome, "answered");
      EXPECT_EQ(r.end_reason, "restart");
      EXPECT_EQ(r.ended_at_us, last_seen);
      EXPECT_EQ(r.duration_ms, (last_seen - r.answered_at_us) / 1000);
    } else {
      EXPECT_EQ(r.outcome, "open");
    }
  }
  EXPECT_EQ(*close_open_calls(*store_, "node-a", clock_), 0);  // idempotent
}

TEST_P(StoreSinkTest, ANodeThatStopsBeatingHasItsCallsClosedByAnother) {
  StoreSink other(*writer_, keys_, clock_, "node-b");
  other.opened(answered_call("theirs"), [](const Status&) {});
  other.heartbeat();
  const int64_t last_seen = clock_.now_us();
  open(answered_call("mine"));
  ASSERT_TRUE(other.flush().ok());
  ASSERT_TRUE(sink_->flush().ok());

  clock_.advance_us(kNodeSilentUs / 2);  // node-b is late, not yet silent
  EXPECT_EQ(*close_calls_of_silent_nodes(*store_, "node-a", clock_), 0);
  clock_.advance_us(kNodeSilentUs);  // now it is: node-a closes node-b's call, never its own
  auto closed = close_calls_of_silent_nodes(*store_, "node-a", clock_);
  ASSERT_TRUE(closed.ok()) << closed.error().describe();
  EXPECT_EQ(*closed, 1);
  for (const CdrRow& r : list(privacy::Purpose::billing)) {
    if (r.id == "theirs") {
      EXPECT_EQ(r.outcome, "answered");
      EXPECT_EQ(r.end_reason, "restart");
      EXPECT_EQ(r.ended_at_us, last_seen);
    } else {
      EXPECT_EQ(r.outcome, "open");
    }
  }
  EXPECT_EQ(*close_calls_of_silent_nodes(*store_, "node-c", clock_), 0) << "another node finds none left";
}

TEST_P(StoreSinkTest, ReadingRecordsIsAuditedPerSubjectWithThePurpose) {
  CallRecord call = answered_call("rec-4");
  call.answered_at_us = 0;
  call.ended_at_us = call.started_at_us + 1;
  call.outcome = Outcome::cancelled;
  sink_->closed(call);
  ASSERT_TRUE(sink_->flush().ok());
  ASSERT_EQ(list(privacy::Purpose::fraud).size(), 1u);
  auto tx = store_->begin(store::TxMode::read);
  auto rows = (*tx)->query("SELECT count(*) FROM audit_log WHERE action = 'traffic.list' AND subject_id = ? AND "
                           "purpose = 'fraud'",
                           {extension_});
  EXPECT_EQ(rows->at(0).i64(0), 1);
}

TEST_P(StoreSinkTest, ReadingSeveralLinesWritesOneAuditEntryNamingEveryLine) {
  accounts::Extensions extensions(*store_, keys_, clock_);
  auto second = extensions.add_extension({company_, "102", "correct-horse-8", std::nullopt, std::nullopt}, "cli:test");
  ASSERT_TRUE(second.ok()) << second.error().describe();
  open(answered_call("on-101-a"));
  open(answered_call("on-101-b"));
  CallRecord other = answered_call("on-102");
  other.subject_id = *second;
  open(other);
  ASSERT_TRUE(sink_->flush().ok());
  auto count_entries = [&] {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query("SELECT count(*) FROM audit_log WHERE action = 'traffic.list'")->at(0).i64(0);
  };
  CdrQuery nothing;
  nothing.since_us = clock_.now_us() + 1;
  ASSERT_TRUE(list_records(*store_, keys_, clock_, nothing, "cli:test")->empty());
  EXPECT_EQ(count_entries(), 0) << "a read that returned no record names no subject";

  ASSERT_EQ(list(privacy::Purpose::support).size(), 3u);
  EXPECT_EQ(count_entries(), 1);
  auto tx = store_->begin(store::TxMode::read);
  const store::Rows entry = *(*tx)->query(
      "SELECT subject_id, purpose, actor, detail FROM audit_log WHERE action = 'traffic.list'");
  EXPECT_EQ(entry.at(0).text_or(0, ""), "") << "two subjects: the entry names them in its detail";
  EXPECT_EQ(entry.at(0).text(1), "support");
  EXPECT_EQ(entry.at(0).text(2), "cli:test");
  const auto detail = nlohmann::json::parse(entry.at(0).text(3));
  EXPECT_EQ(detail["records"], 3);
  EXPECT_EQ(detail["subjects"], nlohmann::json({{extension_, 2}, {*second, 1}}));
  EXPECT_EQ(entry.at(0).text(3).find("+44"), std::string::npos) << "ids and counts only, never values";
}

TEST_P(StoreSinkTest, ACachedLineKeyIsNeverServedOnceItsKeyRowIsDestroyedOrReplaced) {
  open(answered_call("rec-5"));
  ASSERT_TRUE(sink_->flush().ok());
  ASSERT_EQ(list(privacy::Purpose::billing).at(0).source, "+442071239876");
  ASSERT_EQ(keys_.unwrapped_cached(), 1u) << "the line's key is remembered for the next read";
  ASSERT_EQ(list(privacy::Purpose::billing).at(0).source, "+442071239876");

  auto destroy = [&] {
    return store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
      PRIVOX_TRY(privacy::subject_keys::destroy(s, extension_));
      return {};
    });
  };
  ASSERT_TRUE(destroy().ok());
  const CdrRow shredded = list(privacy::Purpose::billing).at(0);
  EXPECT_EQ(shredded.source, "erased");
  EXPECT_EQ(shredded.destination, "erased");
  EXPECT_EQ(keys_.unwrapped_cached(), 0u) << "an erased subject's key leaves memory at the next read";

  // A new key for the same subject: records sealed under the old one must not open with the old
  // key from any cache.
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                PRIVOX_TRY(privacy::subject_keys::create(s, keys_, extension_, clock_.now_us()));
                return {};
              }).ok());
  EXPECT_EQ(list(privacy::Purpose::billing).at(0).source, "unreadable");
}

TEST_P(StoreSinkTest, OpenedReportsOnlyOnceTheRecordIsDurable) {
  // Another connection holds what the writer needs: the writer is paused, as a slow disk or a
  // busy server would pause it.
  auto blocker = test_store_->open();
  ASSERT_TRUE(blocker.ok());
  auto hold = (*blocker)->begin(store::TxMode::write);
  ASSERT_TRUE(hold.ok());
  if (GetParam() == store::Backend::postgresql) {
    ASSERT_TRUE((*hold)->exec("LOCK TABLE traffic_records IN EXCLUSIVE MODE").ok());
  }

  std::optional<Status> outcome;
  open(answered_call("rec-6"), &outcome);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  deliver();
  EXPECT_FALSE(outcome.has_value()) << "nothing is reported before the record is committed";

  hold->reset();  // the writer goes on
  ASSERT_TRUE(sink_->flush().ok());
  deliver();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->ok());
  EXPECT_EQ(list(privacy::Purpose::billing).at(0).outcome, "open") << "reported durable, and it is";
}

TEST_P(StoreSinkTest, ARecordWhoseLineHasNoKeyIsReportedAndNotWritten) {
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                PRIVOX_TRY(privacy::subject_keys::destroy(s, extension_));
                return {};
              }).ok());
  std::optional<Status> outcome;
  open(answered_call("rec-7"), &outcome);
  EXPECT_FALSE(sink_->flush().ok()) << "flush() reports the last record, which was not written";
  deliver();
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(outcome->ok());
  EXPECT_EQ(outcome->error().code, ErrorCode::erased);
  EXPECT_EQ(sink_->stats().dropped, 1u);
  EXPECT_TRUE(list(privacy::Purpose::billing).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreSinkTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

TEST(CdrTimeTest, ParsesDatesTimesAndEpochSeconds) {
  EXPECT_EQ(parse_time("1970-01-02"), 86'400'000'000);
  EXPECT_EQ(parse_time("1970-01-01T00:01:00Z"), 60'000'000);
  EXPECT_EQ(parse_time("1970-01-01T00:00:01.5Z"), 1'500'000);
  EXPECT_EQ(parse_time("86400"), 86'400'000'000);
  EXPECT_FALSE(parse_time("yesterday"));
  EXPECT_FALSE(parse_time("2026-13-01"));
  EXPECT_FALSE(parse_time("2026-01-01T25:00:00Z"));
}

TEST(CdrCsvTest, QuotesFieldsThatNeedIt) {
  CdrRow row;
  row.id = "r";
  row.caller_equipment = "Phone, \"Pro\"";
  row.outcome = "answered";
  const std::string csv = to_csv({row});
  EXPECT_NE(csv.find("\"Phone, \"\"Pro\"\"\""), std::string::npos) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2);
}

}  // namespace
}  // namespace privox::traffic
