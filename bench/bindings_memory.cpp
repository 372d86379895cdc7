// Memory per registration binding held by the location service (goal: 1 KiB or less at 100,000
// bindings). Registers 100,000 devices, one per extension, with realistic contact and User-Agent
// lengths, and reports the growth of the process's resident memory divided by the bindings.

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>

#include "common/ids.h"
#include "sip/location.h"

namespace {

size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

int main() {
  using namespace privox::sip;
  constexpr int kBindings = 100'000;
  std::vector<std::string> extension_ids;
  extension_ids.reserve(kBindings);
  for (int i = 0; i < kBindings; ++i) extension_ids.push_back(privox::new_id(1'795'000'000'000'000 + i));

  const size_t before = resident_bytes();
  Location location(nullptr);
  for (int i = 0; i < kBindings; ++i) {
    Binding b;
    b.contact = fmt::format("sip:{}@10.{}.{}.{}:5060;transport=udp;ob", 1000 + i, (i >> 16) & 255, (i >> 8) & 255,
                            i & 255);
    Peer::parse(fmt::format("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255), 5060, TransportKind::udp, b.peer);
    b.expires_at_us = 1'795'000'000'000'000 + 3'600'000'000;
    b.user_agent = "Yealink SIP-T46U 108.86.0.45";
    b.call_id = fmt::format("{:08x}-{:04x}@10.0.0.1", i * 2654435761u, i & 0xffff);
    b.cseq = 1;
    location.apply({{extension_ids[static_cast<size_t>(i)], std::move(b), false}}, [](const privox::Status&) {});
  }
  const size_t after = resident_bytes();
  fmt::print("bindings={} resident_growth_bytes={} bytes_per_binding={}\n", location.size(), after - before,
             (after - before) / location.size());
  return 0;
}
