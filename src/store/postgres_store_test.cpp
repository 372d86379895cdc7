// PostgreSQL-only behaviour: lost connections, an unreachable server, and a server crash. The
// crash tests run their own throw-away instance so they never disturb the shared one.

#include "store/postgres_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/testing.h"
#include "store/append_writer.h"
#include "store/counters.h"
#include "store/test_stores.h"

namespace privox::store {
namespace {

int64_t count_rows(Store& store, const std::string& table) {
  auto tx = store.begin(TxMode::read);
  EXPECT_TRUE(tx.ok()) << tx.error().describe();
  if (!tx.ok()) return -1;
  auto rows = (*tx)->query("SELECT count(*) FROM " + table);
  EXPECT_TRUE(rows.ok()) << rows.error().describe();
  return rows.ok() ? rows->at(0).i64(0) : -1;
}

Status create_events(Store& store) {
  return with_transaction(store, TxMode::write, [](Session& s) -> Status {
    PRIVOX_TRY(s.exec("CREATE TABLE events (id TEXT PRIMARY KEY, at_us BIGINT NOT NULL)"));
    return {};
  });
}

TEST(PostgresStoreTest, ALostConnectionIsAClearErrorWritesNothingAndHealsOnTheNextTransaction) {
  auto test_store = std::move(TestStore::create(Backend::postgresql)).value();
  auto store = std::move(test_store->open()).value();
  ASSERT_TRUE(create_events(*store).ok());

  auto tx = store->begin(TxMode::write);
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*tx)->exec("INSERT INTO events VALUES ('half', 1)").ok());
  const int64_t pid = (*tx)->query("SELECT pg_backend_pid()")->at(0).i64(0);
  ASSERT_TRUE(postgres_admin(fmt::format("SELECT pg_terminate_backend({})", pid)).ok());

  auto next = (*tx)->exec("INSERT INTO events VALUES ('other', 2)");
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, ErrorCode::unavailable);
  EXPECT_NE(next.error().message.find("connection lost"), std::string::npos) << next.error().message;
  tx->reset();

  // Nothing of the interrupted transaction landed, and the store reconnects by itself.
  EXPECT_EQ(count_rows(*store, "events"), 0);
  EXPECT_TRUE(with_transaction(*store, TxMode::write, [](Session& s) -> Status {
                PRIVOX_TRY(s.exec("INSERT INTO events VALUES ('after', 3)"));
                return {};
              }).ok());
  EXPECT_EQ(count_rows(*store, "events"), 1);
}

TEST(PostgresStoreTest, AListenerWhoseConnectionIsKilledReconnectsSaysSoAndHearsAgain) {
  auto test_store = std::move(TestStore::create(Backend::postgresql)).value();
  auto store = std::move(test_store->open()).value();
  const std::string channel = fmt::format("privox_killed_{}", std::rand());
  auto listening = store->listen(channel);
  ASSERT_TRUE(listening.ok()) << listening.error().describe();
  const std::unique_ptr<Listener> listener = std::move(listening).value();
  ASSERT_TRUE(postgres_admin(fmt::format("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         "WHERE query LIKE 'LISTEN %{}%'",
                                         channel))
                  .ok());
  // Notifications sent while it was down are lost: the listener must say that it reconnected.
  bool reconnected = false;
  for (int i = 0; i < 10 && !reconnected; ++i) reconnected = listener->wait(1'000'000) == Listener::Wake::reconnected;
  EXPECT_TRUE(reconnected);
  ASSERT_TRUE(with_transaction(*store, TxMode::write, [&](Session& s) { return s.notify(channel); }).ok());
  EXPECT_EQ(listener->wait(5'000'000), Listener::Wake::notified) << "it listens again on its new connection";
}

