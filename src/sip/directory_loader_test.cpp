#include "sip/directory_loader.h"

#include <utility>  // before Asio, see http/server.h

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "accounts/trunks.h"
#include "callflow/music.h"
#include "common/ids.h"
#include "sip/bans.h"
#include "sip/memory_directory.h"
#include "store/append_writer.h"
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
  std::string login(const std::string& id) { return extensions().find(id)->sip_user; }

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

// A company's music on hold reaches this node's disk and directory: written at start (a stale
// file of a company gone meanwhile removed), replaced by a new upload, removed when cleared.
TEST_P(DirectoryLoaderTest, ACompanysMusicIsWrittenReplacedAndRemovedOnTheNodesDisk) {
  const std::string dir = ::testing::TempDir() + "privox-music-" + new_id(clock_.now_us());
  std::filesystem::create_directories(dir);
  const std::string stale = dir + "/gone-company-0000.wav";
  std::ofstream(stale) << "old";
  loader_ = std::make_unique<DirectoryLoader>(
      *store_, keys_,
      [this](std::shared_ptr<const DirectoryUpdate> update) {
        boost::asio::post(io_, [this, update = std::move(update)] { directory_.apply(*update); });
      },
      DirectoryLoaderOptions{.music_dir = dir});
  callflow::CompanyMusic music(*provisioning_, keys_, clock_);
  const auto silence = [](int64_t ms) {
    const std::string wav = callflow::pcm16_wav(std::vector<int16_t>(static_cast<size_t>(ms * 8), 0));
    return std::vector<uint8_t>(wav.begin(), wav.end());
  };
  ASSERT_TRUE(music.set(company_, silence(6'000), "cli:test").ok());
  start();
  const std::string* first = directory_.music_for(company_);
  ASSERT_NE(first, nullptr) << "the initial load writes the file";
  const std::string first_path = *first;
  EXPECT_TRUE(first_path.starts_with(dir + "/" + company_ + "-")) << first_path;
  EXPECT_EQ(std::filesystem::file_size(first_path), 44u + 6'000u * 16);
  EXPECT_FALSE(std::filesystem::exists(stale)) << "a file no company's music names is removed";
  EXPECT_EQ(directory_.music_for("another-company"), nullptr);

  ASSERT_TRUE(music.set(company_, silence(7'000), "cli:test").ok());
  ASSERT_TRUE(run_until([&] {
    const std::string* now = directory_.music_for(company_);
    return now != nullptr && *now != first_path;
  }));
  EXPECT_EQ(std::filesystem::file_size(*directory_.music_for(company_)), 44u + 7'000u * 16);
  EXPECT_FALSE(std::filesystem::exists(first_path)) << "the company's older file is removed";

  ASSERT_TRUE(music.clear(company_, "cli:test").ok());
  ASSERT_TRUE(run_until([&] { return directory_.music_for(company_) == nullptr; }));
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  loader_->stop();
  std::filesystem::remove_all(dir);
}

TEST_P(DirectoryLoaderTest, ALineAddedAfterStartArrivesWithinASecondWithoutAFullReload) {
  start();
  ASSERT_NE(directory_.by_sip_user(login(first_)), nullptr) << "the initial load";
  EXPECT_EQ(directory_.by_number(company_, "102"), nullptr);

  auto added = extensions().add_extension({company_, "102", "battery-staple-9", std::nullopt, "020 7946 0958"},
                                          "cli:test");
  ASSERT_TRUE(added.ok()) << added.error().describe();
  const std::string added_login = login(*added);
  const auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return directory_.by_sip_user(added_login) != nullptr; })) << "not there within 1 s";
  EXPECT_LT(std::chrono::steady_clock::now() - began, 1s);
  const ExtensionInfo* line = directory_.by_sip_user(added_login);
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
  const std::string added_login = login(*added);
  EXPECT_TRUE(run_until([&] { return directory_.by_sip_user(added_login) != nullptr; }));
}

// Bans follow the same path as lines: a node's writer records one (working out the repeat), the
// loader of every node hands it to its worker within a second, and so it does an operator's lift.
TEST_P(DirectoryLoaderTest, BansMadeRepeatedAndLiftedArriveLikeLines) {
  std::vector<std::shared_ptr<const BanUpdate>> delivered;
  loader_->follow_bans(clock_, [&](std::shared_ptr<const BanUpdate> update) {
    boost::asio::post(io_, [&delivered, update = std::move(update)] { delivered.push_back(update); });
  });
  auto initial = loader_->load_bans();
  ASSERT_TRUE(initial.ok()) << initial.error().describe();
  EXPECT_TRUE((*initial)->replace_all);
  EXPECT_TRUE((*initial)->bans.empty());
  start();

  auto writer_store = test_store_->open();
  ASSERT_TRUE(writer_store.ok());
  store::AppendWriter writer(std::move(writer_store).value());
  StoreBans store_bans(writer);
  const BanHasher hasher(keys_);
  const BanHash hash = hasher.source(*SourceKey::parse("198.51.100.66"));
  constexpr int64_t kTenMinutes = 600'000'000;
  const int64_t at = clock_.now_us();
  store_bans.ban({hash, at, kTenMinutes, 4 * kTenMinutes, "auth_failures"});
  ASSERT_TRUE(writer.flush().ok());
  const auto seen = [&](int64_t until) {
    return [&, until] {
      for (const auto& u : delivered)
        for (const BanState& b : u->bans)
          if (b.hash == hash && b.banned_until_us == until) return true;
      return false;
    };
  };
  ASSERT_TRUE(run_until(seen(at + kTenMinutes))) << "the ban reaches the worker within a second";

  // A repeat while the row is kept lasts twice as long, then four times, and no longer than the cap.
  store_bans.ban({hash, at + 1, kTenMinutes, 4 * kTenMinutes, "auth_failures"});
  store_bans.ban({hash, at + 2, kTenMinutes, 4 * kTenMinutes, "auth_failures"});
  ASSERT_TRUE(writer.flush().ok());
  store_bans.ban({hash, at + 3, kTenMinutes, 4 * kTenMinutes, "auth_failures"});
  ASSERT_TRUE(writer.flush().ok());
  ASSERT_TRUE(run_until(seen(at + 3 + 4 * kTenMinutes)));

  Bans bans(*provisioning_, keys_, clock_);
  auto listed = bans.list();
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, ban_id(hash));
  EXPECT_EQ(*bans.id_of("198.51.100.66"), ban_id(hash));
  EXPECT_GE((*listed)[0].strikes, 3);
  EXPECT_TRUE((*listed)[0].active(clock_.now_us()));

  clock_.advance_us(1'000'000);
  ASSERT_TRUE(bans.lift(ban_id(hash), "cli:test").ok());
  ASSERT_TRUE(run_until([&] {
    for (const auto& u : delivered)
      for (const BanState& b : u->bans)
        if (b.hash == hash && b.lifted_at_us == clock_.now_us()) return true;
    return false;
  })) << "the lift reaches the worker within a second";
  EXPECT_TRUE(bans.list()->empty());
  EXPECT_EQ(bans.lift(ban_id(hash), "cli:test").error().code, ErrorCode::not_found);
  EXPECT_EQ(bans.lift("nonsense", "cli:test").error().field, "id");
  EXPECT_EQ(bans.id_of("not an address").error().field, "address");
  // A ban after a lift is still a repeat while the row is kept (fail2ban's unban forgets no history).
  store_bans.ban({hash, clock_.now_us(), kTenMinutes, 4 * kTenMinutes, "auth_failures"});
  ASSERT_TRUE(writer.flush().ok());
  ASSERT_TRUE(run_until(seen(clock_.now_us() + 4 * kTenMinutes)));
  EXPECT_EQ(loader_->stats().full_loads, 1u);
  EXPECT_GE(loader_->stats().ban_updates, 3u);
}

INSTANTIATE_TEST_SUITE_P(Backends, DirectoryLoaderTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::sip
