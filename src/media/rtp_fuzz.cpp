// libFuzzer target for what the media endpoint reads from the network: the RTP parser, the
// telephone-event parser and the jitter buffer. The input is a series of datagrams (a 2-byte
// length before each); every parsed payload must lie inside its datagram, and the buffer must
// never hold more frames than it has slots, whatever order, size or sequence arrives.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//       src/media/rtp.cpp src/media/jitter_buffer.cpp src/media/rtp_fuzz.cpp -o rtp_fuzz

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "media/jitter_buffer.h"
#include "media/rtp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace privox::media;
  JitterBuffer buffer(3);
  std::array<uint8_t, JitterBuffer::kMaxFrameBytes> out{};
  size_t pos = 0;
  while (pos + 2 <= size) {
    const size_t length = std::min<size_t>((static_cast<size_t>(data[pos]) << 8) | data[pos + 1], size - pos - 2);
    const std::span<const uint8_t> datagram(data + pos + 2, length);
    pos += 2 + length;
    const RtpParse parsed = parse_rtp(datagram);
    if (!parsed.packet) continue;
    const RtpPacket& p = *parsed.packet;
    if (!p.payload.empty() &&
        (p.payload.data() < datagram.data() || p.payload.data() + p.payload.size() > datagram.data() + datagram.size()))
      std::abort();
    if (const auto event = parse_telephone_event(p.payload)) (void)event_key(event->event);
    buffer.push(p.header.sequence, p.payload);
    size_t played = 0;
    (void)buffer.pop(out, played);
    if (played > JitterBuffer::kMaxFrameBytes || buffer.buffered() > JitterBuffer::kSlots) std::abort();
  }
  return 0;
}
