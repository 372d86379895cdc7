#include "store/test_stores.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sodium.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/bytes.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace privox::store {

Result<std::string> TestStore::postgres_url() {
  if (const char* url = std::getenv("PRIVOX_TEST_POSTGRES_URL"); url && *url) return std::string(url);
  if (const char* file = std::getenv("PRIVOX_TEST_POSTGRES_URL_FILE"); file && *file) {
    std::ifstream in(file);
    std::string url;
    if (std::getline(in, url) && !url.empty()) return url;
    return make_error(ErrorCode::unavailable, fmt::format("no PostgreSQL URL in {}: did the postgres fixture start?", file));
  }
  return make_error(ErrorCode::unavailable,
                    "no PostgreSQL test instance: run the tests through `make test` (or ctest), or set "
                    "PRIVOX_TEST_POSTGRES_URL");
}

std::string TestStore::postgres_log_path() {
  const char* file = std::getenv("PRIVOX_TEST_POSTGRES_URL_FILE");
  if (!file || !*file) return {};
  return (std::filesystem::path(file).parent_path() / "log" / "postgresql.log").string();
}

Status postgres_admin(const std::string& sql) {
  PRIVOX_ASSIGN(std::string url, TestStore::postgres_url());
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* res = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
  const std::string message = ok ? "" : PQerrorMessage(conn);
  PQclear(res);
  PQfinish(conn);
  if (!ok) return make_error(ErrorCode::internal, fmt::format("admin '{}' failed: {}", sql, message));
  return {};
}

Result<std::unique_ptr<TestStore>> TestStore::create(Backend backend) {
  if (backend == Backend::sqlite) {
    auto store = std::unique_ptr<TestStore>(new TestStore(backend, "", ""));
    store->address_ = store->dir_.file("privox.db");
    return store;
  }
  PRIVOX_ASSIGN(std::string url, postgres_url());
  uint8_t random[8];
  randombytes_buf(random, sizeof random);
  const std::string schema = "t_" + to_hex(random, sizeof random);
  PRIVOX_TRY(postgres_admin(fmt::format("CREATE SCHEMA {}", schema)));
  const char sep = url.find('?') == std::string::npos ? '?' : '&';
  return std::unique_ptr<TestStore>(
      new TestStore(backend, fmt::format("{}{}options=-csearch_path%3D{}", url, sep, schema), schema));
}

TestStore::TestStore(Backend backend, std::string address, std::string schema)
    : backend_(backend), address_(std::move(address)), schema_(std::move(schema)) {
  std::error_code ec;
  if (backend_ == Backend::postgresql) log_start_ = std::filesystem::file_size(postgres_log_path(), ec);
  if (ec) log_start_ = 0;
}

TestStore::~TestStore() {
  if (!schema_.empty()) (void)postgres_admin(fmt::format("DROP SCHEMA {} CASCADE", schema_));
}

std::string TestStore::everything_stored(Store& store, std::string_view logged_control) const {
  if (backend_ == Backend::sqlite) return dir_.all_bytes();
  std::string out;
  auto tables = store.describe_tables();
  EXPECT_TRUE(tables.ok());
  if (!tables.ok()) return out;
  auto tx = store.begin(TxMode::read);
  EXPECT_TRUE(tx.ok());
  if (!tx.ok()) return out;
  for (const TableInfo& t : *tables) {
    auto rows = (*tx)->query("SELECT CAST(x AS TEXT) FROM " + t.name + " x");
    EXPECT_TRUE(rows.ok());
    if (rows.ok())
      for (const Row& r : *rows) out += r.text(0) + "\n";
  }
  std::ifstream log(postgres_log_path(), std::ios::binary);
  log.seekg(static_cast<std::streamoff>(log_start_));
  const std::string log_text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(log_text.find(logged_control), std::string::npos) << "the statement log is not being written";
  return out + log_text;
}

bool TestStore::holds_bytes(const std::string& everything, const Bytes& needle) const {
  return everything.find(backend_ == Backend::sqlite ? privox::to_string(needle) : to_hex(needle)) != std::string::npos;
}

Result<std::unique_ptr<Store>> TestStore::open() const {
  return backend_ == Backend::sqlite ? open_sqlite(address_) : open_postgres(address_);
}

}  // namespace privox::store
