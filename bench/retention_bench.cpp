// The traffic retention job at scale (P14): one anonymisation run over RECORDS traffic records
// whose dispute period has passed (goal: 10,000,000 in under 60 s), then a second run that must
// find nothing to do, then the call-log job over the same table. The records are sealed under the
// keys of LINES lines and carry the prefixes exactly as the batched writer (traffic/store_sink.h)
// writes them, so the run does the real work: clear the sealed columns and the subject link of
// each batch, with an audit entry and the cursor per batch. --prefixes 0 seeds records as they
// were written before prefixes were stored, so the run opens two sealed fields per record instead.
//
// Usage: privox_retention_bench [--records N] [--lines N] [--batch-rows N] [--prefixes 1|0]
//                               [--dir DIR | --postgres URL]
//   --dir: where the SQLite store goes (default: a temporary directory, removed at the end).
//   --postgres: a database (or ?options=-csearch_path%3Dschema) to use instead; its traffic_records
//   must be empty.

#include <fmt/format.h>
#include <sodium.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "app/registry.h"
#include "common/ids.h"
#include "privacy/keyring.h"
#include "numbers/number_prefix.h"
#include "retention/retention.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace privox {
namespace {

using Steady = std::chrono::steady_clock;
constexpr int64_t kDay = 86'400'000'000;

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r.ok()) {
    fmt::print(stderr, "retention_bench: {}: {}\n", what, r.error().describe());
    std::exit(1);
  }
  return std::move(r).value();
}

void must(const Status& s, const char* what) {
  if (!s.ok()) {
    fmt::print(stderr, "retention_bench: {}: {}\n", what, s.error().describe());
    std::exit(1);
  }
}

double seconds_since(Steady::time_point start) { return std::chrono::duration<double>(Steady::now() - start).count(); }

struct Options {
  int64_t records = 10'000'000;
  int64_t lines = 5'000;
  size_t batch_rows = 200'000;  // the CLI and bench can hold the write lock this long; serve uses 1,000
  bool prefixes = true;
  std::string dir, postgres;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--records") o.records = std::atoll(value);
    else if (flag == "--lines") o.lines = std::atoll(value);
    else if (flag == "--batch-rows") o.batch_rows = static_cast<size_t>(std::atoll(value));
    else if (flag == "--prefixes") o.prefixes = std::string_view(value) != "0";
    else if (flag == "--dir") o.dir = value;
    else if (flag == "--postgres") o.postgres = value;
    else {
      fmt::print(stderr, "retention_bench: unknown flag {}\n", flag);
      std::exit(2);
    }
  }
  if (o.records < 1 || o.lines < 1 || o.batch_rows < 1) {
    fmt::print(stderr, "retention_bench: --records, --lines and --batch-rows must be positive\n");
    std::exit(2);
  }
  return o;
}

// Sealed records, ended between 400 and 181 days before `now`: all past the 180-day dispute
// period. Line i's records alternate between outbound calls to public numbers and internal ones.
void seed(store::Store& store, const privacy::Keyring& keys, const Options& o, int64_t now) {
  const std::string company = new_id(now);
  std::vector<std::string> lines;
  std::vector<privacy::SecretKey> line_keys;
  must(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
         for (int64_t i = 0; i < o.lines; ++i) {
           lines.push_back(new_id(now));
           PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::create(s, keys, lines.back(), now));
           line_keys.push_back(std::move(key));
         }
         return {};
       }),
       "create line keys");
  const std::vector<std::string> columns = {"id",           "company_id",    "subject_id",    "direction",
                                            "kind",         "source_enc",    "destination_enc", "source_withheld",
                                            "started_at_us", "answered_at_us", "ended_at_us",   "duration_ms",
                                            "outcome",      "node_id",       "updated_at_us", "source_prefix",
                                            "destination_prefix"};
  constexpr int64_t kRowsPerTransaction = 50'000;
  const int64_t first_end = now - 400 * kDay, span = 219 * kDay;
  const Steady::time_point start = Steady::now();
  auto prefix = [&](const std::string& number) {
    return o.prefixes ? store::Value{numbers::prefix_at_write(number)} : store::null_value();
  };
  for (int64_t done = 0; done < o.records;) {
    const int64_t n = std::min(kRowsPerTransaction, o.records - done);
    std::vector<store::Params> rows;
    rows.reserve(static_cast<size_t>(n));
    for (int64_t i = done; i < done + n; ++i) {
      const size_t line = static_cast<size_t>(i % o.lines);
      const int64_t ended = first_end + (span / o.records) * i;
      const bool outbound = i % 2 == 0;
      const std::string source = outbound ? "+4420" + std::to_string(70000000 + i % 9999999) : "101";
      const std::string destination = outbound ? "+1415" + std::to_string(5550000 + i % 9999) : "102";
      rows.push_back({new_id(ended), company, lines[line], std::string(outbound ? "outbound" : "internal"),
                      std::string("voice"), privacy::seal_field(line_keys[line], lines[line], "source", source),
                      privacy::seal_field(line_keys[line], lines[line], "destination", destination), int64_t{0},
                      ended - 90'000'000, ended - 80'000'000, ended, int64_t{80'000}, std::string("answered"),
                      std::string("bench"), ended, prefix(source), prefix(destination)});
    }
    must(store::with_transaction(store, store::TxMode::write,
                                 [&](store::Session& s) { return s.insert_rows("traffic_records", columns, rows); }),
         "insert traffic");
    done += n;
    if (done % 1'000'000 == 0 || done == o.records)
      fmt::print("  seeded {:>10} records ({:.0f} s)\n", done, seconds_since(start));
  }
}

