#include "store/postgres_store.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <unordered_map>
#include <utility>

#include "common/log.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "store/counters.h"
#include "store/schema.h"

namespace privox::store {
namespace {

// Type OIDs from PostgreSQL's pg_type.h, stable across versions.
constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kFloat4 = 700, kFloat8 = 701,
              kNumeric = 1700;
// Two nodes migrating at once take turns on this advisory lock.
constexpr int64_t kMigrationLock = 0x70726976'6f786d67;  // "privoxmg"
// Keeps each multi-row INSERT under the protocol's 65535-parameter limit.
constexpr size_t kMaxParams = 60000, kMaxRowsPerInsert = 1000;
constexpr size_t kMaxIdleConnections = 8;

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

std::string trim_message(std::string m) {
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

bool sqlstate_is(const char* state, std::string_view prefix) {
  return state && std::string_view(state).substr(0, prefix.size()) == prefix;
}

Error pg_error(PGconn* conn, const PGresult* res, std::string_view doing) {
  const std::string message = trim_message(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  if (PQstatus(conn) != CONNECTION_OK)
    return make_error(ErrorCode::unavailable, fmt::format("postgresql: connection lost while {}: {}", doing, message));
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  ErrorCode code = ErrorCode::internal;
  if (sqlstate_is(state, "23")) code = ErrorCode::conflict;
  else if (sqlstate_is(state, "40") || sqlstate_is(state, "53") || sqlstate_is(state, "08") ||
           sqlstate_is(state, "57P") || sqlstate_is(state, "55P03"))
    code = ErrorCode::unavailable;  // serialisation failure, deadlock, resources, shutdown: nothing written
  return make_error(code, fmt::format("postgresql: {}: {}", doing, message));
}

// Rewrites portable `?` placeholders to $1, $2, ... outside quotes and comments.
std::string to_dollar_params(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '?') {
      out += fmt::format("${}", ++n);
    } else {
      out.push_back(c);
    }
  }
  return out;
}


Value decode(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return std::monostate{};
  const char* text = PQgetvalue(res, row, col);
  const size_t len = static_cast<size_t>(PQgetlength(res, row, col));
  const std::string_view sv(text, len);
  switch (PQftype(res, col)) {
    case kInt2: case kInt4: case kInt8: case kOid: {
      int64_t v = 0;
      std::from_chars(text, text + len, v);
      return v;
    }
    case kFloat4: case kFloat8: return std::strtod(text, nullptr);
    case kNumeric: {
      if (sv.find_first_of(".eE") != std::string_view::npos) return std::strtod(text, nullptr);
      int64_t v = 0;
      std::from_chars(text, text + len, v);
      return v;
    }
    case kBool: return int64_t{sv == "t"};
    case kBytea: {
      size_t n = 0;
      unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &n);
      Bytes b(raw, raw + n);
      PQfreemem(raw);
      return b;
    }
    default: return std::string(sv);
  }
}

// One server connection. Used by one thread at a time (the pool hands it out).
class PgConnection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  ~PgConnection() {
    if (conn_) PQfinish(conn_);
  }
  // Hands the connection back to the caller, who finishes it.
  PGconn* release() { return std::exchange(conn_, nullptr); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  bool healthy() const { return PQstatus(conn_) == CONNECTION_OK; }
  PGconn* raw() const { return conn_; }

  // Runs one statement whose placeholders are already $n. Rows go to `rows` when given.
  Result<int64_t> run(const std::string& sql, const Params& params, Rows* rows) {
    const size_t n = params.size();
    std::vector<std::string> text(n);
    std::vector<const char*> values(n, nullptr);
    std::vector<int> lengths(n, 0), formats(n, 0);
    std::vector<Oid> types(n, 0);
    for (size_t i = 0; i < n; ++i) {
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, int64_t>) {
              text[i] = std::to_string(v);
              values[i] = text[i].c_str();
              types[i] = kInt8;
            } else if constexpr (std::is_same_v<T, double>) {
              text[i] = fmt::format("{}", v);
              values[i] = text[i].c_str();
              types[i] = kFloat8;
            } else if constexpr (std::is_same_v<T, std::string>) {
              values[i] = v.c_str();
              lengths[i] = static_cast<int>(v.size());
            } else if constexpr (std::is_same_v<T, Bytes>) {
              static const char kEmpty = 0;
              values[i] = v.empty() ? &kEmpty : reinterpret_cast<const char*>(v.data());
              lengths[i] = static_cast<int>(v.size());
              formats[i] = 1;
              types[i] = kBytea;
            }
          },
          params[i]);
    }
    ResultPtr res(PQexecParams(conn_, sql.c_str(), static_cast<int>(n), types.data(), values.data(), lengths.data(),
                               formats.data(), 0),
                  &PQclear);
    const ExecStatusType status = PQresultStatus(res.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return pg_error(conn_, res.get(), describe(sql));
    if (rows && status == PGRES_TUPLES_OK) {
      const int nrows = PQntuples(res.get()), ncols = PQnfields(res.get());
      rows->reserve(rows->size() + static_cast<size_t>(nrows));
      for (int r = 0; r < nrows; ++r) {
        std::vector<Value> row;
        row.reserve(static_cast<size_t>(ncols));
        for (int c = 0; c < ncols; ++c) row.push_back(decode(res.get(), r, c));
        rows->emplace_back(std::move(row));
      }
    }
    const char* affected = PQcmdTuples(res.get());
    return static_cast<int64_t>(affected && *affected ? std::strtoll(affected, nullptr, 10) : PQntuples(res.get()));
  }

  Status simple(const std::string& sql) {
    ResultPtr res(PQexec(conn_, sql.c_str()), &PQclear);
    const ExecStatusType status = PQresultStatus(res.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return pg_error(conn_, res.get(), describe(sql));
    return {};
  }

 private:
  static std::string describe(std::string_view sql) {
    return fmt::format("'{}'", sql.size() > 120 ? std::string(sql.substr(0, 117)) + "..." : std::string(sql));
  }

  PGconn* conn_;
};

