#pragma once
// A connection that carries whole messages, as a WebSocket does (RFC 6455): what the portal's HTTP
// server (http/websocket.*) hands the SIP server (sip/server.h) for SIP over WebSocket (RFC 7118).
// It lives here, below both, so that neither folder needs the other: the HTTP server makes
// channels, the SIP server reads and writes them, and the composition root (cli/serve.cpp) joins
// the two through a ChannelAcceptor.
//
// Thread-safety: a channel's callbacks run on its I/O thread, one at a time; send() and close()
// may be called from any thread and are carried out there.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace privox {

class MessageChannel {
 public:
  virtual ~MessageChannel() = default;

  // Begins reading. `on_message` gets each text message as it arrives; `on_closed` is called once,
  // when the channel ends for any reason (the peer closed it, a timeout, close()), and no message
  // follows it.
  virtual void start(std::function<void(std::string_view)> on_message, std::function<void()> on_closed) = 0;
  // Queues one message; messages go out in the order sent. A channel whose peer stops reading is
  // closed once too much is queued.
  virtual void send(std::string_view message) = 0;
  virtual void close() = 0;

  // The peer's IP address ("192.0.2.7", "2001:db8::7") and port, and whether the channel is
  // encrypted (a WebSocket upgraded from HTTPS, "wss").
  virtual const std::string& remote_address() const = 0;
  virtual uint16_t remote_port() const = 0;
  virtual bool secure() const = 0;
};

// Who a channel speaks for, established before it was opened (the portal's session, for the
// softphone): the line's SIP user and the short-lived password the browser was given for it.
struct ChannelIdentity {
  std::string sip_user;
  std::string password;
};

// Takes channels over once they are open.
class ChannelAcceptor {
 public:
  virtual ~ChannelAcceptor() = default;
  // Any thread. The acceptor starts the channel; a channel it cannot take it closes.
  virtual void adopt(std::shared_ptr<MessageChannel> channel, ChannelIdentity identity) = 0;
};

}  // namespace privox
