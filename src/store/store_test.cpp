#include "store/store.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/schema.h"
#include "store/test_stores.h"

namespace privox::store {
namespace {

// Every test here runs on both backends.
class StoreTest : public MigratedStoreTest {
 protected:
  std::string ddl(std::string sql) { return expand_types(GetParam() == Backend::postgresql, std::move(sql)); }

  int64_t count(const std::string& table) {
    auto tx = store_->begin(TxMode::read);
    auto rows = (*tx)->query("SELECT count(*) FROM " + table);
    return rows->at(0).i64(0);
  }
};

TEST_P(StoreTest, MigratesToTheLatestVersionOnceAndOnlyOnce) {
  EXPECT_EQ(*store_->schema_version(), latest_schema_version());
  EXPECT_TRUE(check_schema(*store_).ok());
  ASSERT_TRUE(store_->migrate().ok());
  EXPECT_EQ(count("schema_migrations"), static_cast<int64_t>(migrations().size()));
}

TEST_P(StoreTest, RefusesAStoreNewerThanTheBinary) {
  ASSERT_TRUE(with_transaction(*store_, TxMode::write, [](Session& s) -> Status {
                PRIVOX_TRY(s.exec("INSERT INTO schema_migrations VALUES (?, 'from the future', 0)",
                                  {int64_t{latest_schema_version() + 1}}));
                return {};
              }).ok());
  const Status migrated = store_->migrate();
  ASSERT_FALSE(migrated.ok());
  EXPECT_EQ(migrated.error().code, ErrorCode::version_mismatch);
  EXPECT_NE(migrated.error().message.find("newer than this privox"), std::string::npos);
  EXPECT_FALSE(check_schema(*store_).ok());
}

TEST_P(StoreTest, UninitialisedStoreIsReportedAsSuch) {
  auto empty = TestStore::create(GetParam());
  ASSERT_TRUE(empty.ok());
  auto other = (*empty)->open();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*(*other)->schema_version(), 0);
  const Status s = check_schema(**other);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("privox init"), std::string::npos);
}

TEST_P(StoreTest, RoundTripsEveryValueType) {
  ASSERT_TRUE(with_transaction(*store_, TxMode::write, [&](Session& s) -> Status {
                PRIVOX_TRY(s.exec(ddl("CREATE TABLE t (i {i64}, d DOUBLE PRECISION, s TEXT, b {blob}, n TEXT)")));
                PRIVOX_TRY(s.exec("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                                  {int64_t{-9'000'000'000'000}, 2.5, std::string("h\xc3\xa9llo 'q' ? x"),
                                   Bytes{0, 1, 255, '\\', 'x'}, null_value()}));
                PRIVOX_TRY(s.exec("INSERT INTO t VALUES (0, 0, '', ?, NULL)", {Bytes{}}));
                return {};
              }).ok());
  auto tx = store_->begin(TxMode::read);
  auto rows = (*tx)->query("SELECT i, d, s, b, n FROM t ORDER BY i");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  const Row& r = rows->at(0);
  EXPECT_EQ(r.i64(0), -9'000'000'000'000);
  EXPECT_EQ(std::get<double>(r.at(1)), 2.5);
  EXPECT_EQ(r.text(2), std::string("h\xc3\xa9llo 'q' ? x"));
  EXPECT_EQ(r.blob(3), (Bytes{0, 1, 255, '\\', 'x'}));
  EXPECT_TRUE(r.is_null(4));
  EXPECT_EQ(rows->at(1).blob(3), Bytes{});  // an empty blob stays a blob, not NULL
}

TEST_P(StoreTest, UncommittedTransactionRollsBack) {
  {
    auto tx = store_->begin(TxMode::write);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->exec("INSERT INTO companies (id, name, region, country, created_at_us) VALUES ('c1', 'n', 'eea', 'GB', 0)").ok());
  }
  EXPECT_EQ(count("companies"), 0);
  {
    auto tx = store_->begin(TxMode::write);
    ASSERT_TRUE((*tx)->exec("INSERT INTO companies (id, name, region, country, created_at_us) VALUES ('c1', 'n', 'eea', 'GB', 0)").ok());
    ASSERT_TRUE((*tx)->commit().ok());
    EXPECT_FALSE((*tx)->exec("SELECT 1").ok());  // a committed transaction is spent
  }
  EXPECT_EQ(count("companies"), 1);
}

TEST_P(StoreTest, ConstraintsAreConflictsAndForeignKeysAreOn) {
  const Status dup = with_transaction(*store_, TxMode::write, [](Session& s) -> Status {
    PRIVOX_TRY(s.exec("INSERT INTO companies (id, name, region, country, created_at_us) VALUES ('c1', 'n', 'eea', 'GB', 0)"));
    PRIVOX_TRY(s.exec("INSERT INTO companies (id, name, region, country, created_at_us) VALUES ('c1', 'n', 'eea', 'GB', 0)"));
    return {};
  });
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::conflict);
  EXPECT_EQ(count("companies"), 0);  // the whole transaction rolled back

  const Status orphan = with_transaction(*store_, TxMode::write, [](Session& s) -> Status {
    PRIVOX_TRY(s.exec("INSERT INTO members (id, company_id, status, created_at_us) VALUES ('m', 'nope', 'active', 0)"));
    return {};
  });
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code, ErrorCode::conflict);
}

