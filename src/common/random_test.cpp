#include "common/random.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>

namespace privox {
namespace {

std::string draw(size_t size) {
  std::string out(size, '\0');
  random_bytes(out.data(), out.size());
  return out;
}

TEST(RandomBytesTest, DrawsNeverRepeatAcrossManyRefills) {
  std::set<std::string> seen;
  // 16-byte draws over 40 pools' worth, and odd sizes that straddle a refill.
  for (size_t i = 0; i < 40 * kRandomPoolSize / 16; ++i) EXPECT_TRUE(seen.insert(draw(16)).second);
  for (size_t i = 0; i < 200; ++i) EXPECT_TRUE(seen.insert(draw(24 + i % 7)).second);
  EXPECT_TRUE(seen.insert(draw(4 * kRandomPoolSize)).second);  // past the pool: straight from libsodium
}

TEST(RandomBytesTest, BytesAreSpreadOverEveryValue) {
  std::array<int, 256> counts{};
  for (int i = 0; i < 256; ++i)
    for (const char c : draw(64)) ++counts[static_cast<uint8_t>(c)];
  // 16,384 bytes: 64 of each value expected; a value missing or over 4 times its share means a broken pool.
  for (size_t v = 0; v < counts.size(); ++v) {
    EXPECT_GT(counts[v], 0) << v;
    EXPECT_LT(counts[v], 256) << v;
  }
}

TEST(RandomBytesTest, AForkedChildDoesNotRepeatItsParentsPool) {
  (void)draw(8);  // the pool now holds bytes the parent has not handed out yet
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string mine = draw(32);
    _exit(write(pipe_fds[1], mine.data(), mine.size()) == static_cast<ssize_t>(mine.size()) ? 0 : 1);
  }
  close(pipe_fds[1]);
  const std::string parents = draw(32);
  std::string childs(32, '\0');
  ASSERT_EQ(read(pipe_fds[0], childs.data(), childs.size()), 32);
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(childs, parents);
}

}  // namespace
}  // namespace privox
