#include "sip/server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>

#include "common/log.h"
#include "sip/builder.h"
#include "sip/stun.h"

namespace privox::sip {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;

constexpr size_t kMaxDatagram = 65535;
// What a TCP connection reads at once; its buffer grows by this much while a message needs it.
constexpr size_t kReadChunk = 4096;
// A buffer larger than this is given back once its message has been handed on.
constexpr size_t kKeptBuffer = 2 * kReadChunk;

// Every SIP message is written whole, so Nagle's algorithm only ever delays one: over TLS 1.3 the
// server's session tickets go out after the handshake, and the first response then waited for
// their ACK, which the phone delays by 40 ms (a 401 took 42 ms to arrive instead of under 1).
void no_delay(tcp::socket& socket) {
  boost::system::error_code ignored;  // a socket that cannot take it still works, only slower
  socket.set_option(tcp::no_delay(true), ignored);
}

// A response starts with the version; anything else is (or claims to be) a request.
bool looks_like_response(std::string_view bytes) { return bytes.size() >= 4 && bytes.substr(0, 4) == "SIP/"; }

template <class Endpoint>
Peer to_peer(const Endpoint& ep, TransportKind kind, uint64_t connection = 0) {
  Peer p;
  p.transport = kind;
  p.connection = connection;
  p.port = ep.port();
  const auto addr = ep.address();
  if (addr.is_v4()) {
    const auto bytes = addr.to_v4().to_bytes();
    std::memcpy(p.address.data(), bytes.data(), 4);
  } else {
    p.ipv6 = true;
    const auto bytes = addr.to_v6().to_bytes();
    std::memcpy(p.address.data(), bytes.data(), 16);
  }
  return p;
}

template <class Endpoint>
Endpoint to_endpoint(const Peer& p) {
  if (p.ipv6) {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), p.address.data(), 16);
    return {asio::ip::address_v6(b), p.port};
  }
  asio::ip::address_v4::bytes_type b;
  std::memcpy(b.data(), p.address.data(), 4);
  return {asio::ip::address_v4(b), p.port};
}
udp::endpoint to_udp(const Peer& p) { return to_endpoint<udp::endpoint>(p); }

}  // namespace

// What the server keeps of each connection-oriented flow, whatever carries it.
class Server::Connection {
 public:
  virtual ~Connection() = default;
  virtual const Peer& peer() const = 0;
  virtual void write(std::string_view bytes) = 0;
  // The server forgot the connection: it closes, and a completion already queued must not touch
  // the server's accounts.
  virtual void dropped() = 0;
  // Why the connection should be closed at `now` (a code for the log), or nullptr.
  virtual const char* overdue(int64_t now) const = 0;
  virtual bool handshaking() const { return false; }
  virtual size_t buffer_bytes() const { return 0; }
  // The softphone's identity, for a WebSocket opened by a portal session; nullptr otherwise.
  virtual const FlowCredential* credential() const { return nullptr; }
};

// One TCP connection, or a TLS one over it: frames the stream into messages and queues writes.
class Server::TcpConnection final : public Connection, public std::enable_shared_from_this<TcpConnection> {
 public:
  // With `tls`, the connection handshakes before it reads, and reads and writes through TLS. One
  // that privox opens to a TLS phone (connect) is given the pin its peer's certificate must match.
  TcpConnection(Server& server, tcp::socket socket, uint64_t id, const Peer& peer,
                std::shared_ptr<asio::ssl::context> tls, std::optional<CertificatePin> expected = std::nullopt)
      : server_(server), socket_(std::move(socket)), tls_context_(std::move(tls)), id_(id), peer_(peer),
        expected_pin_(expected), framer_(server.tcp_.max_message_bytes) {
    if (tls_context_) tls_.emplace(socket_, *tls_context_);
  }