TEST_P(StoreTest, BadSqlIsAnErrorNotACrash) {
  auto tx = store_->begin(TxMode::read);
  auto rows = (*tx)->query("SELEC nonsense");
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.error().message.find("nonsense"), std::string::npos);
  EXPECT_FALSE((*tx)->query("SELECT ?", {}).ok());  // parameter count mismatch
}

TEST_P(StoreTest, DescribesEveryTableAndColumn) {
  auto tables = store_->describe_tables();
  ASSERT_TRUE(tables.ok());
  const std::string blob = GetParam() == Backend::sqlite ? "BLOB" : "BYTEA";
  bool found = false;
  for (const TableInfo& t : *tables)
    if (t.name == "members")
      for (const ColumnInfo& c : t.columns) found |= c.name == "email_enc" && c.type == blob;
  EXPECT_TRUE(found);
}

TEST_P(StoreTest, InsertRowsWritesEveryRow) {
  std::vector<Params> rows;
  rows.reserve(100);
  for (int i = 0; i < 100; ++i)
    rows.push_back({std::string("c") + std::to_string(i), std::string("n"), std::string("us"), std::string("US"),
                    int64_t{i}});
  ASSERT_TRUE(with_transaction(*store_, TxMode::write, [&](Session& s) {
                return s.insert_rows("companies", {"id", "name", "region", "country", "created_at_us"}, rows);
              }).ok());
  EXPECT_EQ(count("companies"), 100);
}

TEST_P(StoreTest, TwoConnectionsSeeEachOthersCommits) {
  auto other = test_store_->open();
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(with_transaction(**other, TxMode::write, [](Session& s) -> Status {
                PRIVOX_TRY(s.exec("INSERT INTO companies (id, name, region, country, created_at_us) VALUES ('c1', 'n', 'eea', 'GB', 0)"));
                return {};
              }).ok());
  EXPECT_EQ(count("companies"), 1);
}

TEST_P(StoreTest, PlaceholdersInsideQuotesAreLeftAlone) {
  auto tx = store_->begin(TxMode::read);
  auto rows = (*tx)->query("SELECT '?', ? -- is this a placeholder?\n", {std::string("yes")});
  ASSERT_TRUE(rows.ok()) << rows.error().describe();
  EXPECT_EQ(rows->at(0).text(0), "?");
  EXPECT_EQ(rows->at(0).text(1), "yes");
}

TEST_P(StoreTest, AJobLockIsHeldByOneStoreAtATime) {
  auto other = test_store_->open();
  ASSERT_TRUE(other.ok());
  auto first = store_->try_lock_job("retention");
  ASSERT_TRUE(first.ok()) << first.error().describe();
  ASSERT_NE(*first, nullptr);
  auto second = (*other)->try_lock_job("retention");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, nullptr);
  auto unrelated = (*other)->try_lock_job("rating");
  ASSERT_TRUE(unrelated.ok());
  EXPECT_NE(*unrelated, nullptr);
  first->reset();
  auto third = (*other)->try_lock_job("retention");
  ASSERT_TRUE(third.ok());
  EXPECT_NE(*third, nullptr);
}

TEST_P(StoreTest, TwoNodesMigratingAtOnceAgree) {
  auto fresh = TestStore::create(GetParam());
  ASSERT_TRUE(fresh.ok());
  auto a = (*fresh)->open();
  auto b = (*fresh)->open();
  ASSERT_TRUE(a.ok() && b.ok());
  Status sa, sb;
  std::thread ta([&] { sa = (*a)->migrate(); });
  std::thread tb([&] { sb = (*b)->migrate(); });
  ta.join();
  tb.join();
  EXPECT_TRUE(sa.ok()) << sa.error().describe();
  EXPECT_TRUE(sb.ok()) << sb.error().describe();
  EXPECT_EQ(*(*a)->schema_version(), latest_schema_version());
  auto tx = (*a)->begin(TxMode::read);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM schema_migrations")->at(0).i64(0),
            static_cast<int64_t>(migrations().size()));
}

TEST_P(StoreTest, AListenerWakesForCommittedNotificationsFromAnotherConnection) {
  auto listening = store_->listen("privox_test");
  ASSERT_TRUE(listening.ok()) << listening.error().describe();
  const std::unique_ptr<Listener> listener = std::move(listening).value();
  auto other = test_store_->open();  // another node, or a CLI process
  ASSERT_TRUE(other.ok());
  const bool postgres = GetParam() == Backend::postgresql;

  {
    auto tx = (*other)->begin(TxMode::write);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->notify("privox_test").ok());
  }  // rolled back: nothing is sent
  if (postgres) {
    EXPECT_EQ(listener->wait(300'000), Listener::Wake::timeout);
  }

  ASSERT_TRUE(with_transaction(**other, TxMode::write, [](Session& s) { return s.notify("privox_test"); }).ok());
  const auto began = std::chrono::steady_clock::now();
  // PostgreSQL is told at once; SQLite polls, and says it is time to look within its interval.
  EXPECT_EQ(listener->wait(10'000'000), postgres ? Listener::Wake::notified : Listener::Wake::poll);
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(1));

  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    listener->interrupt();
  });
  EXPECT_EQ(listener->wait(30'000'000), Listener::Wake::interrupted) << "interrupt() ends a wait at once";
  stopper.join();
  EXPECT_EQ(listener->wait(30'000'000), Listener::Wake::interrupted) << "and every later one";
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::sqlite, Backend::postgresql), backend_name);

}  // namespace
}  // namespace privox::store
