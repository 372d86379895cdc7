// Seeds call records for one company's lines, for bench/run-portal.sh. Every record goes through
// traffic::StoreSink, the path the SIP proxy uses: parties and equipment sealed under the line's
// key, batched by an AppendWriter, so the store holds what real traffic would have left, not
// cleartext shortcuts.
//
//   privox_seed_calls --dir DATA_DIR [--store URL] --company ID --records N [--days D]
//
// Records are spread evenly (with jitter) over the last D days, oldest first, over every line of
// the company; the mix of directions, outcomes and phones is fixed by a seeded generator, so two
// runs seed the same shapes. Prints one JSON line: records, seconds, records per second.
#include <sodium.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "accounts/extensions.h"
#include "cli/environment.h"
#include "common/ids.h"
#include "store/append_writer.h"
#include "traffic/store_sink.h"

namespace {

using namespace privox;

struct Options {
  cli::DataDir dir;
  std::string company_id;
  int64_t records = 0;
  int64_t days = 30;
};

int usage(std::string_view problem) {
  std::fprintf(stderr,
               "privox_seed_calls: error: %.*s\n"
               "usage: privox_seed_calls --dir DATA_DIR [--store URL] --company ID --records N [--days D]\n",
               static_cast<int>(problem.size()), problem.data());
  return 2;
}

bool parse(int argc, char** argv, Options& o, std::string& problem) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) {
      problem = fmt::format("{}: needs a value", flag);
      return false;
    }
    const std::string value = argv[++i];
    if (flag == "--dir") o.dir.root = value;
    else if (flag == "--store") o.dir.store_url = value;
    else if (flag == "--company") o.company_id = value;
    else if (flag == "--records") o.records = std::atoll(value.c_str());
    else if (flag == "--days") o.days = std::atoll(value.c_str());
    else {
      problem = fmt::format("{}: not an option", flag);
      return false;
    }
  }
  if (o.dir.root.empty()) problem = "--dir: is required";
  else if (o.company_id.empty()) problem = "--company: is required";
  else if (o.records < 1 || o.records > 100'000'000) problem = "--records: must be 1 to 100000000";
  else if (o.days < 1 || o.days > 3650) problem = "--days: must be 1 to 3650";
  return problem.empty();
}

// What desk phones and softphones send as User-Agent / Server.
constexpr std::string_view kPhones[] = {"Yealink SIP-T46U 108.86.0.75", "Poly VVX 450 6.4.3.5018",
                                        "Zoiper rv2.10.19.6", "Grandstream GXP2170 1.0.11.23",
                                        "Linphone/5.2.0 (belle-sip/5.2.0)"};
constexpr int kFailureCodes[] = {404, 480, 486, 503, 603};

class CallGenerator {
 public:
  CallGenerator(std::string company_id, std::vector<accounts::Extension> lines)
      : company_id_(std::move(company_id)), lines_(std::move(lines)) {}

  traffic::CallRecord make(int64_t started_at_us) {
    traffic::CallRecord r;
    r.id = new_id(started_at_us);
    r.company_id = company_id_;
    const accounts::Extension& line = lines_[pick(lines_.size())];
    r.subject_id = line.id;
    r.kind = percent() < 5 ? traffic::Kind::sms : traffic::Kind::voice;
    const int direction = percent();
    const std::string own = line.did.value_or(line.number);
    if (direction < 45) {
      r.direction = traffic::Direction::outbound;
      r.source = own;
      r.destination = external_number();
    } else if (direction < 85) {
      r.direction = traffic::Direction::inbound;
      r.source = external_number();
      r.source_withheld = percent() < 5;
      r.destination = own;
    } else {
      r.direction = traffic::Direction::internal;
      r.source = line.number;
      r.destination = lines_[pick(lines_.size())].number;
    }
    r.started_at_us = started_at_us;
    r.caller_equipment = std::string(kPhones[pick(std::size(kPhones))]);
    if (r.kind == traffic::Kind::sms) {
      r.outcome = traffic::Outcome::answered;
      r.ended_at_us = started_at_us;
      return r;
    }
    finish_call(r);
    return r;
  }

