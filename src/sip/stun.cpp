#include "sip/stun.h"

#include <array>
#include <cstdint>

namespace privox::sip {
// Named rather than anonymous: the unity build joins this file with the SIP parser's, whose
// anonymous namespace has names of its own (a magic cookie among them).
namespace stun_wire {

constexpr size_t kHeader = 20;
constexpr uint32_t kStunMagicCookie = 0x2112a442;
constexpr uint16_t kBindingRequest = 0x0001;
constexpr uint16_t kBindingSuccess = 0x0101;
constexpr uint16_t kXorMappedAddress = 0x0020;
constexpr uint16_t kFingerprint = 0x8028;
// A keep-alive carries no attributes, or a few optional ones (SOFTWARE, FINGERPRINT): anything
// larger is not one.
constexpr size_t kMaxRequest = 548;

uint16_t u16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(s[at]) << 8 | static_cast<unsigned char>(s[at + 1]));
}
uint32_t u32(std::string_view s, size_t at) { return uint32_t{u16(s, at)} << 16 | u16(s, at + 2); }

void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

// Walks the attributes (type, length, value padded to 4 bytes); false when one overruns the
// message or is comprehension-required (below 0x8000) and so unknown to privox. A FINGERPRINT,
// which must be last, is accepted without checking its CRC: nothing privox answers depends on it.
bool attributes_acceptable(std::string_view body) {
  size_t at = 0;
  while (at < body.size()) {
    if (body.size() - at < 4) return false;
    const uint16_t type = u16(body, at), length = u16(body, at + 2);
    const size_t padded = (size_t{length} + 3) & ~size_t{3};
    if (body.size() - at - 4 < padded) return false;
    if (type < 0x8000) return false;
    if (type == kFingerprint && at + 4 + padded != body.size()) return false;
    at += 4 + padded;
  }
  return true;
}

}  // namespace stun_wire

std::optional<std::string> stun_binding_response(std::string_view datagram, const Peer& from) {
  using namespace stun_wire;
  if (datagram.size() < kHeader || datagram.size() > kMaxRequest || !looks_like_stun(datagram)) return std::nullopt;
  if (u16(datagram, 0) != kBindingRequest || u32(datagram, 4) != kStunMagicCookie) return std::nullopt;
  const uint16_t length = u16(datagram, 2);
  if (length % 4 != 0 || kHeader + length != datagram.size()) return std::nullopt;
  if (!attributes_acceptable(datagram.substr(kHeader))) return std::nullopt;

  // XOR-MAPPED-ADDRESS (RFC 5389 §15.2): the port XORed with the cookie's top half, the address
  // with the cookie (IPv4) or the cookie and the transaction id (IPv6).
  const std::string_view transaction = datagram.substr(8, 12);
  std::array<uint8_t, 16> mask{};
  for (size_t i = 0; i < 4; ++i) mask[i] = static_cast<uint8_t>(kStunMagicCookie >> (24 - 8 * i));
  for (size_t i = 0; i < 12; ++i) mask[4 + i] = static_cast<uint8_t>(transaction[i]);
  const size_t address_bytes = from.ipv6 ? 16 : 4;
  std::string value;
  value += '\0';
  value += static_cast<char>(from.ipv6 ? 0x02 : 0x01);
  put16(value, static_cast<uint16_t>(from.port ^ (kStunMagicCookie >> 16)));
  for (size_t i = 0; i < address_bytes; ++i) value += static_cast<char>(from.address[i] ^ mask[i]);

  std::string out;
  out.reserve(kHeader + 4 + value.size());
  put16(out, kBindingSuccess);
  put16(out, static_cast<uint16_t>(4 + value.size()));
  out.append(datagram.substr(4, 16));  // the cookie and the transaction id, as sent
  put16(out, kXorMappedAddress);
  put16(out, static_cast<uint16_t>(value.size()));
  out += value;
  return out;
}

}  // namespace privox::sip
