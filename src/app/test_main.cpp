// The unit tests' main: the same registries as the privox binary (app/registry.h).
#include <gtest/gtest.h>
#include <sodium.h>

#include "app/registry.h"
#include "common/log.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (sodium_init() < 0) return 1;
  privox::app::install_registries();
  privox::log::configure(privox::log::Format::text, privox::log::Level::warn);
  return RUN_ALL_TESTS();
}
