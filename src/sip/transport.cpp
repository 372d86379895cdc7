#include "sip/transport.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace privox::sip {

std::string Peer::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(ipv6 ? AF_INET6 : AF_INET, address.data(), buf, sizeof buf);
  return buf;
}

std::string Peer::host_port() const {
  return ipv6 ? fmt::format("[{}]:{}", host(), port) : fmt::format("{}:{}", host(), port);
}

std::string_view Peer::via_name() const {
  switch (transport) {
    case TransportKind::tcp: return "TCP";
    case TransportKind::tls: return "TLS";
    case TransportKind::ws: return "WS";
    case TransportKind::wss: return "WSS";
    case TransportKind::udp: break;
  }
  return "UDP";
}

std::string_view Peer::uri_param() const {
  switch (transport) {
    case TransportKind::tcp: return ";transport=tcp";
    case TransportKind::tls: return ";transport=tls";
    case TransportKind::ws:
    case TransportKind::wss: return ";transport=ws";
    case TransportKind::udp: break;
  }
  return "";
}

Peer Peer::from_ipv4(uint32_t host_order_address, uint16_t port, TransportKind kind) {
  Peer p;
  p.transport = kind;
  const uint32_t n = htonl(host_order_address);
  std::memcpy(p.address.data(), &n, 4);
  p.port = port;
  return p;
}

bool Peer::local_only() const {
  const auto& a = address;
  if (ipv6) {
    const bool loopback = std::all_of(a.begin(), a.begin() + 15, [](uint8_t b) { return b == 0; }) && a[15] == 1;
    return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || loopback;
  }
  return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
         (a[0] == 100 && (a[1] & 0xc0) == 64) || (a[0] == 169 && a[1] == 254) || a[0] == 127;
}

bool Peer::parse(std::string_view host, uint16_t port, TransportKind kind, Peer& out) {
  if (host.size() >= INET6_ADDRSTRLEN) return false;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, host.data(), host.size());
  Peer p;
  p.transport = kind;
  p.port = port;
  if (::inet_pton(AF_INET, buf, p.address.data()) == 1) {
    out = p;
    return true;
  }
  if (::inet_pton(AF_INET6, buf, p.address.data()) == 1) {
    p.ipv6 = true;
    out = p;
    return true;
  }
  return false;
}

}  // namespace privox::sip
