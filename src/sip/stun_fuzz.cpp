// libFuzzer target for the STUN Binding responder (sip/stun.h): any datagram either gets no answer
// or a Binding success response of the right size whose transaction id is the request's and whose
// XOR-MAPPED-ADDRESS, XORed back, is the sender's address and port.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//       src/sip/stun.cpp src/sip/transport.cpp src/sip/stun_fuzz.cpp -lfmt -o stun_fuzz

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sip/stun.h"

namespace privox::sip {
namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_answer(std::string_view request, const Peer& from) {
  const auto answer = stun_binding_response(request, from);
  if (!answer) return;
  const std::string& a = *answer;
  const size_t expected = 20 + 4 + 4 + (from.ipv6 ? 16 : 4);
  check(a.size() == expected);
  check(static_cast<unsigned char>(a[0]) == 0x01 && static_cast<unsigned char>(a[1]) == 0x01);
  check(std::string_view(a).substr(4, 16) == request.substr(4, 16));
  const uint16_t port = static_cast<uint16_t>((static_cast<unsigned char>(a[26]) << 8 | static_cast<unsigned char>(a[27])) ^ 0x2112);
  check(port == from.port);
  const uint8_t cookie[4] = {0x21, 0x12, 0xa4, 0x42};
  for (size_t i = 0; i < (from.ipv6 ? 16u : 4u); ++i) {
    const uint8_t mask = i < 4 ? cookie[i] : static_cast<uint8_t>(request[8 + i - 4]);
    check((static_cast<uint8_t>(a[28 + i]) ^ mask) == from.address[i]);
  }
}

}  // namespace
}  // namespace privox::sip

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace privox::sip;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Peer v4 = Peer::from_ipv4(0xc0000207, 5062);
  Peer v6;
  Peer::parse("2001:db8::7", 40000, TransportKind::udp, v6);
  check_answer(input, v4);
  check_answer(input, v6);
  return 0;
}
