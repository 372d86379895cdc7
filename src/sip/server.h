#pragma once
// The SIP server's network side: one UDP socket and one TCP listener on the same address,
// both on the caller's io_context. It parses what arrives (answering a malformed but answerable
// request 400 with the parser's reason), hands valid messages to a MessageSink, and sends what
// the transaction layer gives it. It also drives the worker's TimerQueue from the event loop.
//
// Thread-safety: everything runs on the io_context's single thread.

#include <utility>  // Boost 1.74's Asio needs this before it in C++20 mode

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "common/result.h"
#include "sip/message.h"
#include "sip/timer_queue.h"
#include "sip/transport.h"

namespace privox::sip {

// Receives every valid message; the transaction layer in production.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void on_message(const Message& message, const Peer& from) = 0;
};

struct ServerStats {
  uint64_t received = 0;
  uint64_t malformed = 0;
  uint64_t sent = 0;
  uint64_t send_errors = 0;
};

class Server final : public Sender {
 public:
  Server(boost::asio::io_context& io, TimerQueue& timers, const Clock& clock);
  ~Server() override;

  void set_sink(MessageSink* sink) { sink_ = sink; }
  // Binds UDP and TCP on host:port (port 0 picks one free port for both when it can).
  Status listen(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  // The address other peers should use to reach this server, for Via and Record-Route.
  const std::string& advertised_host() const { return host_; }
  void stop();

  void send(const Peer& to, std::string_view bytes) override;
  // Re-arms the event-loop timer after the TimerQueue changed outside a receive.
  void reschedule_timers();
  const ServerStats& stats() const { return stats_; }

 private:
  class TcpConnection;

  boost::system::error_code bind_both(const boost::asio::ip::address& address, uint16_t port);

  void receive_udp();
  void dispatch(std::string_view bytes, const Peer& from);
  void accept_tcp();
  // Closes TCP connections idle too long, then schedules itself again.
  void sweep_idle_connections();
  void on_timer();

  TimerQueue& timers_;
  const Clock& clock_;
  MessageSink* sink_ = nullptr;
  boost::asio::ip::udp::socket udp_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer timer_;
  int64_t timer_due_ = TimerQueue::kNever;
  std::string host_;
  uint16_t port_ = 0;
  std::unique_ptr<char[]> udp_buffer_;
  boost::asio::ip::udp::endpoint udp_from_;
  Message message_;  // reused for every message: a Message is large, and parsing never nests
  uint64_t next_connection_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<TcpConnection>> connections_;
  ServerStats stats_;
  bool stopped_ = false;
};

}  // namespace privox::sip
