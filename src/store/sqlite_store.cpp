#include "store/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "store/schema.h"

namespace privox::store {
namespace {

Error sqlite_error(sqlite3* db, int rc, std::string_view doing) {
  const int primary = rc & 0xff;
  const ErrorCode code = (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) ? ErrorCode::unavailable
                         : primary == SQLITE_CONSTRAINT                       ? ErrorCode::conflict
                         : (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) ? ErrorCode::corrupt
                                                                             : ErrorCode::internal;
  return make_error(code, fmt::format("sqlite: {}: {}", doing, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}


// Owns the connection and a cache of prepared statements. Guarded by SqliteStore::mutex_.
class Connection {
 public:
  explicit Connection(sqlite3* db) : db_(db) {}
  ~Connection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }

  Result<sqlite3_stmt*> prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, fmt::format("prepare '{}'", sql));
    cache_.emplace(std::string(sql), stmt);
    return stmt;
  }

  Status bind(sqlite3_stmt* stmt, const Params& params) {
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt))
      return make_error(ErrorCode::internal, fmt::format("sqlite: statement takes {} parameters, got {}",
                                                          sqlite3_bind_parameter_count(stmt), params.size()));
    for (size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i + 1);
      const int rc = std::visit(
          [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) return sqlite3_bind_null(stmt, idx);
            else if constexpr (std::is_same_v<T, int64_t>) return sqlite3_bind_int64(stmt, idx, v);
            else if constexpr (std::is_same_v<T, double>) return sqlite3_bind_double(stmt, idx, v);
            else if constexpr (std::is_same_v<T, std::string>)
              return sqlite3_bind_text64(stmt, idx, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
            else if (v.empty()) return sqlite3_bind_zeroblob(stmt, idx, 0);
            else return sqlite3_bind_blob64(stmt, idx, v.data(), v.size(), SQLITE_STATIC);
          },
          params[i]);
      if (rc != SQLITE_OK) return sqlite_error(db_, rc, "bind");
    }
    return {};
  }

  static Value column(sqlite3_stmt* stmt, int i) {
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_INTEGER: return static_cast<int64_t>(sqlite3_column_int64(stmt, i));
      case SQLITE_FLOAT: return sqlite3_column_double(stmt, i);
      case SQLITE_TEXT: {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
      }
      case SQLITE_BLOB: {
        const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, i));
        return Bytes(p, p + sqlite3_column_bytes(stmt, i));
      }
      default: return std::monostate{};
    }
  }

  // Runs one statement to completion, collecting rows when `rows` is given.
  Result<int64_t> run(std::string_view sql, const Params& params, Rows* rows) {
    PRIVOX_ASSIGN(sqlite3_stmt* stmt, prepare(sql));
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() { sqlite3_reset(s); sqlite3_clear_bindings(s); }
    } reset{stmt};
    PRIVOX_TRY(bind(stmt, params));
    const int ncol = sqlite3_column_count(stmt);
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqlite_error(db_, rc, fmt::format("run '{}'", sql));
      if (rows) {
        std::vector<Value> values;
        values.reserve(static_cast<size_t>(ncol));
        for (int i = 0; i < ncol; ++i) values.push_back(column(stmt, i));
        rows->emplace_back(std::move(values));
      }
    }
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  Status exec_script(const std::string& sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    if (rc == SQLITE_OK) return {};
    Error e = sqlite_error(db_, rc, msg ? msg : "exec");
    sqlite3_free(msg);
    return e;
  }

 private:
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

// A job lock for processes sharing one SQLite file: flock on a file beside the database. The
// kernel drops the lock when the process dies, so a crashed job never blocks the next run.
class FileJobLock final : public JobLock {
 public:
  explicit FileJobLock(int fd) : fd_(fd) {}
  ~FileJobLock() override { ::close(fd_); }
  FileJobLock(const FileJobLock&) = delete;
  FileJobLock& operator=(const FileJobLock&) = delete;

 private:
  int fd_;
};

