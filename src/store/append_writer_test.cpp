#include "store/append_writer.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/schema.h"
#include "store/test_stores.h"

namespace privox::store {
namespace {

class AppendWriterTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto created = TestStore::create(GetParam());
    ASSERT_TRUE(created.ok()) << created.error().describe();
    test_store_ = std::move(created).value();
    auto s = test_store_->open();
    ASSERT_TRUE(s.ok());
    const std::string ddl = expand_types(GetParam() == Backend::postgresql,
                                         "CREATE TABLE events (id TEXT PRIMARY KEY, at_us {i64} NOT NULL, body {blob})");
    ASSERT_TRUE(with_transaction(**s, TxMode::write, [&](Session& tx) -> Status {
                  PRIVOX_TRY(tx.exec(ddl));
                  return {};
                }).ok());
    reader_ = std::move(s).value();
  }

  std::unique_ptr<Store> writer_store() { return std::move(test_store_->open()).value(); }

  int64_t rows() {
    auto tx = reader_->begin(TxMode::read);
    return (*tx)->query("SELECT count(*) FROM events")->at(0).i64(0);
  }

  std::unique_ptr<TestStore> test_store_;
  std::unique_ptr<Store> reader_;
};

TEST_P(AppendWriterTest, RowsFromManyThreadsAreAllDurableAndBatched) {
  AppendWriter writer(writer_store());
  const size_t target = writer.add_target({"events", {"id", "at_us", "body"}});
  constexpr int kThreads = 4, kPerThread = 5000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto ticket = writer.append(target, {std::to_string(t) + ":" + std::to_string(i), int64_t{i}, Bytes{1, 2}});
        ASSERT_TRUE(ticket.ok());
      }
    });
  for (auto& th : threads) th.join();
  ASSERT_TRUE(writer.flush().ok());
  EXPECT_EQ(rows(), kThreads * kPerThread);
  const auto stats = writer.stats();
  EXPECT_EQ(stats.rows_committed, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.batches_committed, stats.rows_committed);  // batching happened
}

TEST_P(AppendWriterTest, BatchCallbacksCoverEveryTicketInOrder) {
  std::vector<std::pair<uint64_t, uint64_t>> batches;  // written by the writer thread only
  {
    AppendWriter writer(writer_store(), AppendOptions{.on_batch = [&](const BatchOutcome& b) {
                                                        EXPECT_TRUE(b.status.ok());
                                                        EXPECT_TRUE(b.refused.empty());
                                                        batches.emplace_back(b.first, b.last);
                                                      },
                                                      .max_batch_rows = 100});
    const size_t target = writer.add_target({"events", {"id", "at_us", "body"}});
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(writer.append(target, {std::to_string(i), int64_t{i}, null_value()}).ok());
    ASSERT_TRUE(writer.flush().ok());
  }
  ASSERT_FALSE(batches.empty());
  uint64_t next = 1;
  for (const auto& [first, last] : batches) {
    EXPECT_EQ(first, next);
    EXPECT_LE(last - first + 1, 100u);
    next = last + 1;
  }
  EXPECT_EQ(next, 1001u);
}