  void start() {
    opened_us_ = last_active_us_ = server_.clock_.now_us();
    if (!tls_) return read();
    handshaking_ = true;
    tls_->async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](boost::system::error_code ec) {
      if (!self->handshake_over(ec, self->server_.stats_.tls_handshake_failures)) return;
      ++self->server_.stats_.tls_handshakes;
      // A resumed session (a ticket or the context's cache) skipped the key exchange and the
      // signature: operators see from the share whether phones resume.
      if (SSL_session_reused(self->tls_->native_handle()) == 1) ++self->server_.stats_.tls_resumed;
      if (auto pin = peer_certificate_pin(self->tls_->native_handle())) self->server_.pin_certificate(self->id_, *pin);
      if (!self->queue_.empty()) self->write_next();
      self->read();
    });
  }
  // A connection privox opens to a phone that listens (Server::open_connection). What is written
  // meanwhile is queued; a connection that fails, or takes longer than a handshake may, is dropped.
  void connect(const tcp::endpoint& to) {
    opened_us_ = last_active_us_ = server_.clock_.now_us();
    connecting_ = opened_here_ = true;
    socket_.async_connect(to, [self = shared_from_this()](boost::system::error_code ec) {
      if (self->dropped_) return;
      self->connecting_ = false;
      if (ec) {
        ++self->server_.stats_.tcp_open_failures;
        log::debug("sip", "tcp.closed", {{"connection", self->id_}, {"reason", "connect_failed"}});
        return self->server_.drop_connection(self->id_);
      }
      self->last_active_us_ = self->server_.clock_.now_us();
      no_delay(self->socket_);
      if (self->tls_) return self->handshake_as_client();
      if (!self->queue_.empty()) self->write_next();
      self->read();
    });
  }
  // On a connection privox opened to a TLS phone: the handshake as the client, then the phone's
  // certificate against the pin, before anything queued is written.
  void handshake_as_client() {
    handshaking_ = true;
    ++server_.handshaking_[SourceKey::of(peer_)];
    tls_->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this()](boost::system::error_code ec) {
      if (!self->handshake_over(ec, self->server_.stats_.tcp_open_failures)) return;
      if (peer_certificate_pin(self->tls_->native_handle()) != self->expected_pin_) {
        // Not the device that registered: whoever holds its address now gets no call of its line.
        ++self->server_.stats_.tls_pin_mismatches;
        log::warn("sip", "tls.closed", {{"connection", self->id_}, {"reason", "certificate_not_the_registered_one"}});
        return self->server_.drop_connection(self->id_);
      }
      if (!self->queue_.empty()) self->write_next();
      self->read();
    });
  }
  // A handshake ended, either way: false when the connection was dropped meanwhile, or is dropped now
  // for the error (counted in `failures`).
  bool handshake_over(const boost::system::error_code& ec, uint64_t& failures) {
    if (dropped_) return false;
    handshaking_ = false;
    server_.handshake_ended(peer_);
    if (!ec) return true;
    ++failures;
    log::debug("sip", "tls.closed", {{"connection", id_}, {"reason", "handshake_failed"}});
    server_.drop_connection(id_);
    return false;
  }
  bool handshaking() const override { return handshaking_; }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  void dropped() override {
    dropped_ = true;
    close();
  }
  const Peer& peer() const override { return peer_; }
  size_t buffer_bytes() const override { return buffer_.size(); }

  const char* overdue(int64_t now) const override {
    const TcpLimits& limits = server_.tcp_;
    if (now - last_active_us_ > limits.idle_us) return "idle";
    if (handshaking_ && now - opened_us_ > limits.handshake_us) return "handshake_too_slow";
    if (connecting_ && now - opened_us_ > limits.handshake_us) return "connect_too_slow";
    // The first-message deadline keeps idle strangers from holding connections; privox's own
    // connections are not strangers', and a phone may wait to be spoken to.
    if (!opened_here_ && messages_ == 0 && now - opened_us_ > limits.first_message_us) return "no_first_message";
    if (used_ > 0 && now - partial_since_us_ > limits.message_us) return "message_too_slow";
    return nullptr;
  }

  void write(std::string_view bytes) override {
    if (queued_bytes_ + bytes.size() > server_.tcp_.max_queued_bytes) {
      log::debug("sip", "tcp.closed", {{"connection", id_}, {"reason", "not_reading"}});
      return close();
    }
    const bool idle = queue_.empty();
    queue_.emplace_back(bytes);
    queued_bytes_ += bytes.size();
    if (idle && !handshaking_ && !connecting_) write_next();
  }

 private:
  // Grows the buffer so a read has room, within the server's budget; false when it may not.
  bool make_room() {
    if (buffer_.size() - used_ >= kReadChunk) return true;
    const size_t grown = used_ + kReadChunk;
    const size_t more = grown - buffer_.size();
    if (server_.buffered_bytes_ + more > server_.tcp_.max_buffered_bytes) return false;
    buffer_.resize(grown);
    server_.buffered_bytes_ += more;
    return true;
  }
  void shrink() {
    if (used_ != 0 || buffer_.size() <= kKeptBuffer) return;
    server_.buffered_bytes_ -= buffer_.size();
    std::vector<char>().swap(buffer_);
  }

  void read() {
    if (!make_room()) {
      ++server_.stats_.tcp_closed_memory;
      log::debug("sip", "tcp.closed", {{"connection", id_}, {"reason", "buffers_full"}});
      return server_.drop_connection(id_);
    }
    const auto into = asio::buffer(buffer_.data() + used_, buffer_.size() - used_);
    auto done = [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      if (self->dropped_) return;
      if (ec) return self->server_.drop_connection(self->id_);
      const int64_t now = self->server_.clock_.now_us();
      if (self->used_ == 0) self->partial_since_us_ = now;
      self->used_ += n;
      self->last_active_us_ = now;
      if (!self->drain(now)) return self->server_.drop_connection(self->id_);
      self->shrink();
      self->read();
    };
    if (tls_) tls_->async_read_some(into, std::move(done));
    else socket_.async_read_some(into, std::move(done));
  }

  // Hands every complete message on; false when the stream is garbage and must be closed.
  bool drain(int64_t now) {
    size_t start = 0;
    for (;;) {
      const std::string_view rest(buffer_.data() + start, used_ - start);
      const Frame frame = framer_.next(rest);
      if (frame.kind == Frame::incomplete) break;
      if (frame.kind == Frame::invalid) {
        if (frame.reason == "Message too large") ++server_.stats_.tcp_closed_memory;
        log::debug("sip", "tcp.closed",
                   {{"connection", id_},
                    {"reason", frame.reason == "Message too large" ? log::Code("too_large") : log::Code("bad_framing")}});
        return false;
      }
      if (frame.kind == Frame::message) {
        ++messages_;
        server_.dispatch(rest.substr(0, frame.length), peer_);
      }
      // RFC 5626 §4.4.1: a phone behind NAT keeps its flow open with a double-CRLF ping, which
      // the server answers with a single-CRLF pong; a pong (two bytes) needs no answer.
      if (frame.kind == Frame::keepalive && frame.length == 4) write("\r\n");
      start += frame.length;
    }
    if (start > 0) {
      std::memmove(buffer_.data(), buffer_.data() + start, used_ - start);
      used_ -= start;
      partial_since_us_ = now;  // what is left began arriving no earlier than this read
    }
    return true;
  }

  void write_next() {
    auto done = [self = shared_from_this()](boost::system::error_code ec, size_t) {
      if (ec) return self->close();
      self->queued_bytes_ -= self->queue_.front().size();
      self->queue_.pop_front();
      if (!self->queue_.empty()) self->write_next();
    };
    if (tls_) asio::async_write(*tls_, asio::buffer(queue_.front()), std::move(done));
    else asio::async_write(socket_, asio::buffer(queue_.front()), std::move(done));
  }

  Server& server_;
  tcp::socket socket_;
  // Held by the connection so a reload's new context never pulls this one's from under it.
  const std::shared_ptr<asio::ssl::context> tls_context_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;  // after socket_: destroyed before it
  const uint64_t id_;
  const Peer peer_;
  const std::optional<CertificatePin> expected_pin_;
  StreamFramer framer_;
  std::vector<char> buffer_;
  size_t used_ = 0;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  int64_t opened_us_ = 0;
  int64_t last_active_us_ = 0;
  int64_t partial_since_us_ = 0;  // when the first byte of the unfinished message arrived
  uint64_t messages_ = 0;
  bool dropped_ = false;
  bool handshaking_ = false;
  bool connecting_ = false;
  bool opened_here_ = false;  // privox opened it (connect), rather than accepting it
};

