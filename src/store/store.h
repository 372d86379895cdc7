#pragma once
// The storage interface. Everything above it (privacy, accounts, later sip, traffic and portal)
// talks to a Store and never to a database library, so the embedded SQLite default and a
// PostgreSQL cluster are interchangeable.
//
// Contract for the SQL passed through Session:
//  - portable SQL only: `?` placeholders (a backend may rewrite them), no backend functions,
//    `INSERT ... ON CONFLICT DO NOTHING` and `RETURNING` are allowed (both backends have them);
//  - integers are 64-bit, times are int64 microseconds since the epoch in UTC, blobs are bytes,
//    ids are UUIDv7 text (common/ids.h);
//  - a write transaction is serialised against every other writer of the same rows; the first
//    statement of a write that must not race (the audit head, for one) should be an UPDATE that
//    takes the row lock.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace privox::store {

using Value = std::variant<std::monostate, int64_t, double, std::string, Bytes>;
using Params = std::vector<Value>;

inline Value null_value() { return std::monostate{}; }

// One result row. Accessors assert the column's type: a mismatch is a programming error.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool is_null(size_t i) const { return std::holds_alternative<std::monostate>(values_.at(i)); }
  int64_t i64(size_t i) const { return std::get<int64_t>(values_.at(i)); }
  const std::string& text(size_t i) const { return std::get<std::string>(values_.at(i)); }
  const Bytes& blob(size_t i) const { return std::get<Bytes>(values_.at(i)); }
  std::string text_or(size_t i, std::string fallback) const {
    if (is_null(i)) return fallback;
    return text(i);
  }
  const Value& at(size_t i) const { return values_.at(i); }

 private:
  std::vector<Value> values_;
};
using Rows = std::vector<Row>;

// Statements inside one transaction. Not thread-safe: one thread uses a transaction at a time.
class Session {
 public:
  virtual ~Session() = default;
  virtual Result<Rows> query(std::string_view sql, const Params& params = {}) = 0;
  // Returns the number of rows changed.
  virtual Result<int64_t> exec(std::string_view sql, const Params& params = {}) = 0;
  // Inserts many rows into one table with as few round trips as the backend allows.
  virtual Status insert_rows(std::string_view table, const std::vector<std::string>& columns,
                             const std::vector<Params>& rows) = 0;
  // Wakes every Listener of `channel` (Store::listen), in any process sharing the store, once this
  // transaction commits; nothing if it rolls back. PostgreSQL: NOTIFY. SQLite does nothing: its
  // listeners poll. Channels are short ASCII names (letters, digits, _).
  virtual Status notify(std::string_view channel) = 0;
};

// A transaction rolls back when destroyed without commit().
class Transaction : public Session {
 public:
  virtual Status commit() = 0;
};

enum class TxMode { read, write };
enum class Backend { sqlite, postgresql };
const char* to_string(Backend backend);

struct ColumnInfo {
  std::string name;
  std::string type;  // as the backend reports it, upper case
};
struct TableInfo {
  std::string name;
  std::vector<ColumnInfo> columns;
};

// Tells one thread when a channel may have news (Session::notify), so that it can read what
// changed at once instead of polling the store. PostgreSQL LISTENs on a connection of its own and
// wakes the moment a notifying transaction commits; SQLite, which cannot see another process's
// commit, wakes every poll interval (~200 ms) so that the caller looks. Either way the caller
// should read what changed on every wake but `interrupted`: a wake says "look", never "here it is",
// and a notification sent while the connection was down is lost (`reconnected` says so).
//
// Thread-safety: wait() from one thread; interrupt() from any.
class Listener {
 public:
  enum class Wake {
    notified,     // a notification arrived
    reconnected,  // the connection was lost and is back: anything sent meanwhile was missed
    poll,         // no notifications on this backend: time to look
    timeout,      // at_most passed without news (PostgreSQL)
    interrupted,  // interrupt() was called; every later wait() returns this at once
  };
  virtual ~Listener() = default;
  // Blocks until one of the above, for at most `at_most_us` (or a little more while reconnecting).
  virtual Wake wait(int64_t at_most_us) = 0;
  virtual void interrupt() = 0;
};

// Held while a job that must run on one node at a time runs; released when destroyed.
class JobLock {
 public:
  virtual ~JobLock() = default;
};

// A connection to one store. Thread-safe: transactions from several threads are serialised or
// run on separate connections, as the backend prefers.
class Store {
 public:
  virtual ~Store() = default;
  virtual Backend backend() const = 0;
  // Where the store lives, with any password removed; fit for logs.
  virtual std::string location() const = 0;

  virtual Result<std::unique_ptr<Transaction>> begin(TxMode mode) = 0;

  // Applies the migrations this binary knows (store/schema.h) that the store lacks. Refuses a
  // store whose schema is newer than the binary.
  virtual Status migrate() = 0;
  // 0 for a store that was never migrated.
  virtual Result<int> schema_version() = 0;

  // Every table and column of the live schema, for the data-map coverage check.
  virtual Result<std::vector<TableInfo>> describe_tables() = 0;

  // After personal data or keys were deleted: make sure the deleted bytes no longer sit in the
  // store's files (SQLite: zeroed pages and a truncated write-ahead log).
  virtual Status purge_deleted() = 0;

  // Takes the named job's lock if no other process or node holds it (PostgreSQL: an advisory lock;
  // SQLite: a lock file beside the database). Returns nullptr when someone else holds it.
  virtual Result<std::unique_ptr<JobLock>> try_lock_job(std::string_view job) = 0;

  // A listener for `channel` (see Session::notify), listening from when this returns. PostgreSQL:
  // the error when its connection cannot be made; later losses are healed inside wait().
  virtual Result<std::unique_ptr<Listener>> listen(std::string_view channel) = 0;
};

// Runs `body` in a transaction and commits it when body succeeds. When the store is busy or the
// connection was lost before the commit was sent (`unavailable`), the whole transaction is retried
// a few times on a fresh connection; any other error, `outcome_unknown` included, is returned.
Status with_transaction(Store& store, TxMode mode, const std::function<Status(Session&)>& body);

// Checks that the store's schema is exactly the one this binary was built for.
Status check_schema(Store& store);

}  // namespace privox::store
