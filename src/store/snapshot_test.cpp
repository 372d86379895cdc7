#include "store/snapshot.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "store/schema.h"
#include "store/sqlite_store.h"
#include "store/test_stores.h"

namespace privox::store {
namespace {

TEST(ParseCopyLine, SplitsOnTabsAndUnescapes) {
  const DumpRow row = parse_copy_line("1\tx\\ty\\\\z\t\\N\ta\\nb\t\\101\\x42\\q\t");
  ASSERT_EQ(row.size(), 6U);
  EXPECT_EQ(row[0], "1");
  EXPECT_EQ(row[1], "x\ty\\z");
  EXPECT_EQ(row[2], std::nullopt);
  EXPECT_EQ(row[3], "a\nb");
  EXPECT_EQ(row[4], "ABq");  // octal, hex, and an escaped ordinary character
  EXPECT_EQ(row[5], "");     // an empty value is not NULL
}

// Both backends: a snapshot holds what the store held when it was taken, and nothing written later.
class SnapshotTest : public MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    set_head(7, "before");
  }

  void set_head(int64_t seq, const std::string& hash) {
    ASSERT_TRUE(with_transaction(*store_, TxMode::write, [&](Session& s) -> Status {
                  PRIVOX_TRY(s.exec("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", {seq, hash}));
                  return {};
                }).ok());
  }
  std::string head_hash(Store& store) {
    auto tx = std::move(store.begin(TxMode::read)).value();
    return std::move(tx->query("SELECT hash FROM audit_head WHERE id = 1")).value().at(0).text(0);
  }

  testing::TempDir out_;
};

TEST_P(SnapshotTest, HoldsTheStateWhenTakenAndRestoresIt) {
  const std::string file = out_.file("snapshot");
  if (GetParam() == Backend::sqlite) {
    ASSERT_TRUE(sqlite_snapshot(test_store_->address(), file).ok());
    set_head(8, "after");
    auto copy = std::move(open_sqlite(file)).value();
    EXPECT_EQ(head_hash(*copy), "before");
    copy.reset();
    ASSERT_TRUE(sqlite_single_file(file).ok());
    EXPECT_FALSE(std::filesystem::exists(file + "-wal"));
    EXPECT_FALSE(sqlite_snapshot(test_store_->address(), file).ok()) << "an existing file is never overwritten";
    return;
  }
  const std::string schema = std::move(postgres_schema(*store_)).value();
  ASSERT_TRUE(postgres_dump(test_store_->address(), schema, file).ok());
  set_head(8, "after");
  std::vector<DumpRow> heads;
  ASSERT_TRUE(read_dump_table(file, schema, "audit_head", {"hash", "seq"}, out_.file("scratch"),
                              [&](const DumpRow& r) -> Status {
                                heads.push_back(r);
                                return {};
                              }).ok());
  ASSERT_EQ(heads.size(), 1U);
  EXPECT_EQ(heads[0][0], "before");
  EXPECT_EQ(heads[0][1], "7");
  EXPECT_FALSE(std::filesystem::exists(out_.file("scratch"))) << "the scratch file is removed";
  const Status missing = read_dump_table(file, schema, "no_such_table", {"x"}, out_.file("scratch"),
                                         [](const DumpRow&) -> Status { return {}; });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::corrupt);
  // Restore over the live schema: the later write is gone, in one transaction.
  store_.reset();
  ASSERT_TRUE(postgres_restore(test_store_->address(), file, out_.file("list")).ok());
  store_ = std::move(test_store_->open()).value();
  EXPECT_EQ(head_hash(*store_), "before");
  EXPECT_EQ(*store_->schema_version(), latest_schema_version());
}

INSTANTIATE_TEST_SUITE_P(Backends, SnapshotTest, ::testing::Values(Backend::sqlite, Backend::postgresql),
                         backend_name);

// Another process holding the file open is seen, and a replacement is refused while it is.
TEST(SqliteOpenElsewhere, SeesAnotherProcessAndReplaceWaitsForIt) {
  const testing::TempDir dir;
  const std::string db = dir.file("privox.db");
  {
    auto store = std::move(open_sqlite(db)).value();
    ASSERT_TRUE(store->migrate().ok());
  }
  ASSERT_TRUE(sqlite_snapshot(db, dir.file("copy.db")).ok());
  EXPECT_FALSE(*sqlite_open_elsewhere(db));
  // The sqlite3 shell opens the database and keeps it open until its input ends.
  FILE* other = ::popen(("sqlite3 " + db + " >/dev/null").c_str(), "w");
  ASSERT_NE(other, nullptr);
  std::fputs("SELECT count(*) FROM audit_head;\n", other);
  std::fflush(other);
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    seen = *sqlite_open_elsewhere(db);
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(seen);
  const Status replaced = sqlite_replace(dir.file("copy.db"), db);
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.error().code, ErrorCode::conflict);
  EXPECT_TRUE(std::filesystem::exists(dir.file("copy.db"))) << "nothing moved";
  ::pclose(other);
  EXPECT_FALSE(*sqlite_open_elsewhere(db));
  EXPECT_TRUE(sqlite_replace(dir.file("copy.db"), db).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.file("copy.db")));
  auto store = std::move(open_sqlite(db)).value();
  EXPECT_EQ(*store->schema_version(), latest_schema_version());
}

}  // namespace
}  // namespace privox::store
