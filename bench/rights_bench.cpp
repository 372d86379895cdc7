// Rights requests at scale (P13), on SQLite: an access export for a member whose line holds
// 100,000 traffic records (goal: under 2 s) and an erasure of that member (goal: under 1 s).
// A plain timed program: each step runs once on a fresh store, as the operator would run it, and
// the time printed is wall-clock from the call to its return (ZIP written, key destroyed).
//
// Usage: PRIVOX_TEST_SMTP_DIR=... privox_rights_bench [RECORDS]   (default 100000)

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <unistd.h>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "app/registry.h"
#include "common/ids.h"
#include "notify/mailer.h"
#include "privacy/keyring.h"
#include "rights/requests.h"
#include "store/sqlite_store.h"

namespace privox {
namespace {

using Steady = std::chrono::steady_clock;

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r.ok()) {
    fmt::print(stderr, "rights_bench: {}: {}\n", what, r.error().describe());
    std::exit(1);
  }
  return std::move(r).value();
}

void must(const Status& s, const char* what) {
  if (!s.ok()) {
    fmt::print(stderr, "rights_bench: {}: {}\n", what, s.error().describe());
    std::exit(1);
  }
}

double seconds_since(Steady::time_point start) {
  return std::chrono::duration<double>(Steady::now() - start).count();
}

// Sealed traffic records of one line, written in batches as the batched writer would.
void add_traffic(store::Store& store, const privacy::Keyring& keys, const std::string& company,
                 const std::string& line, int64_t records, int64_t now) {
  const std::vector<std::string> columns = {"id", "company_id", "subject_id", "direction", "kind", "source_enc",
                                            "destination_enc", "source_withheld", "started_at_us", "answered_at_us",
                                            "ended_at_us", "duration_ms", "outcome", "caller_equipment_enc",
                                            "updated_at_us"};
  constexpr int64_t kBatch = 5000;
  for (int64_t done = 0; done < records; done += kBatch) {
    must(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
           PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys, line));
           std::vector<store::Params> rows;
           for (int64_t i = done; i < std::min(records, done + kBatch); ++i) {
             const int64_t started = now - (records - i) * 60'000'000;  // one a minute, ending now
             const bool inbound = i % 3 == 0;
             rows.push_back({new_id(started), company, line, std::string(inbound ? "inbound" : "outbound"),
                             std::string("voice"),
                             privacy::seal_field(key, line, "source", fmt::format("+4420794{:05}", i % 100000)),
                             privacy::seal_field(key, line, "destination", "+442079460958"),
                             int64_t{inbound && i % 7 == 0 ? 1 : 0}, started, started + 2'000'000,
                             started + 62'000'000, int64_t{60'000}, std::string("answered"),
                             privacy::seal_field(key, line, "caller_equipment", "Yealink SIP-T46S 66.86.0.15"),
                             started});
           }
           return s.insert_rows("traffic_records", columns, rows);
         }),
         "insert traffic");
  }
}

// The identity check goes through the real SMTP test server (scripts/test-smtp.sh), named by
// PRIVOX_TEST_SMTP_DIR; the code is read back from its Maildir. It is not part of what is timed.
std::string smtp_dir() {
  const char* dir = std::getenv("PRIVOX_TEST_SMTP_DIR");
  if (!dir) {
    fmt::print(stderr, "rights_bench: set PRIVOX_TEST_SMTP_DIR to a running scripts/test-smtp.sh server\n");
    std::exit(2);
  }
  return dir;
}

std::string code_for(const std::string& request_id) {
  const std::string marker = "enter this code: ";
  for (int i = 0; i < 200; ++i) {
    for (const auto& e : std::filesystem::directory_iterator(smtp_dir() + "/maildir/new")) {
      std::ifstream in(e.path(), std::ios::binary);
      const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      if (text.find(request_id) != std::string::npos && text.find(marker) != std::string::npos)
        return text.substr(text.find(marker) + marker.size(), 8);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fmt::print(stderr, "rights_bench: no code mail for {}\n", request_id);
  std::exit(1);
}

int run(int64_t records) {
  if (sodium_init() < 0) return 1;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / fmt::format("privox-rights-bench-{}", getpid());
  std::filesystem::create_directories(dir);
  auto store = must(store::open_sqlite((dir / "privox.db").string()), "open store");
  app::install_registries();  // the schema, data map and settings every store and job reads
  must(store->migrate(), "migrate");
  const privacy::SecretKey master = privacy::SecretKey::random();
  const privacy::Keyring keys = privacy::Keyring::from_master_for_test(master);
  const SystemClock clock;
  accounts::Accounts accounts(*store, keys, clock);
  const std::string company = must(accounts.add_company({"Bench Ltd", "eea", ""}, "bench"), "company");
  const std::string member = must(
      accounts.add_member(company,
                          {{"name", "Ann Lee"}, {"email", "ann@example.com"}, {"phone", "020 7946 0958"},
                           {"address", "1 High St"}, {"birth_date", "1990-01-31"}, {"payment_token", "tok_abcdef"}},
                          "bench"),
      "member");
  const std::string line = must(accounts::Extensions(*store, keys, clock)
                                    .add_extension({company, "201", "correct-horse-7", member, std::nullopt}, "bench"),
                                "extension");
  const auto fill_start = Steady::now();
  add_traffic(*store, keys, company, line, records, clock.now_us());
  fmt::print("setup: {} traffic records written in {:.2f} s\n", records, seconds_since(fill_start));

  rights::Requests requests(*store, keys, clock);
  std::string smtp_url;
  std::ifstream(smtp_dir() + "/url") >> smtp_url;
  const std::unique_ptr<notify::Mailer> mailer = notify::smtp_mailer({smtp_url, "privox@example.net"});
  auto verified = [&](rights::RequestKind kind) {
    const rights::Request r = must(requests.open({member, kind, {}, "cli"}, "bench"), "open");
    must(requests.send_code(r.id, *mailer, "bench"), "send code");
    const rights::Request verified = must(requests.verify_code(r.id, code_for(r.id), "bench"), "verify");
    // The operator's fee (settings rights.fee_minor_units) may be 0, and then none is due.
    if (verified.state == rights::RequestState::awaiting_fee) must(requests.waive_fee(r.id, "bench", "bench"), "waive");
    return r.id;
  };

  const std::string access = verified(rights::RequestKind::access);
  const std::string zip = (dir / "copy.zip").string();
  auto start = Steady::now();
  const rights::ExportSummary summary = must(requests.export_access(access, zip, "bench"), "export");
  const double export_s = seconds_since(start);
  fmt::print("access export: {} traffic records, {} bytes, {:.3f} s (goal < 2 s) {}\n", summary.traffic_records,
             summary.bytes, export_s, export_s < 2.0 ? "OK" : "OVER");

  const std::string erase = verified(rights::RequestKind::erase);
  start = Steady::now();
  const rights::Request done = must(requests.complete(erase, "bench"), "erase");
  const double erase_s = seconds_since(start);
  fmt::print("erasure: {} items reported, {:.3f} s (goal < 1 s) {}\n", done.outcome()["items"].size(), erase_s,
             erase_s < 1.0 ? "OK" : "OVER");

  store.reset();
  std::filesystem::remove_all(dir);
  return export_s < 2.0 && erase_s < 1.0 ? 0 : 1;
}

}  // namespace
}  // namespace privox

int main(int argc, char** argv) {
  const int64_t records = argc > 1 ? std::atoll(argv[1]) : 100'000;
  return privox::run(records);
}
