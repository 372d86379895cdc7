#pragma once
// RTP (RFC 3550) as privox's media endpoint receives and sends it: the fixed header, CSRCs, a
// header extension and padding, and RFC 4733 telephone-events. Parsing never copies: the payload is
// a view into the datagram. Datagrams come from the network unchecked (rtpengine relays whatever a
// phone sends), so every length is checked and a bad packet is refused with the reason; the
// parser is fuzzed by rtp_fuzz.cpp.
//
// Thread-safety: free functions, no shared state.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace privox::media {

inline constexpr size_t kRtpHeaderBytes = 12;

struct RtpHeader {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
};

struct RtpPacket {
  RtpHeader header;
  std::span<const uint8_t> payload;  // after CSRCs and the extension, without padding
};

enum class RtpError : uint8_t { too_short, not_version_2, bad_padding, bad_extension, csrc_past_end, rtcp };
std::string_view to_string(RtpError error);

// The packet in `datagram`, or why it is not a usable RTP packet. RTCP multiplexed on the same port
// (RFC 5761: payload types 72-76 with the marker bit, i.e. second byte 200-204) is reported as such.
struct RtpParse {
  std::optional<RtpPacket> packet;
  RtpError error = RtpError::too_short;
};
RtpParse parse_rtp(std::span<const uint8_t> datagram);

// Writes the 12-byte fixed header (version 2, no padding, extension or CSRC) into `out`, which must
// hold at least kRtpHeaderBytes.
void write_rtp_header(const RtpHeader& header, std::span<uint8_t, kRtpHeaderBytes> out);

// RFC 4733 §2.3: one telephone-event payload (4 bytes; redundant blocks after it are ignored).
struct TelephoneEvent {
  uint8_t event = 0;       // 0-9, 10 '*', 11 '#', 12-15 'A'-'D', others (flash, tones)
  bool end = false;
  uint8_t volume = 0;      // -dBm0, 0-63
  uint16_t duration = 0;   // in timestamp units since the event began
};
std::optional<TelephoneEvent> parse_telephone_event(std::span<const uint8_t> payload);
// The key an event stands for, or '\0' for events that are not keys (flash, modem tones).
char event_key(uint8_t event);

}  // namespace privox::media