 private:
  void finish_call(traffic::CallRecord& r) {
    const int outcome = percent();
    const int64_t ring_us = (3 + pick(18)) * 1'000'000LL;
    if (outcome < 70) {
      r.outcome = traffic::Outcome::answered;
      r.answered_at_us = r.started_at_us + ring_us;
      r.ended_at_us = r.answered_at_us + static_cast<int64_t>(talk_(rng_) * 1'000'000);
      r.end_reason = "bye";
      r.callee_equipment = std::string(kPhones[pick(std::size(kPhones))]);
    } else if (outcome < 85) {
      r.outcome = traffic::Outcome::no_answer;
      r.ended_at_us = r.started_at_us + 30'000'000;
    } else if (outcome < 93) {
      r.outcome = traffic::Outcome::busy;
      r.ended_at_us = r.started_at_us + 1'000'000;
      r.failure_code = 486;
    } else if (outcome < 97) {
      r.outcome = traffic::Outcome::cancelled;
      r.ended_at_us = r.started_at_us + ring_us;
    } else {
      r.outcome = traffic::Outcome::failed;
      r.ended_at_us = r.started_at_us + 500'000;
      r.failure_code = kFailureCodes[pick(std::size(kFailureCodes))];
    }
  }

  // A UK or US number from the ranges set aside for drama and documentation.
  std::string external_number() {
    return percent() < 80 ? fmt::format("+4420794609{:02}", pick(100)) : fmt::format("+1202555{:04}", pick(10000));
  }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  int percent() { return static_cast<int>(pick(100)); }

  const std::string company_id_;
  const std::vector<accounts::Extension> lines_;
  std::mt19937_64 rng_{20261127};
  std::exponential_distribution<double> talk_{1.0 / 180.0};  // mean three minutes
};

int seed(const Options& o) {
  auto env = cli::open_environment(o.dir);
  if (!env.ok()) return cli::fail(env.error());
  accounts::Extensions extensions(*(*env)->store, (*env)->keys, (*env)->clock);
  auto lines = extensions.list(o.company_id);
  if (!lines.ok()) return cli::fail(lines.error());
  if (lines->empty()) return cli::fail(privox::invalid("company", "has no lines to record calls for"));
  auto writer_store = cli::open_store(o.dir);
  if (!writer_store.ok()) return cli::fail(writer_store.error());

  store::AppendWriter writer(std::move(writer_store).value());
  traffic::StoreSink sink(writer, (*env)->keys, (*env)->clock, "bench-seed");
  CallGenerator calls(o.company_id, std::move(lines).value());
  const int64_t now = (*env)->clock.now_us();
  const int64_t span_us = o.days * 86'400'000'000LL;
  const int64_t step_us = std::max<int64_t>(1, span_us / o.records);
  std::mt19937_64 jitter_rng(7);
  std::uniform_int_distribution<int64_t> jitter(0, step_us - 1);

  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < o.records; ++i) {
    sink.closed(calls.make(now - span_us + i * step_us + jitter(jitter_rng)));
    // Bounds what waits in the writer's queue (each row holds its sealed blobs).
    if ((i + 1) % 50'000 == 0) {
      if (Status s = sink.flush(); !s.ok()) return cli::fail(s.error());
      std::fprintf(stderr, "seeded %lld of %lld\n", static_cast<long long>(i + 1), static_cast<long long>(o.records));
    }
  }
  if (Status s = sink.flush(); !s.ok()) return cli::fail(s.error());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (sink.stats().dropped > 0)
    return cli::fail(Error{ErrorCode::internal, "", fmt::format("{} records were dropped", sink.stats().dropped)});
  std::printf("{\"records\": %lld, \"seconds\": %.1f, \"records_per_s\": %.0f}\n", static_cast<long long>(o.records),
              seconds, static_cast<double>(o.records) / seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  Options o;
  std::string problem;
  if (!parse(argc, argv, o, problem)) return usage(problem);
  return seed(o);
}