// SIP over a WebSocket (RFC 7118) that the portal opened for a softphone: each WebSocket message is
// one SIP message, so there is no framing; the channel enforces the size limit, its pings keep it
// alive, and it ends when the portal session that opened it does (http/server.h, Upgrade).
class Server::WebSocketConnection final : public Connection,
                                          public std::enable_shared_from_this<WebSocketConnection> {
 public:
  WebSocketConnection(Server& server, std::shared_ptr<MessageChannel> channel, uint64_t id, const Peer& peer,
                      FlowCredential credential)
      : server_(server), channel_(std::move(channel)), id_(id), peer_(peer), credential_(std::move(credential)) {}

  void start() {
    opened_us_ = server_.clock_.now_us();
    std::weak_ptr<WebSocketConnection> weak = weak_from_this();
    channel_->start(
        [weak](std::string_view message) {
          const auto self = weak.lock();
          if (!self || self->dropped_) return;
          ++self->messages_;
          self->server_.dispatch(message, self->peer_);
        },
        [weak] {
          const auto self = weak.lock();
          if (self && !self->dropped_) self->server_.drop_connection(self->id_);
        });
  }
  const Peer& peer() const override { return peer_; }
  void write(std::string_view bytes) override { channel_->send(bytes); }
  void dropped() override {
    dropped_ = true;
    channel_->close();
  }
  const char* overdue(int64_t now) const override {
    if (messages_ == 0 && now - opened_us_ > server_.tcp_.first_message_us) return "no_first_message";
    return nullptr;
  }
  const FlowCredential* credential() const override { return &credential_; }

 private:
  Server& server_;
  std::shared_ptr<MessageChannel> channel_;
  const uint64_t id_;
  const Peer peer_;
  const FlowCredential credential_;
  int64_t opened_us_ = 0;
  uint64_t messages_ = 0;
  bool dropped_ = false;
};

