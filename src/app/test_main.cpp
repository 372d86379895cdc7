// The unit tests' main: the same registries as the privox binary (app/registry.h).
#include <gtest/gtest.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "app/registry.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (sodium_init() < 0) return 1;
  privox::app::install_registries();
  spdlog::set_level(spdlog::level::warn);
  return RUN_ALL_TESTS();
}
