#include "common/fd_limit.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

namespace privox {
namespace {

TEST(FdLimitTest, ABudgetAddsItsCapsAndTheHeadroomAndNamesThem) {
  FdBudget budget(100);
  budget.add(1024, "HTTP connections").add(10'000, "SIP TCP connections");
  EXPECT_EQ(budget.total(), 11'124u);
  EXPECT_EQ(budget.describe(), "1024 HTTP connections + 10000 SIP TCP connections + 100 for files, the store and listeners");
}

TEST(FdLimitTest, RaisesTheSoftLimitUpToTheHardOneAndNeverLowersIt) {
  EXPECT_EQ(*plan_fd_limit({1024, 1'048'576}, 11'280, "x"), 11'280u) << "Debian's defaults: raised";
  EXPECT_EQ(*plan_fd_limit({65'536, 1'048'576}, 11'280, "x"), 65'536u) << "already enough: kept, not lowered";
  EXPECT_EQ(*plan_fd_limit({1024, 11'280}, 11'280, "x"), 11'280u) << "exactly the hard limit";
  const Result<uint64_t> short_hard = plan_fd_limit({1024, 4096}, 11'280, "1024 HTTP connections");
  ASSERT_FALSE(short_hard.ok());
  EXPECT_EQ(short_hard.error().code, ErrorCode::unavailable);
  for (const char* says : {"11280", "4096", "1024 HTTP connections", "ulimit -Hn", "LimitNOFILE"})
    EXPECT_NE(short_hard.error().message.find(says), std::string::npos) << says << ": " << short_hard.error().message;
}

// The real limit of this process: lowered for the test, raised again by ensure_fd_limit, restored.
TEST(FdLimitTest, EnsureRaisesThisProcesssSoftLimit) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 600) GTEST_SKIP() << "hard limit too low to test";
  rlimit lowered = saved;
  lowered.rlim_cur = 512;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  FdBudget budget(88);
  budget.add(512, "connections");
  const Result<uint64_t> raised = ensure_fd_limit(budget);
  const Result<FdLimits> now = current_fd_limits();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(raised.ok()) << raised.error().describe();
  EXPECT_EQ(*raised, 600u);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->soft, 600u);

  if (now->hard != UINT64_MAX) {  // past the hard limit: refused, nothing changed
    FdBudget too_much(0);
    too_much.add(now->hard + 1, "connections");
    const Result<uint64_t> refused = ensure_fd_limit(too_much);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  }
}

}  // namespace
}  // namespace privox
