#pragma once
// The SIP server's network side: one UDP socket and one TCP listener on the same address,
// both on the caller's io_context. It parses what arrives (answering a malformed but answerable
// request 400 with the parser's reason), hands valid messages to a MessageSink, and sends what
// the transaction layer gives it. It also drives the worker's TimerQueue from the event loop.
//
// Before a datagram or a framed TCP message is parsed, the SourceGuard (sip/source_guard.h), when
// one is set, may drop it: a banned source, or a request over its source's rate. After parsing,
// it may drop a scanner's request. Neither gets an answer.
//
// TCP is bounded so that no one source can shut others out (TcpLimits): a source may hold only a
// share of the connections; a connection must send a complete message soon after it opens and
// finish each message it starts within a deadline, or it is closed; a half-received message may
// not pass a size limit, and all connections together may buffer only so much; framing is
// incremental (StreamFramer), so slow-drip input costs linear work. When accepting fails (out of
// descriptors, say), the listener backs off, up to a second, and says so at most every ten seconds.
//
// TLS (sip/tls.h), when listen_tls() is called, is the TCP code over a TLS stream: the same framing,
// deadlines and per-source connection share (TLS and TCP connections count together), plus a
// handshake deadline and a cap on the handshakes one source may have in progress, so a flood of
// half-open handshakes cannot hold the node's connections or CPU. A peer on TLS is TransportKind::tls
// with its connection's id, so what goes to it (responses, and requests to a device registered over
// it) goes back over that connection, as for TCP.
//
// The server opens a connection of its own only to a peer that listens (Peer::listens, a TCP or
// TLS phone's Contact on its own host, sip/registrar.cpp) whose connection has closed; that
// connection counts in the same caps, and what is sent while it connects is queued on it. Over TLS
// it goes only to a phone whose certificate is the one it presented on the connection it registered
// over (sip/tls.h): the server keeps that certificate's pin by connection, for as long as a binding
// may name the connection (TcpLimits::pin_kept_us) after it closes, and drops a connection it opened
// whose peer presents another certificate, or none, before a byte of SIP goes out.
//
// Thread-safety: everything runs on the io_context's single thread.

#include <utility>  // Boost 1.74's Asio needs this before it in C++20 mode

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <tuple>
#include <string>
#include <unordered_map>

#include "common/accept_backoff.h"
#include "common/clock.h"
#include "common/message_channel.h"
#include "common/result.h"
#include "sip/message.h"
#include "sip/source.h"
#include "sip/source_guard.h"
#include "sip/timer_queue.h"
#include "sip/tls.h"
#include "sip/transport.h"

namespace privox::sip {

// Receives every valid message; the transaction layer in production.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void on_message(const Message& message, const Peer& from) = 0;
};

// sip::Method's values, unknown (an extension method) first.
inline constexpr size_t kMethodCount = static_cast<size_t>(Method::publish) + 1;

struct ServerStats {
  // Requests handed to the sink, by method; responses sent (built here or forwarded), by their
  // CSeq's method and status class (1xx to 6xx, index 0 to 5). Plain counts on the worker thread.
  std::array<uint64_t, kMethodCount> requests{};
  std::array<std::array<uint64_t, 6>, kMethodCount> responses{};
  uint64_t received = 0;
  uint64_t malformed = 0;
  uint64_t sent = 0;
  uint64_t send_errors = 0;
  uint64_t dropped = 0;             // by the SourceGuard
  uint64_t tcp_refused = 0;         // connections closed at once: over a cap, or banned
  uint64_t tcp_closed_slow = 0;     // no complete message in time, or a message not finished in time
  uint64_t tcp_closed_memory = 0;   // over the message size or the buffer budget
  uint64_t accept_errors = 0;
  uint64_t tls_handshakes = 0;        // completed
  uint64_t tls_resumed = 0;           // of those, sessions resumed rather than negotiated anew
  uint64_t tls_handshake_failures = 0;  // refused by either side, or past TcpLimits::handshake_us
  uint64_t stun_answered = 0;           // STUN Binding requests (SIP Outbound keep-alives) answered
  // Connections privox opened to a TCP or TLS phone whose own had closed (Peer::listens), and those
  // of them that did not connect or finish their handshake.
  uint64_t tcp_opened = 0;
  uint64_t tcp_open_failures = 0;
  // Not opened to a TLS phone, for want of the certificate it registered with (it presented none,
  // or the pin is past TcpLimits::pin_kept_us); opened, and dropped because the peer presented
  // another certificate.
  uint64_t tls_unpinned = 0;
  uint64_t tls_pin_mismatches = 0;
};