// Holds the store's mutex from begin() until it is destroyed: one transaction at a time on the
// one connection. The analysis cannot follow a lock handed from the store to the transaction, so
// conn_ is reached through a plain reference here; begin() is where the handing over is checked.
class SqliteTransaction final : public Transaction {
 public:
  // `mu` is held, and is released by the destructor.
  SqliteTransaction(Connection& conn, Mutex& mu) : conn_(conn), mu_(mu) {}
  ~SqliteTransaction() override {
    if (open_) (void)conn_.exec_script("ROLLBACK");
    release();
  }

  Result<Rows> query(std::string_view sql, const Params& params) override {
    PRIVOX_TRY(check_open());
    Rows rows;
    PRIVOX_TRY(conn_.run(sql, params, &rows));
    return rows;
  }

  Result<int64_t> exec(std::string_view sql, const Params& params) override {
    PRIVOX_TRY(check_open());
    return conn_.run(sql, params, nullptr);
  }

  Status insert_rows(std::string_view table, const std::vector<std::string>& columns,
                     const std::vector<Params>& rows) override {
    PRIVOX_TRY(check_open());
    std::string sql = fmt::format("INSERT INTO {} ({}) VALUES (", table, fmt::join(columns, ", "));
    for (size_t i = 0; i < columns.size(); ++i) sql += i ? ", ?" : "?";
    sql += ")";
    for (const Params& row : rows) PRIVOX_TRY(conn_.run(sql, row, nullptr));
    return {};
  }

  Status commit() override {
    PRIVOX_TRY(check_open());
    Status s = conn_.exec_script("COMMIT");
    if (!s.ok()) return s;  // still open: the destructor rolls back
    open_ = false;
    return {};
  }

  // Nothing to send: another process's SQLite listener cannot be woken; it polls (SqliteListener).
  Status notify(std::string_view) override { return check_open(); }

 private:
  Status check_open() const {
    if (!open_) return make_error(ErrorCode::internal, "transaction already committed");
    return {};
  }
  void release() NO_THREAD_SAFETY_ANALYSIS { mu_.unlock(); }  // taken in SqliteStore::begin()

  Connection& conn_;
  Mutex& mu_;
  bool open_ = true;
};

// SQLite cannot tell one process that another committed, so listening is polling: wait() returns
// every kPollUs and the caller reads what changed. A read of a small indexed table five times a
// second costs next to nothing, and keeps a change within ~200 ms of any node that serves.
class SqliteListener final : public Listener {
 public:
  static constexpr int64_t kPollUs = 200'000;