class PostgresStore;

class PgTransaction final : public Transaction {
 public:
  PgTransaction(PostgresStore& store, std::unique_ptr<PgConnection> conn) : store_(store), conn_(std::move(conn)) {}
  ~PgTransaction() override;

  Result<Rows> query(std::string_view sql, const Params& params) override;
  Result<int64_t> exec(std::string_view sql, const Params& params) override;
  Status insert_rows(std::string_view table, const std::vector<std::string>& columns,
                     const std::vector<Params>& rows) override;
  Status notify(std::string_view channel) override;
  Status commit() override;

 private:
  Status check_open() const {
    if (!open_) return make_error(ErrorCode::internal, "transaction already committed");
    return {};
  }

  PostgresStore& store_;
  std::unique_ptr<PgConnection> conn_;
  bool open_ = true;
};

class PgJobLock final : public JobLock {
 public:
  PgJobLock(PostgresStore& store, std::unique_ptr<PgConnection> conn, std::string job)
      : store_(store), conn_(std::move(conn)), job_(std::move(job)) {}
  ~PgJobLock() override;

 private:
  PostgresStore& store_;
  std::unique_ptr<PgConnection> conn_;
  std::string job_;
};

// The name a channel has on the server: the store's channel name and the schema the connection
// works in, so that stores sharing one database in different schemas (test runs, regions) do not
// wake each other. Cut to the 63 bytes PostgreSQL keeps of a name; computed by the server, so that
// NOTIFY and LISTEN always agree. One $1: the channel.
constexpr const char* kChannelName = "left($1 || '.' || coalesce(current_schema(), ''), 63)";