Server::Server(asio::io_context& io, TimerQueue& timers, const Clock& clock, TcpLimits tcp)
    : timers_(timers), clock_(clock), tcp_(tcp), udp_(io), acceptor_(io), tls_acceptor_(io), tls_accept_timer_(io),
      timer_(io), accept_timer_(io),
      udp_buffer_(new char[kMaxDatagram]) {}

Server::~Server() { stop(); }

// Opens the UDP socket and the TCP listener on one port. With port 0 the kernel picks the UDP
// port, and the TCP side of that number may already be taken by someone else.
boost::system::error_code Server::bind_both(const asio::ip::address& address, uint16_t port) {
  boost::system::error_code ec;
  udp_.open(address.is_v4() ? udp::v4() : udp::v6(), ec);
  if (!ec) udp_.bind({address, port}, ec);
  if (!ec) udp_.non_blocking(true, ec);
  if (!ec) {
    boost::system::error_code ignored;  // a smaller receive buffer than asked for is not fatal
    udp_.set_option(asio::socket_base::receive_buffer_size(8 << 20), ignored);
    port_ = udp_.local_endpoint().port();
    acceptor_.open(address.is_v4() ? tcp::v4() : tcp::v6(), ec);
  }
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind({address, port_}, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    udp_.close(ignored);
    acceptor_.close(ignored);
  }
  return ec;
}