// What traffic_records takes on disk, its table and its indexes, per record: issue 19's goal is
// at most 400 bytes, indexes included. SQLite counts the pages (dbstat) of the table and of each
// index on it; PostgreSQL its relation sizes (TOAST with the table; after the anonymisation, the
// rows' old versions too, until a vacuum lets their space be used again).
void print_footprint(store::Store& store, bool postgres, int64_t records, const char* when) {
  const std::string sql =
      postgres ? "SELECT pg_table_size('traffic_records'), pg_indexes_size('traffic_records')"
               : "SELECT coalesce(sum(CASE WHEN name = 'traffic_records' THEN pgsize END), 0), "
                 "coalesce(sum(CASE WHEN name <> 'traffic_records' THEN pgsize END), 0) FROM dbstat "
                 "WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = 'traffic_records')";
  store::Rows rows;
  must(store::with_transaction(store, store::TxMode::read,
                               [&](store::Session& s) -> Status {
                                 PRIVOX_ASSIGN(rows, s.query(sql));
                                 return {};
                               }),
       "measure the table");
  const double table = static_cast<double>(rows[0].i64(0)), indexes = static_cast<double>(rows[0].i64(1));
  const auto n = static_cast<double>(records);
  fmt::print("storage {:<26} {:6.0f} bytes per record (table {:.0f}, indexes {:.0f}; {:.2f} GB in all)\n", when,
             (table + indexes) / n, table / n, indexes / n, (table + indexes) / 1e9);
}

int run(const Options& o) {
  if (sodium_init() < 0) return 1;
  randombytes_set_implementation(&randombytes_internal_implementation);
  const bool own_dir = o.postgres.empty() && o.dir.empty();
  const std::string dir = own_dir ? (std::filesystem::temp_directory_path() / ("privox-retention-bench-" + new_id(0).substr(30))).string() : o.dir;
  std::unique_ptr<store::Store> store;
  if (o.postgres.empty()) {
    std::filesystem::create_directories(dir);
    store = must(store::open_sqlite(dir + "/privox.db"), "open SQLite");
  } else {
    store = must(store::open_postgres(o.postgres), "open PostgreSQL");
  }
  app::install_registries();  // the schema, data map and settings every store and job reads
  must(store->migrate(), "migrate");
  const privacy::SecretKey master = privacy::SecretKey::random();
  const privacy::Keyring keys = privacy::Keyring::from_master_for_test(master);
  SystemClock clock;
  const int64_t now = clock.now_us();
  fmt::print("retention_bench: {} records over {} lines on {}\n", o.records, o.lines, store->location());
  seed(*store, keys, o, now);
  print_footprint(*store, !o.postgres.empty(), o.records, "as written:");

  retention::RetentionJobs jobs(*store, keys, clock);
  retention::RunOptions options;
  options.as_of_us = now;
  options.batch_rows = o.batch_rows;
  auto timed = [&](retention::Job job, const char* what) {
    const Steady::time_point start = Steady::now();
    const retention::JobReport report = must(jobs.run(job, options, "bench"), what);
    const double s = seconds_since(start);
    fmt::print("{:<34} {:>10} changed in {:>5} batches: {:7.2f} s ({:.0f} records/s)\n", what, report.changed,
               report.batches, s, static_cast<double>(report.changed) / s);
    return report;
  };
  const retention::JobReport anonymised = timed(retention::Job::traffic, "traffic: anonymise");
  const retention::JobReport again = timed(retention::Job::traffic, "traffic: second run");
  print_footprint(*store, !o.postgres.empty(), o.records, "anonymised:");
  timed(retention::Job::call_log, "call_log: age and count limits");
  const bool ok = anonymised.changed == o.records && again.changed == 0;
  if (!ok) fmt::print(stderr, "retention_bench: expected {} anonymised then 0\n", o.records);
  store.reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace privox

int main(int argc, char** argv) { return privox::run(privox::parse(argc, argv)); }