// LISTENs on a connection of its own, outside the pool: a pooled connection goes back and forth
// between threads, and its notifications would be read by whoever holds it. wait() sleeps in
// poll() on that connection's socket and on an eventfd that interrupt() writes, so a notification
// or a stop wakes it at once. A connection found broken is replaced within wait(), which then says
// `reconnected`: what was sent while it was down is lost, and the caller reads the changes again.
class PgListener final : public Listener {
 public:
  PgListener(std::string conninfo, std::string location, std::string channel)
      : conninfo_(std::move(conninfo)),
        location_(std::move(location)),
        channel_(std::move(channel)),
        wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~PgListener() override {
    if (conn_) PQfinish(conn_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // Connects and LISTENs; on failure the listener holds no connection.
  Status connect() {
    drop();
    if (wake_fd_ < 0) return make_error(ErrorCode::internal, "postgresql listener: cannot make an eventfd");
    conn_ = PQconnectdb(conninfo_.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      Error e = make_error(ErrorCode::unavailable, fmt::format("postgresql listener: cannot connect to {}: {}",
                                                               location_, trim_message(PQerrorMessage(conn_))));
      drop();
      return e;
    }
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    PgConnection link(conn_);
    Status listening = listen_on(link);
    (void)link.release();  // the listener keeps the connection
    if (!listening.ok()) drop();
    return listening;
  }

  Wake wait(int64_t at_most_us) override {
    if (interrupted_.load()) return Wake::interrupted;
    const int at_most_ms = static_cast<int>(std::clamp<int64_t>((at_most_us + 999) / 1000, 0, 3'600'000));
    if (!conn_) {
      if (connect().ok()) return Wake::reconnected;
      // The server is away: try again after a pause, not in a tight loop.
      sleep_ms(std::min(at_most_ms, 1000));
      return interrupted_.load() ? Wake::interrupted : Wake::timeout;
    }
    if (received()) return Wake::notified;  // read along with an earlier message
    pollfd fds[2] = {{PQsocket(conn_), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, at_most_ms);
    if (interrupted_.load()) return Wake::interrupted;
    if (ready <= 0 || !(fds[0].revents & (POLLIN | POLLERR | POLLHUP))) return Wake::timeout;
    if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
      drop();
      return connect().ok() ? Wake::reconnected : Wake::timeout;
    }
    return received() ? Wake::notified : Wake::timeout;
  }

  void interrupt() override {
    interrupted_.store(true);
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }

 private:
  Status listen_on(PgConnection& link) {
    Rows rows;
    PRIVOX_TRY(link.run(fmt::format("SELECT {}", kChannelName), {channel_}, &rows));
    const std::string name = rows.at(0).text(0);
    char* quoted = PQescapeIdentifier(link.raw(), name.c_str(), name.size());
    if (!quoted) return make_error(ErrorCode::internal, "postgresql listener: cannot quote the channel's name");
    const std::string sql = fmt::format("LISTEN {}", quoted);
    PQfreemem(quoted);
    return link.simple(sql);
  }

  // True when notifications were read off the connection; consumes them all.
  bool received() {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_)) {
      any = true;
      PQfreemem(n);
    }
    return any;
  }

  void drop() {
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
  }

  void sleep_ms(int ms) {
    pollfd fd{wake_fd_, POLLIN, 0};
    (void)::poll(&fd, 1, ms);
  }

  const std::string conninfo_;
  const std::string location_;
  const std::string channel_;
  const int wake_fd_;
  PGconn* conn_ = nullptr;  // the waiting thread only
  std::atomic<bool> interrupted_{false};
};

class PostgresStore final : public Store {
 public:
  PostgresStore(std::string conninfo, std::string location)
      : conninfo_(std::move(conninfo)), location_(std::move(location)) {}

  Backend backend() const override { return Backend::postgresql; }
  std::string location() const override { return location_; }

