#include "sip/directory_loader.h"

#include <utility>  // before Asio, see http/server.h

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "accounts/trunks.h"
#include "sip/memory_directory.h"
#include "store/test_stores.h"

namespace privox::sip {
namespace {

using namespace std::chrono_literals;

// The loader feeding a MemoryDirectory through an event loop, as SipService wires them, on both
// backends; provisioning comes through a connection of its own, as from a CLI process or another node.
class DirectoryLoaderTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    auto other = test_store_->open();
    ASSERT_TRUE(other.ok());
    provisioning_ = std::move(other).value();
    accounts::Accounts accounts(*provisioning_, keys_, clock_);
    company_ = *accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    auto first = extensions().add_extension({company_, "101", "correct-horse-7", std::nullopt, std::nullopt}, "cli:test");
    ASSERT_TRUE(first.ok()) << first.error().describe();
    first_ = *first;
    loader_ = std::make_unique<DirectoryLoader>(*store_, keys_, [this](std::shared_ptr<const DirectoryUpdate> update) {
      boost::asio::post(io_, [this, update = std::move(update)] { directory_.apply(*update); });
    });
  }
  void TearDown() override {
    if (loader_) loader_->stop();
  }

  accounts::Extensions extensions() { return accounts::Extensions(*provisioning_, keys_, clock_); }

  // Runs the event loop until `done` holds (true) or `limit` passes (false).
  template <class Done>
  bool run_until(Done done, std::chrono::milliseconds limit = 1000ms) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      io_.restart();
      io_.poll();
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

  void start() {
    auto initial = loader_->load_all();
    ASSERT_TRUE(initial.ok()) << initial.error().describe();
    directory_.apply(**initial);
    const Status started = loader_->start();
    ASSERT_TRUE(started.ok()) << started.error().describe();
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::unique_ptr<store::Store> provisioning_;
  std::string company_, first_;
  boost::asio::io_context io_;
  MemoryDirectory directory_;  // the "worker's": touched by this thread only, through io_
  std::unique_ptr<DirectoryLoader> loader_;
};

TEST_P(DirectoryLoaderTest, ALineAddedAfterStartArrivesWithinASecondWithoutAFullReload) {
  start();
  ASSERT_NE(directory_.by_sip_user("101"), nullptr) << "the initial load";
  EXPECT_EQ(directory_.by_sip_user("102"), nullptr);

  auto added = extensions().add_extension({company_, "102", "battery-staple-9", std::nullopt, "020 7946 0958"},
                                          "cli:test");
  ASSERT_TRUE(added.ok()) << added.error().describe();
  const auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return directory_.by_sip_user("102") != nullptr; })) << "not there within 1 s";
  EXPECT_LT(std::chrono::steady_clock::now() - began, 1s);
  const ExtensionInfo* line = directory_.by_sip_user("102");
  EXPECT_EQ(line->id, *added);
  EXPECT_EQ(line->number, "102");
  EXPECT_EQ(line->did, "+442079460958");
  EXPECT_EQ(line->country, "GB");
  EXPECT_EQ(directory_.by_did("+442079460958"), line);
  EXPECT_EQ(directory_.by_number(company_, "102"), line);
  EXPECT_EQ(line->ha1_md5, extensions().credentials(*added)->ha1_md5);
  EXPECT_EQ(loader_->stats().full_loads, 1u) << "only the initial load";
  EXPECT_GE(loader_->stats().updates, 1u);
}

TEST_P(DirectoryLoaderTest, APasswordResetAndATrunkArriveTooAndALookUpMissNeverWaits) {
  start();
  const ExtensionInfo* line = directory_.by_id(first_);
  ASSERT_NE(line, nullptr);
  const std::string old_ha1 = line->ha1_sha256;
  ASSERT_TRUE(extensions().reset_password(first_, "another-secret-5", "cli:test").ok());
  ASSERT_TRUE(run_until([&] { return directory_.by_id(first_)->ha1_sha256 != old_ha1; }));
  EXPECT_EQ(directory_.by_id(first_), line) << "changed in place: a pointer the worker holds stays good";
  EXPECT_EQ(line->ha1_sha256, extensions().credentials(first_)->ha1_sha256);

  accounts::Trunks trunks(*provisioning_, keys_, clock_);
  ASSERT_TRUE(trunks.add_trunk("carrier", "192.0.2.50:5060", true, "cli:test").ok());
  Peer carrier;
  ASSERT_TRUE(Peer::parse("192.0.2.50", 5060, TransportKind::udp, carrier));
  ASSERT_TRUE(run_until([&] { return directory_.trunk_at(carrier) != nullptr; }));
  EXPECT_TRUE(directory_.trunk_at(carrier)->trusted);
  EXPECT_EQ(directory_.outbound_trunk(), directory_.trunk_at(carrier));
  EXPECT_EQ(loader_->stats().full_loads, 1u);

  // A miss is answered from memory at once, store or no store.
  const auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(directory_.by_sip_user("no-such-user-" + std::to_string(i)), nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 1s);
}

TEST_P(DirectoryLoaderTest, AChangeBetweenTheInitialLoadAndTheListenIsNotMissed) {
  auto initial = loader_->load_all();
  ASSERT_TRUE(initial.ok());
  directory_.apply(**initial);
  auto added = extensions().add_extension({company_, "103", "battery-staple-9", std::nullopt, std::nullopt},
                                          "cli:test");
  ASSERT_TRUE(added.ok());
  ASSERT_TRUE(loader_->start().ok());
  EXPECT_TRUE(run_until([&] { return directory_.by_sip_user("103") != nullptr; }));
}

INSTANTIATE_TEST_SUITE_P(Backends, DirectoryLoaderTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::sip
