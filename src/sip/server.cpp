#include "sip/server.h"

#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <deque>

#include "sip/builder.h"

namespace privox::sip {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;

constexpr size_t kMaxDatagram = 65535;
constexpr size_t kMaxStreamMessage = 65535;
// A TCP peer may hold a connection only while it uses it (phones send CRLF keep-alives well within
// this), may not make privox queue more than this much for it, and there are only so many.
constexpr int64_t kTcpIdleUs = 300'000'000;
constexpr size_t kMaxQueuedBytes = 1 << 20;
constexpr size_t kMaxTcpConnections = 10'000;

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

udp::endpoint to_udp(const Peer& p) {
  if (p.ipv6) {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), p.address.data(), 16);
    return {asio::ip::address_v6(b), p.port};
  }
  asio::ip::address_v4::bytes_type b;
  std::memcpy(b.data(), p.address.data(), 4);
  return {asio::ip::address_v4(b), p.port};
}

}  // namespace

// One TCP connection: frames the stream into messages and queues writes.
class Server::TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(Server& server, tcp::socket socket, uint64_t id) : server_(server), socket_(std::move(socket)), id_(id) {
    boost::system::error_code ec;
    peer_ = to_peer(socket_.remote_endpoint(ec), TransportKind::tcp, id);
  }

  void start() {
    last_active_us_ = server_.clock_.now_us();
    read();
  }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  int64_t last_active_us() const { return last_active_us_; }

  void write(std::string_view bytes) {
    if (queued_bytes_ + bytes.size() > kMaxQueuedBytes) {
      spdlog::debug("sip: closing TCP connection from {}: it does not read what it is sent", peer_.host_port());
      return close();
    }
    const bool idle = queue_.empty();
    queue_.emplace_back(bytes);
    queued_bytes_ += bytes.size();
    if (idle) write_next();
  }

 private:
  void read() {
    if (buffer_.size() - used_ < 16384) buffer_.resize(buffer_.size() + 16384);
    socket_.async_read_some(asio::buffer(buffer_.data() + used_, buffer_.size() - used_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              if (ec) return self->server_.connections_.erase(self->id_), void();
                              self->used_ += n;
                              self->last_active_us_ = self->server_.clock_.now_us();
                              if (!self->drain()) return self->close(), self->server_.connections_.erase(self->id_), void();
                              self->read();
                            });
  }

  // Hands every complete message on; false when the stream is garbage and must be closed.
  bool drain() {
    size_t start = 0;
    for (;;) {
      const std::string_view rest(buffer_.data() + start, used_ - start);
      const Frame frame = frame_stream(rest, kMaxStreamMessage);
      if (frame.kind == Frame::incomplete) break;
      if (frame.kind == Frame::invalid) {
        spdlog::debug("sip: closing TCP connection from {}: {}", peer_.host_port(), frame.reason);
        return false;
      }
      if (frame.kind == Frame::message) server_.dispatch(rest.substr(0, frame.length), peer_);
      start += frame.length;
    }
    std::memmove(buffer_.data(), buffer_.data() + start, used_ - start);
    used_ -= start;
    return true;
  }

  void write_next() {
    asio::async_write(socket_, asio::buffer(queue_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (ec) return self->close();
                        self->queued_bytes_ -= self->queue_.front().size();
                        self->queue_.pop_front();
                        if (!self->queue_.empty()) self->write_next();
                      });
  }

  Server& server_;
  tcp::socket socket_;
  const uint64_t id_;
  Peer peer_;
  std::vector<char> buffer_;
  size_t used_ = 0;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  int64_t last_active_us_ = 0;
};

Server::Server(asio::io_context& io, TimerQueue& timers, const Clock& clock)
    : timers_(timers), clock_(clock), udp_(io), acceptor_(io), timer_(io),
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
  sweep_idle_connections();
  return {};
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  udp_.close(ignored);
  acceptor_.close(ignored);
  timer_.cancel();
  for (auto& [id, c] : connections_) c->close();
  connections_.clear();
}

void Server::receive_udp() {
  udp_.async_receive_from(asio::buffer(udp_buffer_.get(), kMaxDatagram), udp_from_,
                          [this](boost::system::error_code ec, size_t n) {
                            if (ec == asio::error::operation_aborted || stopped_) return;
                            if (!ec) dispatch(std::string_view(udp_buffer_.get(), n), to_peer(udp_from_, TransportKind::udp));
                            receive_udp();
                          });
}

void Server::dispatch(std::string_view bytes, const Peer& from) {
  ++stats_.received;
  if (bytes.find_first_not_of("\r\n") == std::string_view::npos) return;  // keep-alive
  ParseError error;
  if (!parse_message(bytes, message_, error)) {
    ++stats_.malformed;
    // Only a request gets an answer, and only when one can be formed (RFC 3261 §16.3, §18.1.2).
    if (error.can_respond) send(from, build_bad_request(bytes, error.status, error.reason));
  } else if (sink_) {
    sink_->on_message(message_, from);
  }
  reschedule_timers();
}

void Server::send(const Peer& to, std::string_view bytes) {
  ++stats_.sent;
  if (to.transport == TransportKind::udp) {
    boost::system::error_code ec;
    udp_.send_to(asio::buffer(bytes.data(), bytes.size()), to_udp(to), 0, ec);
    if (ec) ++stats_.send_errors;
    return;
  }
  const auto it = connections_.find(to.connection);
  if (it == connections_.end()) {
    ++stats_.send_errors;  // the connection is gone; the peer's retransmission or a new one recovers
    return;
  }
  it->second->write(bytes);
}

void Server::accept_tcp() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopped_) return;
    if (!ec && connections_.size() >= kMaxTcpConnections) {
      boost::system::error_code ignored;
      socket.close(ignored);  // at the limit: new connections wait for idle ones to be swept
    } else if (!ec) {
      const uint64_t id = next_connection_++;
      auto connection = std::make_shared<TcpConnection>(*this, std::move(socket), id);
      connections_.emplace(id, connection);
      connection->start();
    }
    accept_tcp();
  });
}

void Server::sweep_idle_connections() {
  const int64_t now = clock_.now_us();
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (now - it->second->last_active_us() > kTcpIdleUs) {
      it->second->close();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
  timers_.schedule(now + kTcpIdleUs / 10, [this] {
    if (!stopped_) sweep_idle_connections();
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
