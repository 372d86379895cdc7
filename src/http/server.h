#pragma once
// A small HTTP/1.1 server on Boost.Beast: it accepts connections (plain or TLS), reads requests
// with size and time limits, hands each to a Router on a pool of handler threads and writes the
// answer with privox's security headers. The portal's API and pages are routes on it; `GET
// /healthz` is the first.
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
  // Answers requests that match no route (static pages); without one they get a JSON 404.
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }

  // 404 for an unknown path, 405 (with Allow) for a known path and another method; a handler's
  // exception becomes a 500 whose body says nothing of it.
  Response dispatch(const Request& request, const std::string& client_address = {}, bool tls = false) const;

  // Every route, in the order added: for the API document check and the isolation test.
  std::vector<Route> routes() const;

 private:
  struct Entry {
    std::vector<std::string> segments;
    std::string pattern;
    std::map<bhttp::verb, Handler> handlers;
  };
  const Entry* match(std::string_view path, Exchange& exchange) const;

  std::vector<Entry> entries_;
  Handler fallback_;
};

struct TlsFiles {
  std::string cert_path;  // PEM certificate chain
  std::string key_path;   // PEM private key
};

struct ServerOptions {
  size_t handler_threads = 4;
  size_t max_body_bytes = 1 << 20;
  std::optional<TlsFiles> tls;  // absent: plain HTTP
  // Origins the pages may also connect to (the payment provider), added to CSP connect-src.
  std::vector<std::string> connect_origins;
};

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

  struct Shared;  // the router, options, handler pool and TLS context, shared with connections

 private:
  class Listener;
  boost::asio::io_context& io_;
  std::shared_ptr<Shared> shared_;  // shared with every connection, which may outlive a stop()
  std::shared_ptr<Listener> listener_;
};

}  // namespace privox::http
