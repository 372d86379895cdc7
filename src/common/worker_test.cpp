#include "common/worker.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace privox {
namespace {

using namespace std::chrono_literals;

TEST(WorkerTest, HandlesEveryItemInPostOrderAndStopDrainsTheQueue) {
  std::vector<int> seen;  // the worker's thread only, until stop() joined it
  std::vector<uint64_t> firsts;
  {
    Worker<int> worker({.name = "test", .max_batch = 1});
    for (int i = 1; i <= 3; ++i) EXPECT_EQ(worker.post(i), static_cast<uint64_t>(i)) << "posting before start queues";
    worker.start([&](uint64_t first, std::vector<int>& batch) {
      firsts.push_back(first);
      seen.insert(seen.end(), batch.begin(), batch.end());
      std::this_thread::sleep_for(1ms);  // slower than the posts: stop() finds a queue to drain
    });
    for (int i = 4; i <= 50; ++i) EXPECT_EQ(worker.post(i), static_cast<uint64_t>(i));
    worker.stop();
    EXPECT_EQ(worker.post(51), 0u) << "a stopped worker refuses";
    EXPECT_TRUE(worker.stopping());
  }
  ASSERT_EQ(seen.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i + 1);
  for (size_t i = 0; i < firsts.size(); ++i) EXPECT_EQ(firsts[i], i + 1) << "one item per batch, numbered from 1";
}

TEST(WorkerTest, BatchesAreBoundedAndNumberedContiguously) {
  std::vector<std::pair<uint64_t, size_t>> batches;
  Worker<std::string> worker({.name = "test", .max_batch = 7});
  for (int i = 0; i < 100; ++i) ASSERT_NE(worker.post(std::to_string(i)), 0u);
  worker.start([&](uint64_t first, std::vector<std::string>& batch) {
    EXPECT_EQ(batch.front(), std::to_string(first - 1));
    batches.emplace_back(first, batch.size());
  });
  worker.stop();
  uint64_t next = 1;
  for (const auto& [first, size] : batches) {
    EXPECT_EQ(first, next);
    EXPECT_LE(size, 7u);
    next = first + size;
  }
  EXPECT_EQ(next, 101u);
  EXPECT_EQ(worker.posted(), 100u);
  EXPECT_EQ(worker.queued(), 0u);
}

TEST(WorkerTest, LingerGathersATrickleIntoFewBatches) {
  std::atomic<int> batches{0};
  Worker<int> worker({.name = "test", .max_batch = 1000, .linger_us = 200'000});
  worker.start([&](uint64_t, std::vector<int>&) { batches.fetch_add(1); });
  for (int i = 0; i < 20; ++i) {
    ASSERT_NE(worker.post(i), 0u);
    std::this_thread::sleep_for(1ms);
  }
  worker.stop();
  EXPECT_LE(batches.load(), 3);  // 20 ms of items inside one 200 ms gathering, give or take
}

TEST(WorkerTest, AFillTargetKeepsABatchWaitingPastTheLingerUntilItIsMet) {
  std::vector<size_t> sizes;  // the worker's thread only, until stop() joined it
  Worker<int> worker({.name = "test", .max_batch = 1000, .linger_us = 1'000, .fill_min = 3,
                      .linger_max_us = 10'000'000});
  worker.start([&](uint64_t, std::vector<int>& batch) { sizes.push_back(batch.size()); });
  ASSERT_NE(worker.post(1), 0u);
  std::this_thread::sleep_for(50ms);  // 50 times the linger: without the fill target, a batch of 1
  ASSERT_NE(worker.post(2), 0u);
  std::this_thread::sleep_for(20ms);
  ASSERT_NE(worker.post(3), 0u);  // the third wakes the thread: it does not wait out the 10 s bound
  for (int i = 0; i < 1000 && worker.queued() > 0; ++i) std::this_thread::sleep_for(1ms);
  worker.stop();
  EXPECT_EQ(sizes, std::vector<size_t>{3});
}

TEST(WorkerTest, AFillTargetNotMetStillEndsAtItsBound) {
  std::atomic<size_t> handled{0};
  Worker<int> worker({.name = "test", .max_batch = 1000, .linger_us = 1'000, .fill_min = 100,
                      .linger_max_us = 20'000});
  worker.start([&](uint64_t, std::vector<int>& batch) { handled.fetch_add(batch.size()); });
  ASSERT_NE(worker.post(1), 0u);
  // Handled while the worker runs, not by stop()'s drain: the bound, not the stop, ended the wait.
  for (int i = 0; i < 5000 && handled.load() == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(handled.load(), 1u);
  worker.stop();
}

TEST(WorkerTest, AFillTargetThatBringsNothingIsSkippedAndTriedAgainNowAndThen) {
  // A client that sends its next item only once the last one is handled: waiting for a second
  // item never brings one.
  std::atomic<uint64_t> handled{0};
  Worker<int> worker({.name = "test", .max_batch = 1000, .linger_us = 1'000, .fill_min = 2,
                      .linger_max_us = 20'000});
  worker.start([&](uint64_t, std::vector<int>&) { handled.fetch_add(1); });
  for (int i = 1; i <= 40; ++i) {
    ASSERT_NE(worker.post(i), 0u);
    while (handled.load() < static_cast<uint64_t>(i)) std::this_thread::sleep_for(100us);
  }
  const uint64_t waits = worker.fill_waits();
  worker.stop();
  // The first three waits bring nothing and take the average below half an item; after them, one
  // try in every 16 batches: 3 + 2 of 40.
  EXPECT_GE(waits, 3u);
  EXPECT_LE(waits, 6u) << "without the skip, every one of the 40 items would wait out the 20 ms";
}

TEST(WorkerTest, AFullQueueRefusesRatherThanGrowing) {
  Worker<int> worker({.name = "test", .max_queue = 2});
  EXPECT_NE(worker.post(1), 0u);
  EXPECT_NE(worker.post(2), 0u);
  EXPECT_EQ(worker.post(3), 0u);
  EXPECT_FALSE(worker.stopping()) << "refused for being full, not for stopping";
  worker.stop();  // never started: the queued items are dropped, and nothing hangs
}

TEST(WorkerTest, TicksRunOnTheirScheduleAndStopEndsTheWaitAtOnce) {
  std::atomic<int> ticks{0};
  Worker<int> worker({.name = "test"});
  worker.start([](uint64_t, std::vector<int>&) {}, [&] { ticks.fetch_add(1); }, 0, 20'000);
  for (int i = 0; i < 200 && ticks.load() < 3; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_GE(ticks.load(), 3);

  Worker<int> patient({.name = "test"});
  patient.start([](uint64_t, std::vector<int>&) {}, [&] { ADD_FAILURE() << "ticked before its first time"; },
                3'600'000'000, 3'600'000'000);
  const auto began = std::chrono::steady_clock::now();
  patient.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - began, 1s) << "stop() wakes a worker waiting for its tick";
}

TEST(WorkerTest, ALongTickSeesTheStopFlag) {
  std::atomic<bool> began{false};
  Worker<int> worker({.name = "test"});
  worker.start([](uint64_t, std::vector<int>&) {},
               [&] {
                 began.store(true);
                 while (!worker.stop_flag().load()) std::this_thread::sleep_for(1ms);
               },
               0, 1'000'000);
  while (!began.load()) std::this_thread::sleep_for(1ms);
  worker.stop();  // returns only because the tick saw the flag
  EXPECT_TRUE(worker.stopping());
}

}  // namespace
}  // namespace privox
