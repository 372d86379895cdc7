#pragma once
// Snapshots of a whole store, for `privox backup` and `privox restore` (cli/verbs_backup.cpp), which
// add the manifest and the checks. A snapshot is one file:
//   SQLite      a copy of the database made through SQLite's online backup API, in one step under
//               one read transaction, so it is consistent while `privox serve` keeps writing; it is
//               left in rollback-journal mode, a single self-contained file.
//   PostgreSQL  `pg_dump -Fc` of the store's schema (one REPEATABLE READ snapshot), restored with
//               `pg_restore` in one transaction.
// The PostgreSQL password never goes on a command line (where `ps` shows it): the tools get the
// connection without it and the password in PGPASSWORD, in their environment only.
//
// Thread-safety: free functions, no shared state. The SQLite functions that look at locks
// (sqlite_open_elsewhere, sqlite_replace) must run while this process has no connection to that
// file: closing any descriptor of a file drops every POSIX lock the process holds on it.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace privox::store {

// Writes a consistent copy of the SQLite database `from` into the new file `to` (which must not
// exist). Retries while a writer holds the database busy, for up to about 30 seconds.
Status sqlite_snapshot(const std::string& from, const std::string& to);

// Takes the SQLite database at `path` (closed by this process) out of WAL mode, folding its log
// in, so that the file alone is the whole database. `conflict` while another process has it open.
Status sqlite_single_file(const std::string& path);

// Whether another process has the SQLite database open now (privox keeps it in WAL mode, and every
// connection holds a read lock on the dead-man-switch byte of its -shm file, as SQLite's WAL
// format documents). False when the database has no -shm file.
Result<bool> sqlite_open_elsewhere(const std::string& path);

// Puts the closed database file `replacement` in the place of `path` with one rename, after
// folding `path`'s write-ahead log into it, so that no stale log is ever applied to the new file.
// `conflict` when another process has `path` open (stop it first).
Status sqlite_replace(const std::string& replacement, const std::string& path);

// The schema a PostgreSQL store works in (its search_path's first schema: `public`, or the one its
// URL's options name). `invalid_argument` when that schema does not exist.
Result<std::string> postgres_schema(Store& store);

// `pg_dump -Fc` of schema `schema` of the database `url` names, into the new file `to`.
Status postgres_dump(const std::string& url, const std::string& schema, const std::string& to);

// Streams the rows of one table of a dump (`pg_restore --data-only` into `scratch`, a file path
// that is removed afterwards), each as the values of `columns` in that order (nullopt for NULL).
// `corrupt` when the dump lacks the table or one of the columns; the first error `row` returns
// stops the walk and is returned.
using DumpRow = std::vector<std::optional<std::string>>;
Status read_dump_table(const std::string& dump, std::string_view schema, std::string_view table,
                       const std::vector<std::string>& columns, const std::string& scratch,
                       const std::function<Status(const DumpRow&)>& row);

// Replaces, in one transaction, every table of the dump in the database `url` names with the
// dump's (`pg_restore --clean --if-exists --single-transaction`); the schema itself is kept, so the
// store's user need not own it. `scratch` is a file path for the restore list, removed afterwards.
// On any error nothing changed.
Status postgres_restore(const std::string& url, const std::string& dump, const std::string& scratch);

// One line of PostgreSQL's COPY text format split into its values (nullopt for \N), unescaped.
DumpRow parse_copy_line(std::string_view line);

}  // namespace privox::store