struct TcpLimits {
  size_t max_connections = 10'000;
  size_t max_per_source = 256;              // a source (sip/source.h) may hold this many at once
  int64_t idle_us = 300'000'000;            // no byte for this long: closed (phones keep alive well within)
  int64_t first_message_us = 10'000'000;    // a connection that has sent no complete message by then
  int64_t message_us = 20'000'000;          // a message begun and not finished within this
  size_t max_message_bytes = 32'768;        // headers and body of one message
  size_t max_buffered_bytes = 64u << 20;    // receive buffers of all connections together
  size_t max_queued_bytes = 1u << 20;       // what privox queues for one peer that does not read
  int64_t sweep_every_us = 1'000'000;
  // TLS only: a handshake not finished within this is closed (checked by the sweep, so up to
  // sweep_every_us later), and a source may have only so many in progress at once.
  int64_t handshake_us = 5'000'000;  // also how long a connection privox opens may take to connect
  size_t max_handshakes_per_source = 16;
  // How long a TLS phone's certificate pin outlives its connection: longer than a registration may
  // last (RegistrarConfig::max_expires_s), so a binding on that connection finds it. And how many
  // such pins are kept at most, the oldest forgotten first, so a flood of handshakes is bounded.
  int64_t pin_kept_us = 7'200'000'000;
  size_t max_kept_pins = 65'536;
};

class Server final : public Sender, public FlowCredentials {
 public:
  Server(boost::asio::io_context& io, TimerQueue& timers, const Clock& clock, TcpLimits tcp = {});
  ~Server() override;