  Wake wait(int64_t at_most_us) override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(std::min(at_most_us, kPollUs));
    while (!interrupted_)
      if (!wake_.wait_until(mu_, until)) break;
    if (interrupted_) return Wake::interrupted;
    return at_most_us < kPollUs ? Wake::timeout : Wake::poll;
  }

  void interrupt() override EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      interrupted_ = true;
    }
    wake_.notify_all();
  }

 private:
  Mutex mu_;
  CondVar wake_;
  bool interrupted_ GUARDED_BY(mu_) = false;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, sqlite3* db) : path_(std::move(path)), conn_(db) {}

  Backend backend() const override { return Backend::sqlite; }
  std::string location() const override { return "sqlite:" + path_; }

  Result<std::unique_ptr<Transaction>> begin(TxMode mode) override EXCLUDES(mutex_) {
    mutex_.lock();  // handed to the transaction, which releases it when destroyed
    if (Status s = conn_.exec_script(mode == TxMode::write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"); !s.ok()) {
      mutex_.unlock();
      return s.error();
    }
    return handed_over(std::make_unique<SqliteTransaction>(conn_, mutex_));
  }

  Result<int> schema_version() override EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    return version_locked();
  }

  Status migrate() override EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    PRIVOX_TRY(conn_.exec_script("BEGIN IMMEDIATE"));
    Status s = migrate_locked();
    PRIVOX_TRY(conn_.exec_script(s.ok() ? "COMMIT" : "ROLLBACK"));
    return s;
  }

  Result<std::vector<TableInfo>> describe_tables() override EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    Rows tables;
    PRIVOX_TRY(conn_.run("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                         "ORDER BY name", {}, &tables));
    std::vector<TableInfo> out;
    for (const Row& t : tables) {
      TableInfo info{t.text(0), {}};
      Rows cols;
      PRIVOX_TRY(conn_.run("SELECT name, upper(type) FROM pragma_table_info(?)", {t.text(0)}, &cols));
      for (const Row& c : cols) info.columns.push_back({c.text(0), c.text(1)});
      out.push_back(std::move(info));
    }
    return out;
  }

  Status purge_deleted() override EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    int log_frames = 0, checkpointed = 0;
    const int rc = sqlite3_wal_checkpoint_v2(conn_.db(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                             &checkpointed);
    if (rc != SQLITE_OK) return sqlite_error(conn_.db(), rc, "checkpoint and truncate the write-ahead log");
    return {};
  }

  Result<std::unique_ptr<JobLock>> try_lock_job(std::string_view job) override {
    for (char c : job)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
        return make_error(ErrorCode::internal, fmt::format("job name '{}' must be letters, digits, _ and -", job));
    const std::string lock_path = fmt::format("{}.job-{}.lock", path_, job);
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(ErrorCode::internal, fmt::format("cannot open job lock {}", lock_path));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return std::unique_ptr<JobLock>();
    }
    return std::unique_ptr<JobLock>(std::make_unique<FileJobLock>(fd));
  }

  Result<std::unique_ptr<Listener>> listen(std::string_view) override {
    return std::unique_ptr<Listener>(std::make_unique<SqliteListener>());
  }

  Status configure() EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    return conn_.exec_script(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
        "PRAGMA secure_delete = ON; "
        // 64 MiB instead of 2 MiB: a retention batch dirties index pages all over traffic_records, and
        // with the default cache they spill to the WAL and are rewritten several times per batch. It is
        // a ceiling per connection, reached only by such batches; a node holds a handful of connections.
        "PRAGMA cache_size = -65536;");
  }

 private:
  // The transaction now holds mutex_ (taken in begin()); the analysis sees it released here.
  std::unique_ptr<Transaction> handed_over(std::unique_ptr<Transaction> tx) RELEASE(mutex_) NO_THREAD_SAFETY_ANALYSIS {
    return tx;
  }

  Result<int> version_locked() REQUIRES(mutex_) {
    Rows rows;
    PRIVOX_TRY(conn_.run("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                         {}, &rows));
    if (rows.at(0).i64(0) == 0) return 0;
    rows.clear();
    PRIVOX_TRY(conn_.run("SELECT coalesce(max(version), 0) FROM schema_migrations", {}, &rows));
    return static_cast<int>(rows.at(0).i64(0));
  }

  Status migrate_locked() REQUIRES(mutex_) {
    PRIVOX_TRY(conn_.exec_script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
        "applied_at_us INTEGER NOT NULL)"));
    PRIVOX_ASSIGN(const int current, version_locked());
    if (current > latest_schema_version())
      return make_error(ErrorCode::version_mismatch,
                        fmt::format("store {} has schema version {}, newer than this privox (which knows up to {}); "
                                    "run a newer privox",
                                    location(), current, latest_schema_version()));
    for (const Migration& m : migrations()) {
      if (m.version <= current) continue;
      for (const std::string& statement : m.statements) PRIVOX_TRY(conn_.exec_script(expand_types(false, statement)));
      PRIVOX_TRY(conn_.run("INSERT INTO schema_migrations (version, description, applied_at_us) VALUES (?, ?, "
                           "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))",
                           {int64_t{m.version}, std::string(m.description)}, nullptr));
    }
    return {};
  }

  const std::string path_;
  Mutex mutex_;
  Connection conn_ GUARDED_BY(mutex_);
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(db, rc, fmt::format("open {}", path));
    sqlite3_close_v2(db);
    return e;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  auto store = std::make_unique<SqliteStore>(path, db);
  PRIVOX_TRY(store->configure());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace privox::store