TEST_P(AppendWriterTest, GroupCommitGathersATrickleIntoFewBatches) {
  AppendWriter writer(writer_store(), AppendOptions{.on_batch = {}, .group_commit_us = 200'000});
  const size_t target = writer.add_target({"events", {"id", "at_us", "body"}});
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(writer.append(target, {std::to_string(i), int64_t{i}, null_value()}).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(writer.flush().ok());
  EXPECT_EQ(rows(), 20);
  EXPECT_LE(writer.stats().batches_committed, 3u);  // 20 ms of rows inside one 200 ms group, give or take
}

TEST_P(AppendWriterTest, WaitReturnsOnceTheRowIsVisibleToOtherConnections) {
  AppendWriter writer(writer_store());
  const size_t target = writer.add_target({"events", {"id", "at_us", "body"}});
  auto ticket = writer.append(target, {std::string("only"), int64_t{1}, null_value()});
  ASSERT_TRUE(ticket.ok());
  ASSERT_TRUE(writer.wait(*ticket).ok());
  EXPECT_EQ(rows(), 1);
}

TEST_P(AppendWriterTest, AFailedBatchIsReportedToItsWaiters) {
  AppendWriter writer(writer_store(), AppendOptions{.on_batch = {}, .max_batch_rows = 16, .max_queue_rows = 1024, .commit_attempts = 2});
  const size_t target = writer.add_target({"no_such_table", {"id"}});
  auto ticket = writer.append(target, {std::string("x")});
  ASSERT_TRUE(ticket.ok());
  const Status s = writer.wait(*ticket);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("no_such_table"), std::string::npos);
  EXPECT_EQ(writer.stats().rows_failed, 1u);

  // A duplicate key fails its batch without being retried forever, and later rows still land.
  const size_t events = writer.add_target({"events", {"id", "at_us", "body"}});
  ASSERT_TRUE(writer.wait(*writer.append(events, {std::string("k"), int64_t{1}, null_value()})).ok());
  EXPECT_FALSE(writer.wait(*writer.append(events, {std::string("k"), int64_t{2}, null_value()})).ok());
  EXPECT_TRUE(writer.wait(*writer.append(events, {std::string("k2"), int64_t{3}, null_value()})).ok());
  EXPECT_EQ(rows(), 2);
}

TEST_P(AppendWriterTest, StatementTargetsRunInAppendOrderWithInserts) {
  AppendWriter writer(writer_store());
  const size_t insert = writer.add_target({"events", {"id", "at_us", "body"}, ""});
  const size_t update = writer.add_target({"events", {"at_us", "id"}, "UPDATE events SET at_us = ? WHERE id = ?"});
  const size_t remove = writer.add_target({"events", {"id"}, "DELETE FROM events WHERE id = ?"});
  // Interleaved so that grouping by target would reorder them and lose the final state.
  ASSERT_TRUE(writer.append(insert, {std::string("a"), int64_t{1}, null_value()}).ok());
  ASSERT_TRUE(writer.append(update, {int64_t{2}, std::string("a")}).ok());
  ASSERT_TRUE(writer.append(remove, {std::string("a")}).ok());
  ASSERT_TRUE(writer.append(insert, {std::string("a"), int64_t{3}, null_value()}).ok());
  ASSERT_TRUE(writer.append(update, {int64_t{4}, std::string("a")}).ok());
  ASSERT_TRUE(writer.flush().ok());
  auto tx = reader_->begin(TxMode::read);
  auto rows = (*tx)->query("SELECT at_us FROM events WHERE id = 'a'");
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->at(0).i64(0), 4);
}

TEST_P(AppendWriterTest, RefusesRowsThatDoNotMatchTheirTarget) {
  AppendWriter writer(writer_store());
  const size_t target = writer.add_target({"events", {"id", "at_us", "body"}});
  EXPECT_FALSE(writer.append(target, {std::string("short")}).ok());
  EXPECT_FALSE(writer.append(target + 7, {std::string("a"), int64_t{1}, null_value()}).ok());
}

TEST_P(AppendWriterTest, DestructionDrainsTheQueue) {
  {
    AppendWriter writer(writer_store());
    const size_t target = writer.add_target({"events", {"id", "at_us", "body"}});
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(writer.append(target, {std::to_string(i), int64_t{i}, null_value()}).ok());
  }
  EXPECT_EQ(rows(), 1000);
}

TEST_P(AppendWriterTest, APrepareStepRewritesRowsInTheBatchTransactionAndMayRefuseSome) {
  std::vector<BatchOutcome> outcomes;  // the writer thread only, until flush() returned
  AppendWriter writer(writer_store(), AppendOptions{.on_batch = [&](const BatchOutcome& b) { outcomes.push_back(b); },
                                                    .group_commit_us = 100'000});
  const size_t plain = writer.add_target({"events", {"id", "at_us", "body"}});
  AppendTarget sealed{"events", {"id", "at_us", "body"}};
  sealed.prepare = [](Session& s, std::vector<Params>& rows, std::vector<std::optional<Error>>& refused) -> Status {
    // It runs inside the batch's transaction: it sees the rows written before it in the batch.
    PRIVOX_ASSIGN(Rows seen, s.query("SELECT count(*) FROM events"));
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::string& id = std::get<std::string>(rows[i][0]);
      if (id.rfind("refuse", 0) == 0) refused[i] = make_error(ErrorCode::erased, "no key for " + id);
      else rows[i][2] = Bytes{static_cast<uint8_t>(seen.at(0).i64(0))};
    }
    return {};
  };
  const size_t prepared = writer.add_target(std::move(sealed));
  const auto first = writer.append(plain, {std::string("a"), int64_t{1}, null_value()});
  const auto kept = writer.append(prepared, {std::string("b"), int64_t{2}, std::string("in clear")});
  const auto refused = writer.append(prepared, {std::string("refuse-c"), int64_t{3}, std::string("in clear")});
  const auto last = writer.append(prepared, {std::string("d"), int64_t{4}, std::string("in clear")});
  ASSERT_TRUE(first.ok() && kept.ok() && refused.ok() && last.ok());
  EXPECT_TRUE(writer.wait(*kept).ok());
  const Status why = writer.wait(*refused);
  ASSERT_FALSE(why.ok());
  EXPECT_EQ(why.error().code, ErrorCode::erased);
  EXPECT_TRUE(writer.wait(*last).ok()) << "the rows around a refused one are written";
  ASSERT_TRUE(writer.flush().ok()) << "flush reports the batches, which committed";

  auto tx = reader_->begin(TxMode::read);
  auto rows = (*tx)->query("SELECT id, body FROM events ORDER BY id");
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_TRUE(rows->at(0).is_null(1));
  EXPECT_EQ(rows->at(1).blob(1), Bytes{1}) << "prepared after row a, in the same transaction";
  EXPECT_EQ(rows->at(2).text(0), "d");
  EXPECT_EQ(writer.stats().rows_failed, 1u);

  Status seen_refused;
  for (const BatchOutcome& b : outcomes)
    if (b.first <= refused->seq && refused->seq <= b.last) seen_refused = b.of(refused->seq);
  EXPECT_FALSE(seen_refused.ok()) << "on_batch names the refused row";
}

TEST(TicketWaitersTest, EachCallbackRunsOnceItsLastRowIsDoneWithTheFirstFailure) {
  TicketWaiters waiters;
  std::vector<std::pair<int, bool>> done;
  waiters.add(1, 1, [&](const Status& s) { done.emplace_back(1, s.ok()); });
  waiters.add(2, 4, [&](const Status& s) { done.emplace_back(2, s.ok()); });  // spans two batches
  waiters.add(5, 5, [&](const Status& s) { done.emplace_back(3, s.ok()); });
  BatchOutcome one{.first = 1, .last = 3, .status = {}, .refused = {{3, make_error(ErrorCode::erased, "gone")}}};
  waiters.completed(one);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], std::make_pair(1, true));
  BatchOutcome two{.first = 4, .last = 5, .status = {}, .refused = {}};
  waiters.completed(two);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[1], std::make_pair(2, false)) << "row 3, in the earlier batch, was refused";
  EXPECT_EQ(done[2], std::make_pair(3, true));
  EXPECT_EQ(waiters.size(), 0u);

  waiters.add(6, 6, [&](const Status& s) { done.emplace_back(4, s.ok()); });
  waiters.completed({.first = 6, .last = 9, .status = make_error(ErrorCode::unavailable, "down"), .refused = {}});
  EXPECT_EQ(done.back(), std::make_pair(4, false));
}

INSTANTIATE_TEST_SUITE_P(Backends, AppendWriterTest, ::testing::Values(Backend::sqlite, Backend::postgresql),
                         backend_name);

}  // namespace
}  // namespace privox::store