  void set_sink(MessageSink* sink) { sink_ = sink; }
  // Before listen(); nullptr (the default) admits everything.
  void set_guard(SourceGuard* guard) { guard_ = guard; }
  // Binds UDP and TCP on host:port (port 0 picks one free port for both when it can).
  Status listen(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  // After listen(): SIP over TLS on host:port (0 picks a free port) with `contexts` for new
  // connections, accepted and opened (sip/tls.h).
  Status listen_tls(const std::string& host, uint16_t port, TlsContexts contexts);
  uint16_t tls_port() const { return tls_port_; }
  // A WebSocket the portal opened for a softphone (RFC 7118): a flow like a TCP connection's,
  // counted in its source's share, whose requests may use only `credential`. A banned source's,
  // or one past a cap, is closed. On the I/O thread.
  void attach_websocket(std::shared_ptr<MessageChannel> channel, FlowCredential credential);
  const FlowCredential* credential_of(const Peer& peer) const override;
  std::optional<CertificatePin> certificate_of(const Peer& peer) const override;
  // A TLS phone's pin read back from the store at start (sip/store_bindings.h), kept until
  // `until_us`: the connection id to give its binding's peer, under which a connection back to it
  // finds the pin. No connection has that id.
  uint64_t adopt_pin(const CertificatePin& pin, int64_t until_us);
  // A renewed certificate: connections accepted or opened from now on use `contexts`; open ones
  // keep theirs.
  void set_tls_contexts(TlsContexts contexts) { tls_ = std::move(contexts); }
  // The address other peers should use to reach this server, for Via and Record-Route.
  const std::string& advertised_host() const { return host_; }
  void stop();

  void send(const Peer& to, std::string_view bytes) override;
  // Re-arms the event-loop timer after the TimerQueue changed outside a receive.
  void reschedule_timers();
  const ServerStats& stats() const { return stats_; }
  size_t tcp_connections() const { return connections_.size(); }
  // Tests: the next `count` accepts fail with `errno_value` (EMFILE, say) as the kernel's would,
  // without exhausting the process (the sanitizers need descriptors of their own). On the I/O thread.
  void fail_accepts_for_test(int errno_value, size_t count) {
    injected_accept_errno_ = errno_value;
    injected_accept_failures_ = count;
  }

 private:
  class Connection;
  class TcpConnection;
  class WebSocketConnection;

  boost::system::error_code bind_both(const boost::asio::ip::address& address, uint16_t port);

  void receive_udp();
  // A UDP datagram: a STUN keep-alive is answered here (sip/stun.h), anything else dispatched.
  void receive_datagram(std::string_view bytes, const Peer& from);
  void dispatch(std::string_view bytes, const Peer& from);
  void count_sent(std::string_view bytes);  // a response, into stats_.responses
  void accept_tcp();
  void accept_tls();
  void accepted(boost::asio::ip::tcp::socket socket, bool tls);
  // Whether a new connection to `peer` is within the caps: all connections, its source's share,
  // and no ban.
  bool may_hold_another(const Peer& peer, const SourceKey& source);
  // Opens a TCP or TLS connection to a peer that listens (Peer::listens) and queues `bytes` on it.
  void open_connection(const Peer& to, std::string_view bytes);
  // The certificate a TLS phone presented on connection `id`, kept while it is open and for
  // TcpLimits::pin_kept_us after (forget_pins).
  void pin_certificate(uint64_t id, const CertificatePin& pin);
  void retire_pin(uint64_t id);
  // Gives pin `id` a time to be forgotten at, and forgets the oldest past TcpLimits::max_kept_pins.
  void keep_pin_until(uint64_t id, int64_t until_us);
  void forget_pins(int64_t now);
  // A TLS connection's handshake ended (well or not): its source may start another.
  void handshake_ended(const Peer& peer);
  // After an accept error: waits as AcceptBackoff says (doubling, up to a second, while the process
  // is out of descriptors or memory) before accepting again, and logs a line per interval.
  void back_off_accepting(const boost::system::error_code& ec);
  // Closes the connection and forgets it (its source's share, its buffer).
  void drop_connection(uint64_t id);
  // Closes TCP connections past their deadlines, then schedules itself again.
  void sweep_connections();
  void on_timer();

  TimerQueue& timers_;
  const Clock& clock_;
  const TcpLimits tcp_;
  MessageSink* sink_ = nullptr;
  SourceGuard* guard_ = nullptr;
  boost::asio::ip::udp::socket udp_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::acceptor tls_acceptor_;
  boost::asio::steady_timer tls_accept_timer_;
  TlsContexts tls_;
  uint16_t tls_port_ = 0;
  // Pins by the connection they were presented on; a closed connection's until its time is up
  // (pin_expiry_, oldest first). An open one's has no time.
  struct KeptPin {
    CertificatePin pin;
    int64_t until_us;
  };
  std::unordered_map<uint64_t, KeptPin> pins_;
  std::deque<std::pair<int64_t, uint64_t>> pin_expiry_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer accept_timer_;
  AcceptBackoff accept_backoff_;
  size_t injected_accept_failures_ = 0;  // fail_accepts_for_test
  int injected_accept_errno_ = 0;
  int64_t timer_due_ = TimerQueue::kNever;
  std::string host_;
  uint16_t port_ = 0;
  std::unique_ptr<char[]> udp_buffer_;
  boost::asio::ip::udp::endpoint udp_from_;
  Message message_;  // reused for every message: a Message is large, and parsing never nests
  uint64_t next_connection_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;
  // The connections by their remote transport, address and port, for a request to a URI that
  // names a peer's address but no connection (RFC 5923's reuse: a phone's TLS contact is where its
  // connection comes from). The newest connection from an address wins.
  std::map<std::tuple<TransportKind, std::array<uint8_t, 16>, uint16_t>, uint64_t> connection_at_;
  std::unordered_map<SourceKey, uint32_t, SourceKeyHash> per_source_;  // open connections by source
  std::unordered_map<SourceKey, uint32_t, SourceKeyHash> handshaking_;  // TLS handshakes in progress by source
  size_t buffered_bytes_ = 0;  // receive buffers of all connections
  ServerStats stats_;
  bool stopped_ = false;
};

}  // namespace privox::sip
