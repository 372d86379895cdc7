// What the per-source guard (sip/source_guard.h) costs the SIP worker per packet, which it pays on
// every datagram before parsing: a phone under its rate, a softphone's WebSocket under its flow's,
// the credit an authenticated request gives its line's address, a flooding source being dropped, a flood of ever-new (spoofed) sources, and, for scale, parsing
// the smallest request privox answers.
//   build-bench/privox_guard_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "sip/memory_directory.h"
#include "sip/message.h"
#include "sip/source_guard.h"

namespace {

using namespace privox;
using namespace privox::sip;

struct NoHash final : SourceHasher {
  BanHash source(const SourceKey& key) const override {
    BanHash h{};
    h[0] = static_cast<uint8_t>(key.bits);
    return h;
  }
  std::string login_tag(std::string_view) const override { return "x"; }
};

struct Fixture {
  Fixture() {
    DirectoryUpdate update;
    update.replace_all = true;
    Peer trunk;
    Peer::parse("192.0.2.50", 5060, TransportKind::udp, trunk);
    update.trunks.push_back({"t", "carrier", trunk, true});
    directory.apply(update);
  }
  FakeClock clock{1'780'000'000'000'000};
  MemoryDirectory directory;
  NoHash hasher;
};

void BM_PhoneUnderItsRate(benchmark::State& state) {
  Fixture f;
  GuardLimits limits;
  limits.rate_requests = 1'000'000'000;
  SourceGuard guard(limits, f.directory, f.hasher, nullptr, f.clock);
  const Peer phone = Peer::from_ipv4(0xCB007105, 5060);
  int64_t now = f.clock.now_us();
  for (auto _ : state) benchmark::DoNotOptimize(guard.admit(phone, true, now += 10));
}
BENCHMARK(BM_PhoneUnderItsRate);

// A portal softphone's WebSocket: the same budget, kept per flow rather than per address, so one
// more hash look-up (by connection id) than a desk phone's request.
void BM_SoftphoneFlowUnderItsRate(benchmark::State& state) {
  Fixture f;
  GuardLimits limits;
  limits.rate_requests = 1'000'000'000;
  SourceGuard guard(limits, f.directory, f.hasher, nullptr, f.clock);
  Peer browser;
  Peer::parse("203.0.113.5", 40000, TransportKind::wss, browser);
  browser.connection = 7;
  int64_t now = f.clock.now_us();
  for (auto _ : state) benchmark::DoNotOptimize(guard.admit(browser, true, now += 10));
}
BENCHMARK(BM_SoftphoneFlowUnderItsRate);

// An office behind one NAT address: each request that authenticates credits its line to the
// address (SourceGuard::on_auth_success), so the address's budget grows with its lines. The
// request's line is found among the address's credited lines (range(0) of them, up to 64).
void BM_AuthenticatedLineCredited(benchmark::State& state) {
  Fixture f;
  GuardLimits limits;
  limits.rate_requests = 1'000'000'000;
  SourceGuard guard(limits, f.directory, f.hasher, nullptr, f.clock);
  const Peer office = Peer::from_ipv4(0xCB007106, 5060);
  std::vector<ExtensionInfo> lines(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < lines.size(); ++i) lines[i].id = "0190a0b2-7c1d-7e4f-8a9b-" + std::to_string(100'000'000'000 + i);
  for (const ExtensionInfo& line : lines) guard.on_auth_success(office, line);
  size_t i = 0;
  for (auto _ : state) guard.on_auth_success(office, lines[i++ % lines.size()]);
  state.counters["lines"] = static_cast<double>(guard.credited_lines(office));
}
BENCHMARK(BM_AuthenticatedLineCredited)->Arg(1)->Arg(30)->Arg(64);

void BM_FloodingSourceDropped(benchmark::State& state) {
  Fixture f;
  SourceGuard guard({}, f.directory, f.hasher, nullptr, f.clock);
  const Peer flooder = Peer::from_ipv4(0xC6336414, 5060);
  int64_t now = f.clock.now_us();
  for (auto _ : state) benchmark::DoNotOptimize(guard.admit(flooder, true, now += 10));
  state.counters["dropped"] = static_cast<double>(guard.stats().rate_drops);
}
BENCHMARK(BM_FloodingSourceDropped);

void BM_EveryPacketANewSource(benchmark::State& state) {
  Fixture f;
  SourceGuard guard({}, f.directory, f.hasher, nullptr, f.clock);
  uint32_t address = 0x0A000000;
  int64_t now = f.clock.now_us();
  for (auto _ : state) benchmark::DoNotOptimize(guard.admit(Peer::from_ipv4(address++, 5060), true, now += 1));
}
BENCHMARK(BM_EveryPacketANewSource);

void BM_ParseTheSmallestRequest(benchmark::State& state) {
  const std::string options =
      "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-f1\r\n"
      "From: <sip:flood@198.51.100.20>;tag=f1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: flood1@198.51.100.20\r\n"
      "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  Message m;
  ParseError error;
  for (auto _ : state) benchmark::DoNotOptimize(parse_message(options, m, error));
}
BENCHMARK(BM_ParseTheSmallestRequest);

}  // namespace

BENCHMARK_MAIN();
