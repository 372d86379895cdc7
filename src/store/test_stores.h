#pragma once
// Test support: a fresh, empty store of either backend, so that every store-level test runs on
// SQLite and on PostgreSQL alike. A PostgreSQL test store is a schema of its own in the private
// instance the test run started (scripts/test-postgres.sh), found through the environment:
//   PRIVOX_TEST_POSTGRES_URL        the instance's URL, or
//   PRIVOX_TEST_POSTGRES_URL_FILE   a file holding it (what ctest's fixture sets).
// The schema is dropped when the TestStore goes.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/testing.h"
#include "store/store.h"

namespace privox::store {

class TestStore {
 public:
  // Fails (it never skips) when PostgreSQL is asked for and no instance is configured.
  static Result<std::unique_ptr<TestStore>> create(Backend backend);
  ~TestStore();
  TestStore(const TestStore&) = delete;
  TestStore& operator=(const TestStore&) = delete;

  Backend backend() const { return backend_; }
  // The URL (PostgreSQL) or file path (SQLite) that opens this store.
  const std::string& address() const { return address_; }
  // A new, independent connection to the same store, as a second process or node would have.
  Result<std::unique_ptr<Store>> open() const;
  // Where the store keeps its files: the SQLite directory; empty for PostgreSQL.
  const testing::TempDir& dir() const { return dir_; }

  // Everything this store holds, as text a search can look through. SQLite: every byte of its
  // files, write-ahead log included. PostgreSQL: every row of every table as text (bytea as hex)
  // and the server's statement log, which records each statement with its parameters; the log
  // must hold `logged_control` (a statement the test made), or the test fails: the log is not
  // being written.
  std::string everything_stored(Store& store, std::string_view logged_control) const;
  // Whether `everything` (from everything_stored) holds these bytes, in the form this backend
  // shows them (raw on SQLite, hex on PostgreSQL).
  bool holds_bytes(const std::string& everything, const Bytes& needle) const;

  // The PostgreSQL instance's base URL and statement log, for tests that look behind the store.
  static Result<std::string> postgres_url();
  static std::string postgres_log_path();

 private:
  TestStore(Backend backend, std::string address, std::string schema);

  const Backend backend_;
  testing::TempDir dir_;
  std::string address_;
  std::string schema_;  // PostgreSQL only
  // Where the statement log ended when this store was made: everything_stored reads only what came
  // after, so a value another test logged earlier is not taken for this test's leak.
  std::uintmax_t log_start_ = 0;
};

// Runs one SQL statement on the instance's own database outside any store (admin work in tests).
Status postgres_admin(const std::string& sql);

// The fixture of tests that run on both backends: a fresh store of the parameter's backend,
// migrated to the latest schema. A derived SetUp calls this one first and stops on its failure:
//   MigratedStoreTest::SetUp(); if (HasFatalFailure()) return;
class MigratedStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto created = TestStore::create(GetParam());
    ASSERT_TRUE(created.ok()) << created.error().describe();
    test_store_ = std::move(created).value();
    auto opened = test_store_->open();
    ASSERT_TRUE(opened.ok()) << opened.error().describe();
    store_ = std::move(opened).value();
    const Status migrated = store_->migrate();
    ASSERT_TRUE(migrated.ok()) << migrated.error().describe();
  }

  std::unique_ptr<TestStore> test_store_;
  std::unique_ptr<Store> store_;
};

// Names the backend in gtest's output instead of its bytes.
inline void PrintTo(Backend backend, std::ostream* os) { *os << to_string(backend); }

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return to_string(info.param);
}

}  // namespace privox::store