Status Server::listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return invalid("sip", fmt::format("'{}' is not an IP address", host));
  // A picked port is retried a few times when its TCP twin is busy; a named port is not.
  const int attempts = port == 0 ? 16 : 1;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    ec = bind_both(address, port);
    if (ec != asio::error::address_in_use) break;
  }
  if (ec)
    return make_error(ErrorCode::unavailable, fmt::format("cannot listen for SIP on {}:{}: {}", host, port, ec.message()));
  host_ = address.is_v6() ? fmt::format("[{}]", address.to_string()) : address.to_string();
  receive_udp();
  accept_tcp();
  sweep_connections();
  return {};
}

Status Server::listen_tls(const std::string& host, uint16_t port, TlsContexts contexts) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return invalid("sip-tls", fmt::format("'{}' is not an IP address", host));
  tls_acceptor_.open(address.is_v4() ? tcp::v4() : tcp::v6(), ec);
  if (!ec) tls_acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) tls_acceptor_.bind({address, port}, ec);
  if (!ec) tls_acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    tls_acceptor_.close(ignored);
    return make_error(ErrorCode::unavailable,
                      fmt::format("cannot listen for SIP over TLS on {}:{}: {}", host, port, ec.message()));
  }
  tls_port_ = tls_acceptor_.local_endpoint().port();
  tls_ = std::move(contexts);
  accept_tls();
  return {};
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  udp_.close(ignored);
  acceptor_.close(ignored);
  tls_acceptor_.close(ignored);
  timer_.cancel();
  accept_timer_.cancel();
  tls_accept_timer_.cancel();
  for (auto& [id, c] : connections_) c->dropped();
  connections_.clear();
  connection_at_.clear();
  per_source_.clear();
  handshaking_.clear();
  buffered_bytes_ = 0;
}

void Server::receive_udp() {
  udp_.async_receive_from(asio::buffer(udp_buffer_.get(), kMaxDatagram), udp_from_,
                          [this](boost::system::error_code ec, size_t n) {
                            if (ec == asio::error::operation_aborted || stopped_) return;
                            if (!ec) receive_datagram(std::string_view(udp_buffer_.get(), n), to_peer(udp_from_, TransportKind::udp));
                            receive_udp();
                          });
}

void Server::receive_datagram(std::string_view bytes, const Peer& from) {
  if (!looks_like_stun(bytes)) return dispatch(bytes, from);
  // A SIP Outbound keep-alive (sip/stun.h): answered, within the source's request rate.
  ++stats_.received;
  if (guard_ && !guard_->admit(from, true, clock_.now_us())) {
    ++stats_.dropped;
    return;
  }
  const std::optional<std::string> answer = stun_binding_response(bytes, from);
  if (!answer) {
    ++stats_.malformed;
    return;
  }
  ++stats_.stun_answered;
  boost::system::error_code ec;
  udp_.send_to(asio::buffer(*answer), to_udp(from), 0, ec);
  if (ec) ++stats_.send_errors;
}

void Server::dispatch(std::string_view bytes, const Peer& from) {
  ++stats_.received;
  if (bytes.find_first_not_of("\r\n") == std::string_view::npos) return;  // keep-alive
  const int64_t now = guard_ ? clock_.now_us() : 0;
  if (guard_ && !guard_->admit(from, !looks_like_response(bytes), now)) {
    ++stats_.dropped;
    return;
  }
  ParseError error;
  if (!parse_message(bytes, message_, error)) {
    ++stats_.malformed;
    // Only a request gets an answer, and only when one can be formed (RFC 3261 §16.3, §18.1.2).
    if (error.can_respond) send(from, build_bad_request(bytes, error.status, error.reason));
  } else if (guard_ && message_.is_request() && !guard_->admit_request(message_, from, now)) {
    ++stats_.dropped;
    return;
  } else if (sink_) {
    if (message_.is_request()) ++stats_.requests[static_cast<size_t>(message_.method())];
    sink_->on_message(message_, from);
  }
  reschedule_timers();
}

