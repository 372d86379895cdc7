#include "store/snapshot.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere in C++

namespace privox::store {
namespace {

// ---- SQLite ----

struct SnapDb {
  sqlite3* db = nullptr;
  SnapDb() = default;
  SnapDb(const SnapDb&) = delete;
  SnapDb& operator=(const SnapDb&) = delete;
  ~SnapDb() { sqlite3_close_v2(db); }
};

Error snap_sqlite_error(sqlite3* db, std::string_view doing) {
  return make_error(ErrorCode::internal, fmt::format("sqlite: {}: {}", doing, db ? sqlite3_errmsg(db) : "out of memory"));
}

Status snap_open(SnapDb& conn, const std::string& path, int flags) {
  if (sqlite3_open_v2(path.c_str(), &conn.db, flags, nullptr) != SQLITE_OK)
    return snap_sqlite_error(conn.db, fmt::format("open {}", path));
  sqlite3_busy_timeout(conn.db, 5000);
  return {};
}

// Leaves WAL mode: the log is folded into the file and removed. SQLite refuses (the mode stays
// "wal") while another connection has the file open.
Status snap_settle(const std::string& path) {
  SnapDb conn;
  PRIVOX_TRY(snap_open(conn, path, SQLITE_OPEN_READWRITE));
  std::string mode;
  auto read_mode = [](void* out, int, char** values, char**) {
    *static_cast<std::string*>(out) = values[0] ? values[0] : "";
    return 0;
  };
  if (sqlite3_exec(conn.db, "PRAGMA journal_mode = DELETE", read_mode, &mode, nullptr) != SQLITE_OK)
    return snap_sqlite_error(conn.db, fmt::format("leave WAL mode on {}", path));
  if (mode != "delete")
    return make_error(ErrorCode::conflict, fmt::format("{} is in use by another process (journal mode stays {})", path, mode));
  return {};
}

Status snap_sync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::internal, fmt::format("cannot open {}: {}", dir.string(), std::strerror(errno)));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return make_error(ErrorCode::internal, fmt::format("cannot sync {}: {}", dir.string(), std::strerror(errno)));
  return {};
}

// ---- PostgreSQL tools ----

std::string snap_trim(std::string m) {
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// A libpq connection string for `url` without its password, and the password apart.
struct PgTarget {
  std::string conninfo;
  std::string password;
};

Result<PgTarget> snap_pg_target(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &err);
  if (!options) {
    const std::string why = err ? snap_trim(err) : "unparsable";
    PQfreemem(err);
    return invalid("store", fmt::format("not a valid PostgreSQL URL: {}", why));
  }
  PgTarget target;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    const std::string_view key = o->keyword;
    if (key == "password") {
      target.password = o->val;
      continue;
    }
    std::string value;
    for (const char* c = o->val; *c; ++c) {
      if (*c == '\\' || *c == '\'') value += '\\';
      value += *c;
    }
    target.conninfo += fmt::format("{}{}='{}'", target.conninfo.empty() ? "" : " ", key, value);
  }
  PQconninfoFree(options);
  return target;
}

// Runs a PostgreSQL client tool to completion. Its environment is ours, so it reads the same PG*
// variables (PGPASSFILE, PGSSLROOTCERT...) as the store's own libpq connection, with PGPASSWORD set
// to the URL's password when the URL has one. Any failure is `internal` (or `unavailable` when the
// tool is missing) with the tool's own message.
Status snap_run_tool(const std::vector<std::string>& argv, const std::string& password) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (password.empty() || std::strncmp(*e, "PGPASSWORD=", 11) != 0) env.emplace_back(*e);
  if (!password.empty()) env.push_back("PGPASSWORD=" + password);
  std::vector<char*> cargv, cenv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const std::string& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return make_error(ErrorCode::internal, "cannot create a pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, cargv[0], &actions, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return make_error(ErrorCode::unavailable, fmt::format("cannot run {}: {} (install postgresql-client)", argv[0],
                                                          std::strerror(spawned)));
  }
  std::string errors;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (errors.size() < 16384) errors.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return make_error(ErrorCode::internal, fmt::format("{} failed: {}", argv[0], errors.empty() ? "(no message)" : snap_trim(errors)));
}