  Result<std::unique_ptr<PgConnection>> acquire() EXCLUDES(mutex_) {
    {
      MutexLock lock(mutex_);
      while (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        if (conn->healthy()) return conn;
      }
    }
    PGconn* raw = PQconnectdb(conninfo_.c_str());
    counters().connections_opened.fetch_add(1, std::memory_order_relaxed);
    auto conn = std::make_unique<PgConnection>(raw);
    if (!conn->healthy())
      return make_error(ErrorCode::unavailable, fmt::format("cannot connect to {}: {}", location_,
                                                            trim_message(PQerrorMessage(raw))));
    // Quiet the server's notices (e.g. "relation already exists, skipping") on our stderr.
    PQsetNoticeProcessor(raw, [](void*, const char*) {}, nullptr);
    note_server(fmt::format("{}:{}", PQhost(raw), PQport(raw)));
    return conn;
  }

  // Counts a link to another server than the last one's: with several hosts in the URL, libpq
  // moves on to the next when one is lost. The server is never logged: it is the operator's own,
  // but a log line holds ids only.
  void note_server(std::string server) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    if (!last_server_.empty() && server != last_server_) {
      counters().failovers.fetch_add(1, std::memory_order_relaxed);
      log::warn("store", "failover", {{"failovers", counters().failovers.load(std::memory_order_relaxed)}});
    }
    last_server_ = std::move(server);
  }

  void release(std::unique_ptr<PgConnection> conn) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    if (!conn->healthy()) {
      // A broken link usually means the server went away: every idle connection is suspect.
      counters().connections_lost.fetch_add(1, std::memory_order_relaxed);
      idle_.clear();
      return;
    }
    if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(conn));
  }

  const std::string& rewrite(std::string_view sql) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    auto it = rewritten_.find(std::string(sql));
    if (it == rewritten_.end()) it = rewritten_.emplace(std::string(sql), to_dollar_params(sql)).first;
    return it->second;  // entries are never erased, so the reference stays valid
  }

  Result<std::unique_ptr<Transaction>> begin(TxMode mode) override {
    const char* sql = mode == TxMode::write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    // An idle pooled connection only learns that the server went away when it is used. A failed
    // BEGIN wrote nothing, and release() then empties the pool, so one retry gets a fresh link.
    for (int attempt = 0;; ++attempt) {
      PRIVOX_ASSIGN(auto conn, acquire());
      Status s = conn->simple(sql);
      if (s.ok()) return std::unique_ptr<Transaction>(std::make_unique<PgTransaction>(*this, std::move(conn)));
      const bool broken = !conn->healthy();
      release(std::move(conn));
      if (!broken || attempt > 0) return s.error();
    }
  }

  Result<int> schema_version() override {
    PRIVOX_ASSIGN(auto tx, begin(TxMode::read));
    return version_in(*tx);
  }

  Status migrate() override {
    return with_transaction(*this, TxMode::write, [this](Session& s) -> Status {
      PRIVOX_TRY(s.query("SELECT pg_advisory_xact_lock(?)", {kMigrationLock}));
      PRIVOX_TRY(s.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
                        "description TEXT NOT NULL, applied_at_us BIGINT NOT NULL)"));
      PRIVOX_ASSIGN(const int current, version_in(s));
      if (current > latest_schema_version())
        return make_error(ErrorCode::version_mismatch,
                          fmt::format("store {} has schema version {}, newer than this privox (which knows up to {}); "
                                      "run a newer privox",
                                      location_, current, latest_schema_version()));
      for (const Migration& m : migrations()) {
        if (m.version <= current) continue;
        for (const std::string& statement : m.statements) PRIVOX_TRY(s.exec(expand_types(true, statement)));
        PRIVOX_TRY(s.exec("INSERT INTO schema_migrations (version, description, applied_at_us) VALUES "
                          "(?, ?, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)",
                          {int64_t{m.version}, std::string(m.description)}));
      }
      return {};
    });
  }

  Result<std::vector<TableInfo>> describe_tables() override {
    PRIVOX_ASSIGN(auto tx, begin(TxMode::read));
    PRIVOX_ASSIGN(Rows rows, tx->query("SELECT table_name::text, column_name::text, upper(data_type) "
                                       "FROM information_schema.columns WHERE table_schema = current_schema() "
                                       "ORDER BY table_name, ordinal_position"));
    std::vector<TableInfo> out;
    for (const Row& r : rows) {
      if (out.empty() || out.back().name != r.text(0)) out.push_back({r.text(0), {}});
      out.back().columns.push_back({r.text(1), r.text(2)});
    }
    return out;
  }

  Status purge_deleted() override {
    // VACUUM marks the deleted key rows' space free for reuse; it cannot run inside a transaction.
    return autocommit("VACUUM subject_keys, members", {}, nullptr);
  }

  Result<std::unique_ptr<JobLock>> try_lock_job(std::string_view job) override {
    // The lock belongs to the session, so the JobLock keeps the connection until it is released.
    Rows rows;
    std::unique_ptr<PgConnection> conn;
    PRIVOX_TRY(autocommit("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", {std::string(job)}, &rows, &conn));
    if (rows.at(0).i64(0) == 0) {
      release(std::move(conn));
      return std::unique_ptr<JobLock>();
    }
    return std::unique_ptr<JobLock>(std::make_unique<PgJobLock>(*this, std::move(conn), std::string(job)));
  }

  Result<std::unique_ptr<Listener>> listen(std::string_view channel) override {
    auto listener = std::make_unique<PgListener>(conninfo_, location_, std::string(channel));
    PRIVOX_TRY(listener->connect());
    return std::unique_ptr<Listener>(std::move(listener));
  }

 private:
  // Runs one statement ($n placeholders) outside any transaction, retrying once on a fresh link
  // when a pooled one turns out to be stale. The connection goes back to the pool, or to `keep`.
  Status autocommit(const std::string& sql, const Params& params, Rows* rows,
                    std::unique_ptr<PgConnection>* keep = nullptr) {
    for (int attempt = 0;; ++attempt) {
      PRIVOX_ASSIGN(auto conn, acquire());
      auto ran = conn->run(sql, params, rows);
      if (ran.ok()) {
        if (keep) *keep = std::move(conn);
        else release(std::move(conn));
        return {};
      }
      const bool broken = !conn->healthy();
      release(std::move(conn));
      if (!broken || attempt > 0) return ran.error();
      if (rows) rows->clear();
    }
  }

  static Result<int> version_in(Session& s) {
    PRIVOX_ASSIGN(Rows exists, s.query("SELECT to_regclass('schema_migrations') IS NOT NULL"));
    if (exists.at(0).i64(0) == 0) return 0;
    PRIVOX_ASSIGN(Rows rows, s.query("SELECT coalesce(max(version), 0) FROM schema_migrations"));
    return static_cast<int>(rows.at(0).i64(0));
  }

  const std::string conninfo_;
  const std::string location_;
  Mutex mutex_;
  std::vector<std::unique_ptr<PgConnection>> idle_ GUARDED_BY(mutex_);
  std::unordered_map<std::string, std::string> rewritten_ GUARDED_BY(mutex_);
  std::string last_server_ GUARDED_BY(mutex_);  // host:port of the latest new link
};