// A failover as libpq makes one: the URL names two hosts, the first is lost, and the next link
// lands on the second. Both hosts are the shared test instance, reached first through a link to
// its unix socket in a directory of this test's own and then over TCP, so removing the link
// "loses" the first host without disturbing any other test.
TEST(PostgresStoreTest, ANewLinkToTheNextHostOfTheUrlCountsAsAFailover) {
  const char* url_file = std::getenv("PRIVOX_TEST_POSTGRES_URL_FILE");
  ASSERT_TRUE(url_file && *url_file) << "run through ctest";
  auto base = TestStore::postgres_url();
  ASSERT_TRUE(base.ok()) << base.error().describe();
  const size_t at = base->find("@127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << "the test instance listens on 127.0.0.1";
  const size_t port_end = base->find('/', at);
  const std::string port = base->substr(at + 11, port_end - at - 11);
  const auto socket = std::filesystem::path(url_file).parent_path() / "sock" / (".s.PGSQL." + port);
  testing::TempDir first_host;
  const auto link = std::filesystem::path(first_host.path()) / (".s.PGSQL." + port);
  std::filesystem::create_symlink(socket, link);
  std::string encoded;
  for (const char c : first_host.path()) encoded += c == '/' ? std::string("%2F") : std::string(1, c);
  const std::string two_hosts = base->substr(0, at + 1) + encoded + ":" + port + ",127.0.0.1:" + base->substr(at + 11);

  auto store = open_postgres(two_hosts);
  ASSERT_TRUE(store.ok()) << store.error().describe();
  const auto server_address = [&] {
    auto tx = (*store)->begin(TxMode::read);
    EXPECT_TRUE(tx.ok()) << tx.error().describe();
    auto rows = (*tx)->query("SELECT coalesce(host(inet_server_addr()), 'socket'), pg_backend_pid()");
    EXPECT_TRUE(rows.ok()) << rows.error().describe();
    return std::pair{rows->at(0).text(0), rows->at(0).i64(1)};
  };
  const uint64_t before = counters().failovers.load();
  const auto [first, pid] = server_address();
  EXPECT_EQ(first, "socket") << "the first link goes to the first host";

  std::filesystem::remove(link);
  ASSERT_TRUE(postgres_admin(fmt::format("SELECT pg_terminate_backend({})", pid)).ok());
  // The pooled link is found dead on its next use (one retry), and the new one reaches host two.
  std::string second;
  for (int i = 0; i < 3 && second != "127.0.0.1"; ++i) second = server_address().first;
  EXPECT_EQ(second, "127.0.0.1");
  EXPECT_EQ(counters().failovers.load(), before + 1);
}

TEST(PostgresStoreTest, AnUnreachableServerIsAClearErrorWithoutThePassword) {
  auto store = open_postgres("postgresql://someone:s3cret-pw@127.0.0.1:1/nowhere");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::unavailable);
  EXPECT_NE(store.error().message.find("cannot connect to postgresql://someone@127.0.0.1:1/nowhere"),
            std::string::npos)
      << store.error().message;
  EXPECT_EQ(store.error().message.find("s3cret-pw"), std::string::npos);
}

TEST(PostgresStoreTest, ANonPostgresUrlIsRefusedNamingTheFlag) {
  for (const char* url : {"mysql://a:b@host/db", "sqlite:///tmp/x.db", ""}) {
    auto store = open_postgres(url);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(store.error().field, "store");
  }
}

// A private instance this test may crash.
class PostgresCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(script("start"), 0);
    std::ifstream in(dir_.file("url"));
    ASSERT_TRUE(std::getline(in, url_));
  }
  void TearDown() override { script("stop"); }

  int script(const std::string& action) {
    const std::string cmd = fmt::format("bash {}/scripts/test-postgres.sh {} {} >/dev/null", PRIVOX_SOURCE_DIR, action,
                                        dir_.path());
    return std::system(cmd.c_str());
  }

  testing::TempDir dir_;
  std::string url_;
};

TEST_F(PostgresCrashTest, AcknowledgedAppendsSurviveAServerCrashAndUnacknowledgedOnesAreReported) {
  auto reader = std::move(open_postgres(url_)).value();
  ASSERT_TRUE(create_events(*reader).ok());
  AppendWriter writer(std::move(open_postgres(url_)).value(),
                      AppendOptions{.on_batch = {}, .max_batch_rows = 512, .max_queue_rows = 1 << 16, .commit_attempts = 3});
  const size_t events = writer.add_target({"events", {"id", "at_us"}});

  constexpr int kRows = 5000;
  for (int i = 0; i < kRows; ++i) ASSERT_TRUE(writer.append(events, {fmt::format("e{}", i), int64_t{i}}).ok());
  ASSERT_TRUE(writer.flush().ok());  // acknowledged: every row is committed

  ASSERT_EQ(script("crash"), 0);
  // While the server is down a row cannot be made durable, and its writer says so.
  auto lost = writer.append(events, {std::string("during-outage"), int64_t{-1}});
  ASSERT_TRUE(lost.ok());
  const Status outage = writer.wait(*lost);
  ASSERT_FALSE(outage.ok());
  EXPECT_EQ(outage.error().code, ErrorCode::unavailable);

  ASSERT_EQ(script("resume"), 0);
  // Everything acknowledged before the crash is there; the stores reconnect on their own.
  EXPECT_EQ(count_rows(*reader, "events"), kRows);
  ASSERT_TRUE(writer.wait(*writer.append(events, {std::string("after"), int64_t{kRows}})).ok());
  EXPECT_EQ(count_rows(*reader, "events"), kRows + 1);
}

}  // namespace
}  // namespace privox::store
