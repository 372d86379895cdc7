#include <gtest/gtest.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (sodium_init() < 0) return 1;
  spdlog::set_level(spdlog::level::warn);
  return RUN_ALL_TESTS();
}
