// Appends of traffic-record-sized rows through the node's single batched writer, on SQLite and on
// PostgreSQL (R1: at least 50,000 rows/s on SQLite and 20,000 on a local PostgreSQL, each with
// p99 under 50 ms from enqueue to durable).
//
// Each run appends a fixed number of rows from producer threads, either as fast as they can
// (rate 0: the throughput ceiling) or paced at a fixed offered rate (the latency a node sees at
// that load). Latency is measured per row, from append() to the end of the commit that made it
// durable. PostgreSQL runs need PRIVOX_BENCH_POSTGRES_URL (bench/run-append.sh provides one).

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/ids.h"
#include "store/append_writer.h"
#include "store/postgres_store.h"
#include "store/schema.h"
#include "store/sqlite_store.h"

namespace privox::store {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kProducers = 4;

// Shaped like the traffic-data table to come: ids, times, outcome, and the sealed personal
// fields (source, destination, equipment) as ciphertext-sized blobs.
const char* kTableDdl = R"(CREATE TABLE bench_traffic (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, direction TEXT NOT NULL, kind TEXT NOT NULL,
    source_enc {blob}, destination_enc {blob}, started_at_us {i64} NOT NULL, answered_at_us {i64},
    ended_at_us {i64}, duration_ms {i64}, outcome TEXT NOT NULL, equipment_enc {blob}, trunk_id TEXT))";
const std::vector<std::string> kColumns = {"id", "company_id", "direction", "kind", "source_enc", "destination_enc",
                                           "started_at_us", "answered_at_us", "ended_at_us", "duration_ms",
                                           "outcome", "equipment_enc", "trunk_id"};

Params traffic_row(int64_t now_us, const std::string& company) {
  Bytes source(56), destination(56), equipment(96);
  randombytes_buf(source.data(), source.size());
  randombytes_buf(destination.data(), destination.size());
  randombytes_buf(equipment.data(), equipment.size());
  return {new_id(now_us), company, std::string("outbound"), std::string("voice"), std::move(source),
          std::move(destination), now_us, now_us + 4'000'000, now_us + 64'000'000, int64_t{60'000},
          std::string("answered"), std::move(equipment), company};
}

std::unique_ptr<Store> open_backend(Backend backend, const std::string& where) {
  auto s = backend == Backend::sqlite ? open_sqlite(where) : open_postgres(where);
  if (!s.ok()) {
    fmt::print(stderr, "append_bench: {}\n", s.error().describe());
    std::exit(1);
  }
  return std::move(s).value();
}

void BM_Append(benchmark::State& state, Backend backend) {
  const int64_t rows = state.range(0);
  const int64_t rate = state.range(1);  // rows/s offered; 0 = as fast as possible
  const int64_t group_commit_us = state.range(2);  // AppendOptions::group_commit_us
  std::string where;
  std::filesystem::path dir;
  if (backend == Backend::sqlite) {
    dir = std::filesystem::temp_directory_path() / fmt::format("privox-bench-{}", ::getpid());
    std::filesystem::create_directories(dir);
    where = (dir / "bench.db").string();
  } else {
    const char* url = std::getenv("PRIVOX_BENCH_POSTGRES_URL");
    if (!url) {
      state.SkipWithError("set PRIVOX_BENCH_POSTGRES_URL (bench/run-append.sh does)");
      return;
    }
    where = url;
  }
  auto admin = open_backend(backend, where);
  const std::string ddl = expand_types(backend == Backend::postgresql, kTableDdl);

  for (auto _ : state) {
    state.PauseTiming();
    (void)with_transaction(*admin, TxMode::write, [&](Session& s) -> Status {
      PRIVOX_TRY(s.exec("DROP TABLE IF EXISTS bench_traffic"));
      PRIVOX_TRY(s.exec(ddl));
      return {};
    });
    std::vector<Clock::time_point> enqueued(static_cast<size_t>(rows) + 1);
    std::vector<double> latency_ms(static_cast<size_t>(rows) + 1, -1);
    std::atomic<int64_t> failed{0};
    state.ResumeTiming();

    const auto start = Clock::now();
    {
      AppendWriter writer(open_backend(backend, where),
                          AppendOptions{.on_batch = [&](const BatchOutcome& b) {
                                          const auto done = Clock::now();
                                          if (!b.status.ok()) failed += static_cast<int64_t>(b.last - b.first + 1);
                                          for (uint64_t i = b.first; i <= b.last; ++i)
                                            latency_ms[i] = std::chrono::duration<double, std::milli>(done - enqueued[i]).count();
                                        },
                                        .group_commit_us = group_commit_us});
      const size_t target = writer.add_target({"bench_traffic", kColumns});
      std::mutex order;  // a ticket's slot is written under this lock, so tickets and times line up
      std::vector<std::thread> producers;
      for (int p = 0; p < kProducers; ++p)
        producers.emplace_back([&, p] {
          const std::string company = new_id(0);
          const int64_t mine = rows / kProducers + (p < rows % kProducers ? 1 : 0);
          for (int64_t i = 0; i < mine; ++i) {
            if (rate > 0) {
              const auto due = start + std::chrono::nanoseconds((i * kProducers + p) * 1'000'000'000 / rate);
              std::this_thread::sleep_until(due);
            }
            Params row = traffic_row(i, company);
            std::lock_guard lock(order);
            const auto now = Clock::now();
            auto ticket = writer.append(target, std::move(row));
            if (ticket.ok()) enqueued[ticket->seq] = now;
            else ++failed;
          }
        });
      for (auto& t : producers) t.join();
      if (!writer.flush().ok()) state.SkipWithError("flush failed");
      state.counters["batches"] = static_cast<double>(writer.stats().batches_committed);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    std::vector<double> sorted(latency_ms.begin() + 1, latency_ms.end());
    std::sort(sorted.begin(), sorted.end());
    auto pct = [&](double q) { return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()))]; };
    state.counters["rows_per_s"] = static_cast<double>(rows) / seconds;
    state.counters["p50_ms"] = pct(0.50);
    state.counters["p99_ms"] = pct(0.99);
    state.counters["max_ms"] = sorted.back();
    state.counters["failed"] = static_cast<double>(failed.load());
  }
  if (!dir.empty()) std::filesystem::remove_all(dir);
}

// {rows, offered rate, group commit µs}: the ceiling, then paced loads a busy node would see, each
// committing at once and with the 3 ms group commit privox serve uses.
void Args(benchmark::internal::Benchmark* b) {
  b->Args({200'000, 0, 0})->Args({100'000, 20'000, 0})->Args({100'000, 50'000, 0});
  b->Args({100'000, 20'000, 3'000})->Args({100'000, 50'000, 3'000});
  b->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_Append, sqlite, Backend::sqlite)->Apply(Args);
BENCHMARK_CAPTURE(BM_Append, postgresql, Backend::postgresql)->Apply(Args);

}  // namespace
}  // namespace privox::store

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