namespace {

// The method of a response's CSeq ("CSeq: 4711 INVITE", any case of the name), read off the bytes
// about to be sent: a scan of line starts, for the metrics, on the worker thread.
Method sent_response_method(std::string_view bytes) {
  for (size_t at = bytes.find('\n'); at != std::string_view::npos && at + 1 < bytes.size(); at = bytes.find('\n', at + 1)) {
    std::string_view line = bytes.substr(at + 1);
    if (line.starts_with("\r\n") || line.starts_with("\n")) break;  // end of the headers
    if (line.size() < 5 || (line[0] | 0x20) != 'c' || (line[1] | 0x20) != 's' || (line[2] | 0x20) != 'e' ||
        (line[3] | 0x20) != 'q')
      continue;
    line.remove_prefix(4);
    line = line.substr(0, line.find_first_of("\r\n"));
    const size_t colon = line.find_first_not_of(" \t");
    if (colon == std::string_view::npos || line[colon] != ':') continue;
    line.remove_prefix(colon + 1);
    const size_t number = line.find_first_not_of(" \t");
    if (number == std::string_view::npos) return Method::unknown;
    line.remove_prefix(number);
    const size_t space = line.find_first_of(" \t");
    if (space == std::string_view::npos) return Method::unknown;
    line.remove_prefix(space);
    const size_t method = line.find_first_not_of(" \t");
    if (method == std::string_view::npos) return Method::unknown;
    line.remove_prefix(method);
    return parse_method(line.substr(0, line.find_first_of(" \t")));
  }
  return Method::unknown;
}

}  // namespace

void Server::count_sent(std::string_view bytes) {
  if (bytes.size() < 12 || !bytes.starts_with("SIP/2.0 ")) return;
  const char c = bytes[8];
  if (c < '1' || c > '6') return;
  ++stats_.responses[static_cast<size_t>(sent_response_method(bytes))][static_cast<size_t>(c - '1')];
}

void Server::send(const Peer& to, std::string_view bytes) {
  ++stats_.sent;
  count_sent(bytes);
  if (to.transport == TransportKind::udp) {
    boost::system::error_code ec;
    udp_.send_to(asio::buffer(bytes.data(), bytes.size()), to_udp(to), 0, ec);
    if (ec) ++stats_.send_errors;
    return;
  }
  auto it = connections_.find(to.connection);
  if (it == connections_.end()) {
    // A URI named the peer, or its connection has closed: a connection from (or to) that address.
    const auto at = connection_at_.find({to.transport, to.address, to.port});
    if (at != connection_at_.end()) it = connections_.find(at->second);
  }
  if (it != connections_.end()) return it->second->write(bytes);
  if (to.listens && (to.transport == TransportKind::tcp || to.transport == TransportKind::tls) && !stopped_)
    return open_connection(to, bytes);
  ++stats_.send_errors;  // the connection is gone; the peer's retransmission or a new one recovers
}

void Server::open_connection(const Peer& to, std::string_view bytes) {
  std::shared_ptr<asio::ssl::context> context;
  std::optional<CertificatePin> pin;
  if (to.transport == TransportKind::tls) {
    // The certificate the phone registered with, kept by the connection it registered over.
    const auto kept = pins_.find(to.connection);
    if (!tls_.client || kept == pins_.end()) {
      ++stats_.tls_unpinned;
      ++stats_.send_errors;
      return;
    }
    context = tls_.client;
    pin = kept->second.pin;
  }
  const SourceKey source = SourceKey::of(to);
  if (!may_hold_another(to, source)) {
    ++stats_.send_errors;
    return;
  }
  ++per_source_[source];
  Peer peer = to;
  peer.connection = next_connection_++;
  auto connection = std::make_shared<TcpConnection>(*this, tcp::socket(acceptor_.get_executor()), peer.connection,
                                                    peer, std::move(context), pin);
  connections_.emplace(peer.connection, connection);
  connection_at_[{peer.transport, peer.address, peer.port}] = peer.connection;
  ++stats_.tcp_opened;
  log::debug("sip", "tcp.opened", {{"connection", peer.connection}});
  connection->connect(to_endpoint<tcp::endpoint>(peer));
  connection->write(bytes);  // queued until it connects
}

