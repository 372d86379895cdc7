#pragma once
// Where SIP messages come from and go to, kept free of the socket library so the transaction
// layer and proxy can be tested with an in-memory transport.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace privox::sip {

// ws and wss are SIP over WebSocket (RFC 7118), plain or upgraded from HTTPS: the portal's softphone.
enum class TransportKind : uint8_t { udp, tcp, tls, ws, wss };

// A remote SIP peer: its address and port, and for connection-oriented transports the connection
// the message came on (responses go back over it, RFC 3261 §18.2.2).
struct Peer {
  TransportKind transport = TransportKind::udp;
  bool ipv6 = false;
  std::array<uint8_t, 16> address{};  // IPv4 in the first 4 bytes
  uint16_t port = 0;
  uint64_t connection = 0;  // 0 for UDP
  // Over TCP: address and port are where the peer listens (a phone's Contact on its own host), not
  // the far end of `connection`, so privox may open a connection there when that one has closed
  // (RFC 3261 §18.1.1). Without it, a closed connection leaves the peer unreachable.
  bool listens = false;

  bool reliable() const { return transport != TransportKind::udp; }
  bool websocket() const { return transport == TransportKind::ws || transport == TransportKind::wss; }
  // Its SIP is encrypted on the wire: TLS, or a WebSocket upgraded from HTTPS.
  bool private_signalling() const { return transport == TransportKind::tls || transport == TransportKind::wss; }
  // What this leg's SDP says about its audio can be trusted to keep it private: SDES keys travel in
  // the SDP, so only over TLS; a browser's DTLS-SRTP (WebSocket) keys its media out of band.
  bool keeps_media_keys() const { return transport == TransportKind::tls || websocket(); }
  // "UDP", "TCP", "TLS", "WS" or "WSS", as Via names the transport (RFC 3261 §20.42, RFC 7118 §5.1).
  std::string_view via_name() const;
  // "", ";transport=tcp", ";transport=tls" or ";transport=ws" (RFC 7118 §5.2, for WSS too): what a URI of privox's own that this peer is to use
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

// The one login a flow may use, fixed when the flow opened: a softphone's WebSocket, opened by a
// portal session, speaks only for that session's line and only with the short-lived password the
// session was given (portal/softphone.h). Its HA1s (sip/digest.h) stand in for the line's own.
struct FlowCredential {
  std::string sip_user;
  std::string ha1_md5;
  std::string ha1_sha256;
};

// The SHA-256 of the certificate a TLS peer presented (DER): what a phone's connection back must
// present (sip/tls.h).
using CertificatePin = std::array<uint8_t, 32>;

// Finds the credential a flow was opened with (the SIP server's WebSocket connections), and the
// certificate a TLS phone presented on its connection.
class FlowCredentials {
 public:
  virtual ~FlowCredentials() = default;
  // nullptr for a peer that is not on such a flow, or whose flow has closed.
  virtual const FlowCredential* credential_of(const Peer& peer) const = 0;
  // Nothing for a peer not on TLS, or that presented no certificate.
  virtual std::optional<CertificatePin> certificate_of(const Peer& /*peer*/) const { return std::nullopt; }
};

// Sends bytes to a peer. Implementations never block: a message that cannot be sent now is
// dropped (UDP) or queued (TCP), and the transaction layer's retransmissions cover the loss.
class Sender {
 public:
  virtual ~Sender() = default;
  virtual void send(const Peer& to, std::string_view bytes) = 0;
};

}  // namespace privox::sip
