#pragma once
// A request's source as privox's defences see it: the unit that is rate-limited, counted for
// authentication failures, banned, and that a digest nonce is bound to. An IPv4 address is a source
// by itself; an IPv6 address counts by its /64, since one host is given a whole /64 and picks any
// address in it at will. An IPv4-mapped IPv6 address (a dual-stack socket's view of IPv4) is the
// IPv4 address.
//
// Thread-safety: plain values.

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "sip/transport.h"

namespace privox::sip {

struct SourceKey {
  uint64_t bits = 0;  // IPv4: the address (host order); IPv6: the first 64 bits (network order, as read)
  bool ipv6 = false;

  static SourceKey of(const Peer& peer) {
    SourceKey key;
    const auto& a = peer.address;
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (peer.ipv6 && std::memcmp(a.data(), kMapped, sizeof kMapped) != 0) {
      key.ipv6 = true;
      for (int i = 0; i < 8; ++i) key.bits = key.bits << 8 | a[static_cast<size_t>(i)];
      return key;
    }
    const size_t at = peer.ipv6 ? 12 : 0;
    for (size_t i = 0; i < 4; ++i) key.bits = key.bits << 8 | a[at + i];
    return key;
  }
  // "192.0.2.7" or "2001:db8::7" (any address of the /64); nullopt for anything else.
  static std::optional<SourceKey> parse(std::string_view address) {
    Peer peer;
    if (!Peer::parse(address, 0, TransportKind::udp, peer)) return std::nullopt;
    return of(peer);
  }

  // The bytes that stand for the source in keyed hashes and nonces: a family byte, then 8 bytes.
  static constexpr size_t kBytes = 9;
  std::array<uint8_t, kBytes> bytes() const {
    std::array<uint8_t, kBytes> out{};
    out[0] = ipv6 ? 6 : 4;
    for (size_t i = 0; i < 8; ++i) out[1 + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
    return out;
  }

  // "192.0.2.7" or "2001:db8:1:2::/64": for logs.
  std::string text() const {
    Peer p;
    p.ipv6 = ipv6;
    if (ipv6) {
      for (size_t i = 0; i < 8; ++i) p.address[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
      return p.host() + "/64";
    }
    for (size_t i = 0; i < 4; ++i) p.address[i] = static_cast<uint8_t>(bits >> (24 - 8 * i));
    return p.host();
  }

  bool operator==(const SourceKey&) const = default;
};

struct SourceKeyHash {
  // Drawn once per process: sources are chosen by whoever sends, and must not be able to aim at
  // one bucket.
  static uint64_t seed() {
    static const uint64_t s = [] {
      std::random_device random;
      return uint64_t{random()} << 32 | random();
    }();
    return s;
  }
  size_t operator()(const SourceKey& k) const {
    // splitmix64's finaliser over the seeded key.
    uint64_t x = k.bits ^ seed() ^ (k.ipv6 ? 0x9e3779b97f4a7c15ULL : 0);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return static_cast<size_t>(x);
  }
};

// A keyed hash of a source (sip/bans.h, BanHasher): what the store and every node know a banned
// source by. The address itself is never stored.
using BanHash = std::array<uint8_t, 16>;

struct BanHashHash {
  size_t operator()(const BanHash& h) const {
    size_t v = 0;
    std::memcpy(&v, h.data(), sizeof v);  // keyed, so nobody can aim at one bucket
    return v;
  }
};

}  // namespace privox::sip