std::string snap_quoted_name(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

struct ScratchFile {
  std::string path;
  explicit ScratchFile(std::string p) : path(std::move(p)) {}
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

// The column names of a "COPY schema.table (a, b, c) FROM stdin;" line.
std::vector<std::string> snap_copy_columns(std::string_view line) {
  std::vector<std::string> names;
  const size_t open = line.find('('), close = line.find(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return names;
  std::string_view list = line.substr(open + 1, close - open - 1);
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name.size() >= 2 && name.front() == '"') name = name.substr(1, name.size() - 2);
    names.emplace_back(name);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return names;
}

}  // namespace

Status sqlite_snapshot(const std::string& from, const std::string& to) {
  if (std::filesystem::exists(to)) return make_error(ErrorCode::conflict, fmt::format("{} already exists", to));
  SnapDb source, copy;
  PRIVOX_TRY(snap_open(source, from, SQLITE_OPEN_READWRITE));  // no CREATE: a missing store is an error
  PRIVOX_TRY(snap_open(copy, to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  sqlite3_backup* backup = sqlite3_backup_init(copy.db, "main", source.db, "main");
  if (!backup) return snap_sqlite_error(copy.db, "start the online backup");
  // -1: every page in one step, under one read transaction of the source, so the copy is one
  // consistent state even while others write (WAL readers never block writers).
  int rc = SQLITE_OK;
  for (int tries = 0; tries < 600; ++tries) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE)
    return make_error(ErrorCode::internal, fmt::format("sqlite: online backup of {}: {}", from, sqlite3_errstr(rc)));
  // The copy carries the source's WAL flag in its header; make it a single file.
  if (sqlite3_exec(copy.db, "PRAGMA journal_mode = DELETE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return snap_sqlite_error(copy.db, "leave WAL mode on the copy");
  return {};
}

Status sqlite_single_file(const std::string& path) { return snap_settle(path); }

Result<bool> sqlite_open_elsewhere(const std::string& path) {
  const std::string shm = path + "-shm";
  const int fd = ::open(shm.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    return make_error(ErrorCode::internal, fmt::format("cannot open {}: {}", shm, std::strerror(errno)));
  }
  // SQLite's unix VFS: lock bytes from 120, eight of them, then the dead-man switch at 128, which
  // every connection holds a read lock on while it has the file open.
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 128;
  probe.l_len = 1;
  const int rc = ::fcntl(fd, F_GETLK, &probe);
  ::close(fd);
  if (rc != 0) return make_error(ErrorCode::internal, fmt::format("cannot test the locks of {}: {}", shm, std::strerror(errno)));
  return probe.l_type != F_UNLCK;
}

Status sqlite_replace(const std::string& replacement, const std::string& path) {
  PRIVOX_ASSIGN(const bool busy, sqlite_open_elsewhere(path));
  if (busy)
    return make_error(ErrorCode::conflict,
                      fmt::format("{} is open in another process (a running privox serve?); stop it first", path));
  if (std::filesystem::exists(path)) PRIVOX_TRY(snap_settle(path));
  PRIVOX_TRY(snap_settle(replacement));
  if (std::filesystem::exists(path + "-wal"))
    return make_error(ErrorCode::conflict, fmt::format("{}-wal is still there; is another process using it?", path));
  std::error_code ec;
  std::filesystem::remove(path + "-shm", ec);  // stale index of a log that is gone; rebuilt on open
  if (::rename(replacement.c_str(), path.c_str()) != 0)
    return make_error(ErrorCode::internal,
                      fmt::format("cannot rename {} to {}: {}", replacement, path, std::strerror(errno)));
  return snap_sync_dir(std::filesystem::path(path).parent_path());
}

Result<std::string> postgres_schema(Store& store) {
  PRIVOX_ASSIGN(auto tx, store.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows rows, tx->query("SELECT current_schema()"));
  if (rows.size() != 1 || rows[0].is_null(0))
    return invalid("store", fmt::format("{}: the schema its search_path names does not exist", store.location()));
  return rows[0].text(0);
}

Status postgres_dump(const std::string& url, const std::string& schema, const std::string& to) {
  if (std::filesystem::exists(to)) return make_error(ErrorCode::conflict, fmt::format("{} already exists", to));
  PRIVOX_ASSIGN(const PgTarget target, snap_pg_target(url));
  return snap_run_tool({"pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                        "--schema=" + snap_quoted_name(schema), "--file=" + to, "--dbname=" + target.conninfo},
                       target.password);
}

DumpRow parse_copy_line(std::string_view line) {
  DumpRow values;
  std::string value;
  bool null = false;
  auto finish = [&] {
    values.push_back(null ? std::nullopt : std::optional<std::string>(std::move(value)));
    value.clear();
    null = false;
  };
  auto digit = [](char c, int base) {
    if (c >= '0' && c <= '9' && c - '0' < base) return c - '0';
    if (base == 16 && c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\t') {
      finish();
      continue;
    }
    if (c != '\\' || i + 1 == line.size()) {
      value += c;
      continue;
    }
    const char e = line[++i];
    switch (e) {
      case 'N': null = true; break;
      case 'b': value += '\b'; break;
      case 'f': value += '\f'; break;
      case 'n': value += '\n'; break;
      case 'r': value += '\r'; break;
      case 't': value += '\t'; break;
      case 'v': value += '\v'; break;
      case 'x': {
        int v = 0, n = 0;
        for (int d; n < 2 && i + 1 < line.size() && (d = digit(line[i + 1], 16)) >= 0; ++n, ++i) v = v * 16 + d;
        value += n ? static_cast<char>(v) : 'x';
        break;
      }
      default: {
        int v = 0, n = 0;
        for (size_t j = i; n < 3 && j < line.size() && digit(line[j], 8) >= 0; ++n, ++j) v = v * 8 + digit(line[j], 8);
        if (n == 0) {
          value += e;
        } else {
          value += static_cast<char>(v);
          i += static_cast<size_t>(n - 1);
        }
      }
    }
  }
  finish();
  return values;
}

Status read_dump_table(const std::string& dump, std::string_view schema, std::string_view table,
                       const std::vector<std::string>& columns, const std::string& scratch,
                       const std::function<Status(const DumpRow&)>& row) {
  const ScratchFile text{scratch};
  PRIVOX_TRY(snap_run_tool({"pg_restore", "--data-only", "--schema=" + std::string(schema),
                            "--table=" + std::string(table), "--file=" + scratch, dump},
                           ""));
  std::ifstream in(scratch);
  if (!in) return make_error(ErrorCode::internal, fmt::format("cannot read {}", scratch));
  const std::string copy_prefix = fmt::format("COPY {}.{} (", snap_quoted_name(schema), table);
  const std::string copy_plain = fmt::format("COPY {}.{} (", schema, table);
  std::string line;
  std::vector<size_t> at;
  bool in_copy = false;
  while (std::getline(in, line)) {
    if (!in_copy) {
      if (line.rfind(copy_prefix, 0) != 0 && line.rfind(copy_plain, 0) != 0) continue;
      const std::vector<std::string> names = snap_copy_columns(line);
      for (const std::string& want : columns) {
        const auto it = std::find(names.begin(), names.end(), want);
        if (it == names.end())
          return make_error(ErrorCode::corrupt, fmt::format("the snapshot's {} has no column {}", table, want));
        at.push_back(static_cast<size_t>(it - names.begin()));
      }
      in_copy = true;
      continue;
    }
    if (line == "\\.") return {};
    const DumpRow all = parse_copy_line(line);
    DumpRow picked;
    for (size_t i : at) {
      if (i >= all.size()) return make_error(ErrorCode::corrupt, fmt::format("a row of the snapshot's {} is short", table));
      picked.push_back(all[i]);
    }
    PRIVOX_TRY(row(picked));
  }
  return make_error(ErrorCode::corrupt, in_copy ? fmt::format("the snapshot's {} ends early", table)
                                                : fmt::format("the snapshot holds no table {}", table));
}

Status postgres_restore(const std::string& url, const std::string& dump, const std::string& scratch) {
  PRIVOX_ASSIGN(const PgTarget target, snap_pg_target(url));
  const ScratchFile list{scratch};
  PRIVOX_TRY(snap_run_tool({"pg_restore", "--list", "--file=" + scratch, dump}, ""));
  // Keep the schema itself (and its comment): dropping it needs its owner, and the tables are
  // what the snapshot replaces.
  std::ifstream in(scratch);
  std::string kept, line;
  while (std::getline(in, line)) {
    const bool schema_entry = line.find(" SCHEMA - ") != std::string::npos ||
                              line.find(" COMMENT - SCHEMA ") != std::string::npos;
    kept += (schema_entry ? ";" : "") + line + "\n";
  }
  in.close();
  {
    std::ofstream out(scratch, std::ios::trunc);
    out << kept;
    if (!out.flush()) return make_error(ErrorCode::internal, fmt::format("cannot write {}", scratch));
  }
  return snap_run_tool({"pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                        "--exit-on-error", "--use-list=" + scratch, "--dbname=" + target.conninfo, dump},
                       target.password);
}

}  // namespace privox::store
