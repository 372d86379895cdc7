#pragma once
// A small HTTP/1.1 server on Boost.Beast: it accepts connections (plain or TLS), reads requests
// with size and time limits, hands each to a Router on a pool of handler threads and writes the
// answer with privox's security headers. The portal's API and pages are routes on it; `GET
// /healthz` is the first.
//
// Descriptors are a shared resource (the io_context is SIP's too): connections are capped overall
// and per client (ServerOptions), and when accept() fails for want of descriptors or memory the
// listener waits, longer each time, and logs at most one line per interval (common/accept_backoff.h)
// instead of spinning. The process's descriptor limit must cover the caps (common/fd_limit.h).
//
// Thread-safety: connections run on the io_context's thread(s); handlers run on the server's
// handler pool (ServerOptions::handler_threads), so a handler may block on the store without
// stalling the accept loop or SIP. A Router is immutable once the server has it.

#include <utility>  // Boost 1.74's Asio misses this include in C++20 mode; keep it first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/message_channel.h"
#include "common/result.h"

namespace privox::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "127.0.0.1:8080", "[::1]:8080" or "localhost:0"; names the flag in its error.
Result<HostPort> parse_host_port(std::string_view text, std::string_view flag);

// One request as a handler sees it: the request, its path split from the query string, the
// values of the route's `{name}` segments, and who sent it.
class Exchange {
 public:
  Exchange(const Request& request, std::string client_address, bool tls);

  const Request& request() const { return request_; }
  bhttp::verb method() const { return request_.method(); }
  std::string_view path() const { return path_; }
  std::string_view query() const { return query_; }
  // The client's IP address as text ("203.0.113.7", "2001:db8::1"); empty when unknown.
  const std::string& client_address() const { return client_; }
  bool tls() const { return tls_; }

  // A `{name}` segment of the matched route; empty when the route has none of that name.
  std::string_view param(std::string_view name) const;
  // The first query parameter of that name, percent-decoded; nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
  // The named cookie from the Cookie header; nullopt when absent.
  std::optional<std::string> cookie(std::string_view name) const;
  // A request header's value; empty when absent.
  std::string_view header(std::string_view name) const;

  std::map<std::string, std::string, std::less<>>& params_for_router() { return params_; }

 private:
  const Request& request_;
  std::string_view path_, query_;
  std::string client_;
  bool tls_ = false;
  std::map<std::string, std::string, std::less<>> params_;
};

using Handler = std::function<Response(const Exchange&)>;

// What a WebSocket route (Router::add_websocket) decides about one upgrade request, on the
// handler pool (it may read the store). With a refusal, that is the answer and no WebSocket opens.
// Otherwise the server completes the handshake, naming `subprotocol` in Sec-WebSocket-Protocol,
// and hands the open channel to `opened` on the I/O thread. Every `recheck_every_s` seconds it
// asks `still_allowed` (on the pool) and closes the channel at the first false: what let it open,
// a portal session say, has ended.
struct Upgrade {
  std::optional<Response> refusal;
  std::string subprotocol;
  std::function<void(std::shared_ptr<MessageChannel>)> opened;
  std::function<bool()> still_allowed;
  int64_t recheck_every_s = 30;
};
using UpgradeHandler = std::function<Upgrade(const Exchange&)>;

Response json_response(bhttp::status status, const nlohmann::json& body);
// {"error": {"message": ..., "field": ...}}; `field` is left out when empty.
Response json_error(bhttp::status status, std::string_view message, std::string_view field = {});

// Routes are paths whose segments may be `{name}` parameters ("/api/v1/consents/{purpose}"). A
// literal segment wins over a parameter. HEAD is answered by the GET handler.
class Router {
 public:
  struct Route {
    bhttp::verb method;
    std::string pattern;
  };

  void add(bhttp::verb method, const std::string& pattern, Handler handler);
  // A path (no parameters) that takes WebSocket upgrades (RFC 6455) besides, or instead of, its
  // HTTP routes: a GET with Upgrade: websocket to it goes to `handler`.
  void add_websocket(const std::string& path, UpgradeHandler handler);
  // The decision for an upgrade request, or nullopt when its path takes none (it is then an HTTP
  // request like any other). Observed and logged as dispatch() is, with status 101 when accepted.
  std::optional<Upgrade> upgrade(const Request& request, const std::string& client_address, bool tls) const;