PgTransaction::~PgTransaction() {
  if (open_ && conn_->healthy()) (void)conn_->simple("ROLLBACK");
  store_.release(std::move(conn_));
}

Result<Rows> PgTransaction::query(std::string_view sql, const Params& params) {
  PRIVOX_TRY(check_open());
  Rows rows;
  PRIVOX_TRY(conn_->run(store_.rewrite(sql), params, &rows));
  return rows;
}

Result<int64_t> PgTransaction::exec(std::string_view sql, const Params& params) {
  PRIVOX_TRY(check_open());
  return conn_->run(store_.rewrite(sql), params, nullptr);
}

Status PgTransaction::insert_rows(std::string_view table, const std::vector<std::string>& columns,
                                  const std::vector<Params>& rows) {
  PRIVOX_TRY(check_open());
  if (columns.empty()) return make_error(ErrorCode::internal, "insert_rows needs columns");
  const size_t per_statement = std::max<size_t>(1, std::min(kMaxRowsPerInsert, kMaxParams / columns.size()));
  const std::string head = fmt::format("INSERT INTO {} ({}) VALUES ", table, fmt::join(columns, ", "));
  for (size_t first = 0; first < rows.size(); first += per_statement) {
    const size_t count = std::min(per_statement, rows.size() - first);
    std::string sql = head;
    Params params;
    params.reserve(count * columns.size());
    for (size_t r = 0; r < count; ++r) {
      sql += r ? ",(" : "(";
      for (size_t c = 0; c < columns.size(); ++c) {
        sql += fmt::format("{}${}", c ? "," : "", params.size() + 1);
        params.push_back(rows[first + r].at(c));
      }
      sql += ")";
    }
    PRIVOX_TRY(conn_->run(sql, params, nullptr));
  }
  return {};
}

