#pragma once
// Where SIP messages come from and go to, kept free of the socket library so the transaction
// layer and proxy can be tested with an in-memory transport.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace privox::sip {

enum class TransportKind : uint8_t { udp, tcp, tls };

// A remote SIP peer: its address and port, and for connection-oriented transports the connection
// the message came on (responses go back over it, RFC 3261 §18.2.2).
struct Peer {
  TransportKind transport = TransportKind::udp;
  bool ipv6 = false;
  std::array<uint8_t, 16> address{};  // IPv4 in the first 4 bytes
  uint16_t port = 0;
  uint64_t connection = 0;  // 0 for UDP

  bool reliable() const { return transport != TransportKind::udp; }
  // "UDP", "TCP" or "TLS", as Via names the transport (RFC 3261 §20.42).
  std::string_view via_name() const;
  // "", ";transport=tcp" or ";transport=tls": what a URI of privox's own that this peer is to use
  // (a Contact, say) adds so the peer comes back over the same kind of connection.
  std::string_view uri_param() const;
  std::string host() const;  // "192.0.2.1" or "2001:db8::1"
  std::string host_port() const;  // "192.0.2.1:5060" or "[2001:db8::1]:5060"
  bool same_address(const Peer& other) const { return same_host(other) && port == other.port; }
  // The same IP address, whatever the ports.
  bool same_host(const Peer& other) const { return ipv6 == other.ipv6 && address == other.address; }
  // An address only its own network reaches: RFC 1918, shared (RFC 6598), loopback and link-local
  // IPv4; unique-local, link-local and loopback IPv6. What a phone behind NAT writes in its Contact.
  bool local_only() const;
  static Peer from_ipv4(uint32_t host_order_address, uint16_t port, TransportKind kind = TransportKind::udp);
  // Parses a numeric "a.b.c.d" or IPv6 literal; false when it is neither.
  static bool parse(std::string_view host, uint16_t port, TransportKind kind, Peer& out);
};

// Sends bytes to a peer. Implementations never block: a message that cannot be sent now is
// dropped (UDP) or queued (TCP), and the transaction layer's retransmissions cover the loss.
class Sender {
 public:
  virtual ~Sender() = default;
  virtual void send(const Peer& to, std::string_view bytes) = 0;
};

}  // namespace privox::sip
