#include "media/rtp.h"

namespace privox::media {
namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) |
         p[3];
}

RtpParse refused(RtpError error) { return RtpParse{std::nullopt, error}; }

}  // namespace

std::string_view to_string(RtpError error) {
  switch (error) {
    case RtpError::too_short: return "shorter than an RTP header";
    case RtpError::not_version_2: return "not RTP version 2";
    case RtpError::bad_padding: return "padding longer than the payload";
    case RtpError::bad_extension: return "header extension past the end";
    case RtpError::csrc_past_end: return "CSRC list past the end";
    case RtpError::rtcp: return "RTCP";
  }
  return "unknown";
}

RtpParse parse_rtp(std::span<const uint8_t> d) {
  if (d.size() < kRtpHeaderBytes) return refused(RtpError::too_short);
  if ((d[0] >> 6) != 2) return refused(RtpError::not_version_2);
  if (d[1] >= 200 && d[1] <= 204) return refused(RtpError::rtcp);
  const bool padding = (d[0] & 0x20) != 0;
  const bool extension = (d[0] & 0x10) != 0;
  const size_t csrcs = d[0] & 0x0f;
  size_t offset = kRtpHeaderBytes + 4 * csrcs;
  if (offset > d.size()) return refused(RtpError::csrc_past_end);
  if (extension) {
    if (offset + 4 > d.size()) return refused(RtpError::bad_extension);
    const size_t words = be16(d.data() + offset + 2);
    offset += 4 + 4 * words;
    if (offset > d.size()) return refused(RtpError::bad_extension);
  }
  size_t end = d.size();
  if (padding) {
    const size_t pad = d.back();
    if (pad == 0 || pad > end - offset) return refused(RtpError::bad_padding);
    end -= pad;
  }
  RtpPacket packet;
  packet.header.marker = (d[1] & 0x80) != 0;
  packet.header.payload_type = d[1] & 0x7f;
  packet.header.sequence = be16(d.data() + 2);
  packet.header.timestamp = be32(d.data() + 4);
  packet.header.ssrc = be32(d.data() + 8);
  packet.payload = d.subspan(offset, end - offset);
  return RtpParse{packet, RtpError::too_short};
}

void write_rtp_header(const RtpHeader& h, std::span<uint8_t, kRtpHeaderBytes> out) {
  out[0] = 0x80;
  out[1] = static_cast<uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7f));
  out[2] = static_cast<uint8_t>(h.sequence >> 8);
  out[3] = static_cast<uint8_t>(h.sequence);
  for (int i = 0; i < 4; ++i) {
    out[4 + i] = static_cast<uint8_t>(h.timestamp >> (24 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(h.ssrc >> (24 - 8 * i));
  }
}

std::optional<TelephoneEvent> parse_telephone_event(std::span<const uint8_t> payload) {
  if (payload.size() < 4) return std::nullopt;
  TelephoneEvent e;
  e.event = payload[0];
  e.end = (payload[1] & 0x80) != 0;
  e.volume = payload[1] & 0x3f;
  e.duration = be16(payload.data() + 2);
  return e;
}

char event_key(uint8_t event) {
  constexpr std::string_view kKeys = "0123456789*#ABCD";
  return event < kKeys.size() ? kKeys[event] : '\0';
}

}  // namespace privox::media