bool Server::may_hold_another(const Peer& peer, const SourceKey& source) {
  const auto held = per_source_.find(source);
  return connections_.size() < tcp_.max_connections &&
         (held == per_source_.end() || held->second < tcp_.max_per_source) &&
         !(guard_ && guard_->banned(peer, clock_.now_us()));
}

void Server::accept_tcp() {
  if (injected_accept_failures_ > 0) {
    --injected_accept_failures_;
    // As the acceptor would: the handler runs later, never inside this call.
    return asio::post(acceptor_.get_executor(), [this] {
      if (stopped_) return;
      back_off_accepting(boost::system::error_code(injected_accept_errno_, boost::system::system_category()));
    });
  }
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopped_) return;
    if (ec) return back_off_accepting(ec);
    accept_backoff_.succeeded();
    accepted(std::move(socket), false);
    accept_tcp();
  });
}

void Server::accept_tls() {
  tls_acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopped_) return;
    if (!ec) {
      accepted(std::move(socket), true);
      return accept_tls();
    }
    // Out of descriptors, say: the TCP listener's back-off logs it; this one pauses a little
    // rather than spin on the same pending connection.
    ++stats_.accept_errors;
    tls_accept_timer_.expires_after(std::chrono::milliseconds(100));
    tls_accept_timer_.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec && !stopped_) accept_tls();
    });
  });
}

void Server::accepted(tcp::socket socket, bool tls) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // gone already; the socket closes as it goes out of scope
  const uint64_t id = next_connection_++;
  const Peer peer = to_peer(remote, tls ? TransportKind::tls : TransportKind::tcp, id);
  const SourceKey source = SourceKey::of(peer);
  // Past a cap, or banned: closed at once, which keeps the backlog moving. The peer may try again
  // once idle connections are swept or its handshakes end.
  const auto handshakes = handshaking_.find(source);
  const bool handshakes_full = tls && handshakes != handshaking_.end() && handshakes->second >= tcp_.max_handshakes_per_source;
  if (handshakes_full || !may_hold_another(peer, source)) {
    ++stats_.tcp_refused;
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  ++per_source_[source];
  if (tls) ++handshaking_[source];
  no_delay(socket);
  auto connection = std::make_shared<TcpConnection>(*this, std::move(socket), id, peer,
                                                    tls ? tls_.server : std::shared_ptr<asio::ssl::context>());
  connections_.emplace(id, connection);
  connection_at_[{peer.transport, peer.address, peer.port}] = id;
  connection->start();
}

void Server::attach_websocket(std::shared_ptr<MessageChannel> channel, FlowCredential credential) {
  Peer peer;
  const TransportKind kind = channel->secure() ? TransportKind::wss : TransportKind::ws;
  if (stopped_ || !Peer::parse(channel->remote_address(), channel->remote_port(), kind, peer)) return channel->close();
  peer.connection = next_connection_++;
  const SourceKey source = SourceKey::of(peer);
  if (!may_hold_another(peer, source)) {
    ++stats_.tcp_refused;
    return channel->close();
  }
  ++per_source_[source];
  auto connection =
      std::make_shared<WebSocketConnection>(*this, std::move(channel), peer.connection, peer, std::move(credential));
  connections_.emplace(peer.connection, connection);
  connection->start();
}

const FlowCredential* Server::credential_of(const Peer& peer) const {
  if (!peer.websocket()) return nullptr;
  const auto it = connections_.find(peer.connection);
  return it == connections_.end() ? nullptr : it->second->credential();
}

void Server::handshake_ended(const Peer& peer) {
  const auto it = handshaking_.find(SourceKey::of(peer));
  if (it != handshaking_.end() && --it->second == 0) handshaking_.erase(it);
}

