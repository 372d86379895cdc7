#pragma once
// A small HTTP/1.1 server on Boost.Beast: it accepts connections, reads requests with size and
// time limits, hands each to a Router and writes the answer with privox's security headers. The
// portal's API and pages are routes on it; `GET /healthz` is the first.
//
// Thread-safety: the server and its connections run on the io_context's thread(s); handlers are
// called there and must not block for long.

#include <utility>  // Boost 1.74's Asio misses this include in C++20 mode; keep it first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"

namespace privox::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Handler = std::function<Response(const Request&)>;

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "127.0.0.1:8080", "[::1]:8080" or "localhost:0"; names the flag in its error.
Result<HostPort> parse_host_port(std::string_view text, std::string_view flag);

Response json_response(bhttp::status status, const nlohmann::json& body);
Response json_error(bhttp::status status, std::string_view message, std::string_view field = {});

class Router {
 public:
  void add(bhttp::verb method, std::string path, Handler handler);
  // 404 for an unknown path, 405 (with Allow) for a known path and another method.
  Response dispatch(const Request& request) const;

 private:
  std::map<std::string, std::map<bhttp::verb, Handler>> routes_;
};

class Server {
 public:
  Server(boost::asio::io_context& io, Router router);
  ~Server();
  // Binds and starts accepting. Port 0 picks a free port; local_port() tells which.
  Status listen(const HostPort& at);
  uint16_t local_port() const;
  // Stops accepting; open connections finish their current exchange.
  void stop();

 private:
  class Listener;
  boost::asio::io_context& io_;
  std::shared_ptr<const Router> router_;  // shared with every connection, which may outlive a stop()
  std::shared_ptr<Listener> listener_;
};

}  // namespace privox::http
