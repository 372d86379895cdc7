#include "common/accept_backoff.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

namespace privox {
namespace {

TEST(AcceptBackoffTest, OutOfDescriptorsWaitsLongerEachTimeUpToTheCeiling) {
  AcceptBackoff backoff;
  int64_t now = 5'000'000;
  std::vector<int64_t> waits;
  for (int i = 0; i < 10; ++i) {
    const AcceptBackoff::Step step = backoff.failed(EMFILE, now);
    waits.push_back(step.wait_us);
    now += step.wait_us;
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{10'000, 20'000, 40'000, 80'000, 160'000, 320'000, 640'000, 1'000'000,
                                         1'000'000, 1'000'000}));
  backoff.succeeded();
  EXPECT_EQ(backoff.failed(ENFILE, now).wait_us, 10'000) << "a success starts the doubling over";
  EXPECT_GT(backoff.failed(ENOBUFS, now).wait_us, 0);
  EXPECT_GT(backoff.failed(ENOMEM, now).wait_us, 0);
}

TEST(AcceptBackoffTest, OneConnectionsFailureNeedsNoWait) {
  AcceptBackoff backoff;
  for (int e : {ECONNABORTED, EPERM, EPROTO}) EXPECT_EQ(backoff.failed(e, 0).wait_us, 0) << e;
}

// A million failures in a second (one every microsecond) log one
// line, and the next line, an interval later, counts the ones held back.
TEST(AcceptBackoffTest, LogsAtMostOneLinePerIntervalWithTheCountHeldBack) {
  AcceptBackoff backoff;
  size_t lines = 0;
  for (int64_t t = 0; t < 1'000'000; ++t) lines += backoff.failed(ECONNABORTED, t).log ? 1 : 0;
  EXPECT_EQ(lines, 1u);
  const AcceptBackoff::Step next = backoff.failed(EMFILE, 10'000'000);
  EXPECT_TRUE(next.log);
  EXPECT_EQ(next.suppressed, 999'999u);
  EXPECT_FALSE(backoff.failed(EMFILE, 10'000'001).log);
}

}  // namespace
}  // namespace privox