void Server::back_off_accepting(const boost::system::error_code& ec) {
  // Without the pause, a listener out of descriptors is woken again at once by the same pending
  // connection, and spins (common/accept_backoff.h, as the portal's listener does).
  ++stats_.accept_errors;
  const int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  const AcceptBackoff::Step step = accept_backoff_.failed(ec.value(), now_us);
  if (step.log)
    log::warn("sip", "tcp.accept_failing",
              {{"errno", ec.value()}, {"wait_ms", step.wait_us / 1000}, {"suppressed", step.suppressed},
               {"connections", connections_.size()}});
  if (step.wait_us == 0) return accept_tcp();
  accept_timer_.expires_after(std::chrono::microseconds(step.wait_us));
  accept_timer_.async_wait([this](boost::system::error_code wait_ec) {
    if (wait_ec || stopped_) return;
    accept_tcp();
  });
}

void Server::drop_connection(uint64_t id) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  const std::shared_ptr<Connection> connection = it->second;
  connections_.erase(it);
  const Peer& gone = connection->peer();
  if (const auto at = connection_at_.find({gone.transport, gone.address, gone.port}); at != connection_at_.end() && at->second == id)
    connection_at_.erase(at);
  if (connection->handshaking()) handshake_ended(connection->peer());
  retire_pin(id);
  connection->dropped();
  buffered_bytes_ -= std::min(buffered_bytes_, connection->buffer_bytes());
  const auto held = per_source_.find(SourceKey::of(connection->peer()));
  if (held != per_source_.end() && --held->second == 0) per_source_.erase(held);
}

std::optional<CertificatePin> Server::certificate_of(const Peer& peer) const {
  if (peer.transport != TransportKind::tls) return std::nullopt;
  const auto it = pins_.find(peer.connection);
  if (it == pins_.end()) return std::nullopt;
  return it->second.pin;
}

uint64_t Server::adopt_pin(const CertificatePin& pin, int64_t until_us) {
  const uint64_t id = next_connection_++;
  pins_[id].pin = pin;
  keep_pin_until(id, until_us);  // out of order at worst: kept a little longer
  return id;
}

void Server::pin_certificate(uint64_t id, const CertificatePin& pin) {
  pins_[id] = {pin, TimerQueue::kNever};
}

void Server::retire_pin(uint64_t id) {
  const auto it = pins_.find(id);
  if (it == pins_.end()) return;
  keep_pin_until(id, clock_.now_us() + tcp_.pin_kept_us);
}

void Server::keep_pin_until(uint64_t id, int64_t until_us) {
  pins_[id].until_us = until_us;
  pin_expiry_.emplace_back(until_us, id);
  for (; pin_expiry_.size() > tcp_.max_kept_pins; pin_expiry_.pop_front()) pins_.erase(pin_expiry_.front().second);
}

void Server::forget_pins(int64_t now) {
  for (; !pin_expiry_.empty() && pin_expiry_.front().first <= now; pin_expiry_.pop_front())
    pins_.erase(pin_expiry_.front().second);
}

void Server::sweep_connections() {
  const int64_t now = clock_.now_us();
  forget_pins(now);
  std::vector<uint64_t> overdue;
  for (const auto& [id, connection] : connections_) {
    if (const char* why = connection->overdue(now)) {
      overdue.push_back(id);
      if (std::string_view(why) != "idle") ++stats_.tcp_closed_slow;
      log::debug("sip", "tcp.closed", {{"connection", id}, {"reason", log::Code(why)}});
    }
  }
  for (const uint64_t id : overdue) drop_connection(id);
  timers_.schedule(now + tcp_.sweep_every_us, [this] {
    if (!stopped_) sweep_connections();
  });
}

void Server::reschedule_timers() {
  const int64_t due = timers_.next_due();
  if (due == timer_due_) return;
  timer_due_ = due;
  if (due == TimerQueue::kNever) {
    timer_.cancel();
    return;
  }
  const int64_t delay = std::max<int64_t>(0, due - clock_.now_us());
  timer_.expires_after(std::chrono::microseconds(delay));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    on_timer();
  });
}

void Server::on_timer() {
  timer_due_ = TimerQueue::kNever;
  timers_.run_due(clock_.now_us());
  reschedule_timers();
}

}  // namespace privox::sip