Status PgTransaction::notify(std::string_view channel) {
  PRIVOX_TRY(check_open());
  Rows ignored;
  PRIVOX_TRY(conn_->run(fmt::format("SELECT pg_notify({}, '')", kChannelName), {std::string(channel)}, &ignored));
  return {};
}

Status PgTransaction::commit() {
  PRIVOX_TRY(check_open());
  Status s = conn_->simple("COMMIT");
  open_ = false;  // committed, or rolled back by the server: either way the transaction is over
  if (s.ok()) return {};
  if (!conn_->healthy())
    return make_error(ErrorCode::outcome_unknown,
                      fmt::format("{}; the commit may or may not have been applied", s.error().message));
  return s;
}

PgJobLock::~PgJobLock() {
  if (conn_->healthy()) {
    Rows ignored;
    (void)conn_->run("SELECT pg_advisory_unlock(hashtextextended($1, 0))", {job_}, &ignored);
  }
  store_.release(std::move(conn_));
}

// "postgresql://user@host:port/db" without the password, for logs and messages.
std::string redacted_location(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &err);
  if (!options) {
    PQfreemem(err);
    return "postgresql://(unparsable)";
  }
  std::string user, host = "localhost", port = "5432", db;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    const std::string_view key = o->keyword;
    if (key == "user") user = o->val;
    else if (key == "host" || key == "hostaddr") host = o->val;
    else if (key == "port") port = o->val;
    else if (key == "dbname") db = o->val;
  }
  PQconninfoFree(options);
  return fmt::format("postgresql://{}{}{}:{}/{}", user, user.empty() ? "" : "@", host, port, db);
}

}  // namespace

bool is_postgres_url(std::string_view url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

Result<std::unique_ptr<Store>> open_postgres(const std::string& url) {
  if (!is_postgres_url(url))
    return invalid("store", fmt::format("'{}' is not a postgresql://USER:PASS@HOST:PORT/DB URL",
                                        url.substr(0, url.find('@'))));
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &err);
  if (!parsed) {
    const std::string why = err ? trim_message(err) : "unparsable";
    PQfreemem(err);
    return invalid("store", fmt::format("not a valid PostgreSQL URL: {}", why));
  }
  PQconninfoFree(parsed);
  // Fail fast when the server is unreachable, and name ourselves in pg_stat_activity.
  std::string conninfo = url;
  auto add_default = [&](std::string_view key, std::string_view value) {
    if (conninfo.find(fmt::format("{}=", key)) != std::string::npos) return;
    conninfo += fmt::format("{}{}={}", conninfo.find('?') == std::string::npos ? '?' : '&', key, value);
  };
  add_default("connect_timeout", "5");
  add_default("application_name", "privox");
  auto store = std::make_unique<PostgresStore>(conninfo, redacted_location(url));
  PRIVOX_ASSIGN(auto conn, store->acquire());
  store->release(std::move(conn));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace privox::store