  // Answers requests that match no route (static pages); without one they get a JSON 404.
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }

  // 400 naming "path" or "query" when either, raw or percent-decoded, is not UTF-8 (the bytes are
  // not echoed); 404 for an unknown path, 405 (with Allow) for a known path and another method; a
  // handler's exception becomes a 500 whose body says nothing of it.
  Response dispatch(const Request& request, const std::string& client_address = {}, bool tls = false) const;

  // Every route, in the order added: for the API document check and the isolation test.
  std::vector<Route> routes() const;

  // Called after every dispatch, on the handler's thread, with the route's template (never the raw
  // path: "/api/v1/consents/{purpose}"), or one of the kRoute* names below, and the status sent.
  // For metrics; set before the server has the router.
  using Observer = std::function<void(bhttp::verb method, std::string_view route, unsigned status)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }
  static constexpr std::string_view kRouteFallback = "fallback";    // the static pages
  static constexpr std::string_view kRouteUnmatched = "unmatched";  // no route, no fallback: 404
  static constexpr std::string_view kRouteRejected = "rejected";    // refused before routing (not UTF-8)

 private:
  Response route_request(const Request& request, const std::string& client_address, bool tls,
                         std::string_view& route) const;
  struct Entry {
    std::vector<std::string> segments;
    std::string pattern;
    std::map<bhttp::verb, Handler> handlers;
  };
  const Entry* match(std::string_view path, Exchange& exchange) const;

  std::vector<Entry> entries_;
  std::map<std::string, UpgradeHandler, std::less<>> websockets_;
  Handler fallback_;
  Observer observer_;
};

struct TlsFiles {
  std::string cert_path;  // PEM certificate chain
  std::string key_path;   // PEM private key
};

struct ServerOptions {
  size_t handler_threads = 4;
  size_t max_body_bytes = 1 << 20;
  // Connections held open at once, overall and per client, a client being an IPv4 address or an
  // IPv6 /64 (one subscriber's usual allocation, so rotating addresses within it gains nothing).
  // Past the per-client cap a new connection is answered 503 and closed. Past the overall cap it
  // displaces the connection that has waited longest for a request (an idle keep-alive, a silent
  // or slow client), so a flood of idle connections cannot keep /healthz or a real user out; only
  // when every connection is busy with a request is the new one answered 503 and closed.
  size_t max_connections = 1024;
  size_t max_connections_per_client = 64;
  std::optional<TlsFiles> tls;  // absent: plain HTTP
  // Origins the pages may also connect to (the payment provider, the softphone's WebSocket), added
  // to CSP connect-src.
  std::vector<std::string> connect_origins;
  // A WebSocket's largest message, and what may wait to be written to one peer before the channel
  // is closed as not reading.
  size_t max_websocket_message_bytes = size_t{64} * 1024;
  size_t max_websocket_queued_bytes = 1 << 20;
};

// What a server's listener has done since it started (for the log and tests).
struct ServerCounters {
  uint64_t accepted = 0;            // connections admitted
  uint64_t refused_per_client = 0;  // closed at once: their client was at max_connections_per_client
  uint64_t refused_full = 0;        // closed at once: max_connections, and none waiting to displace
  uint64_t displaced = 0;           // waiting connections closed to admit a new one
  uint64_t accept_errors = 0;       // failed accept() calls (EMFILE and the like)
  size_t open = 0;                  // connections open now
};

// The key a client's connections are counted under: the IPv4 address ("203.0.113.7"; an
// IPv4-mapped IPv6 address counts as its IPv4 address), or the /64 of an IPv6 one
// ("2001:db8:1:2::/64").
std::string client_key(const boost::asio::ip::address& address);
// The same for an address as text (Exchange::client_address); text that is no address is its own key.
std::string client_key(std::string_view address);

// The security headers every response carries, given the extra connect-src origins.
void add_security_headers(Response& res, const std::vector<std::string>& connect_origins);

class Server {
 public:
  Server(boost::asio::io_context& io, Router router, ServerOptions options = {});
  ~Server();
  // Binds and starts accepting. Port 0 picks a free port; local_port() tells which. Fails
  // (unavailable) when the address cannot be bound, (invalid_argument on "tls-cert"/"tls-key")
  // when the certificate or key cannot be loaded.
  Status listen(const HostPort& at);
  uint16_t local_port() const;
  // Stops accepting; open connections finish their current exchange.
  void stop();
  // Loads the certificate and key again for the connections accepted from now on (a renewal, on
  // SIGHUP); open ones keep theirs. Nothing changes when the files are unchanged, or when they
  // cannot be loaded (the error names the flag). Call on the io_context's thread, after listen()
  // on a server with TLS.
  Status reload_tls(const TlsFiles& files);
  // New connection caps (ServerOptions) for the next connections; safe from any thread.
  void set_connection_limits(size_t max_connections, size_t max_per_client);
  // Safe from any thread.
  ServerCounters counters() const;
  // Test only: the next `count` accepts fail at once with `errno_value`, as accept() does while
  // the process is out of descriptors, without taking a connection from the backlog. (A real
  // EMFILE also starves the sanitizers of the pipe they probe memory with.)
  void fail_accepts_for_test(int errno_value, size_t count);

  struct Shared;  // the router, options, handler pool and TLS context, shared with connections

 private:
  class Listener;
  boost::asio::io_context& io_;
  std::shared_ptr<Shared> shared_;  // shared with every connection, which may outlive a stop()
  std::shared_ptr<Listener> listener_;
};

}  // namespace privox::http
