#include "http/server.h"

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <charconv>

namespace privox::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

constexpr size_t kMaxBodyBytes = 1 << 20;
constexpr auto kIdleTimeout = std::chrono::seconds(30);

void add_security_headers(Response& res) {
  res.set(bhttp::field::server, "privox");
  res.set("Content-Security-Policy",
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set(bhttp::field::cache_control, "no-store");
}

// One connection: read a request, answer it, repeat while the client keeps the connection alive.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<const Router> router)
      : stream_(std::move(socket)), router_(std::move(router)) {}

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(kIdleTimeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted)
      return close();
    Response res;
    bool keep_alive = false;
    if (ec) {
      res = json_error(ec == bhttp::error::body_limit ? bhttp::status::payload_too_large : bhttp::status::bad_request,
                       fmt::format("malformed HTTP request: {}", ec.message()));
    } else {
      Request req = parser_->release();
      keep_alive = req.keep_alive();
      res = router_->dispatch(req);
      res.version(req.version());
    }
    res.keep_alive(keep_alive);
    add_security_headers(res);
    res.prepare_payload();
    response_ = std::move(res);
    bhttp::async_write(stream_, response_, [self = shared_from_this(), keep_alive](beast::error_code wec, size_t) {
      if (wec || !keep_alive) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Response response_;
  std::shared_ptr<const Router> router_;
};

}  // namespace

class Server::Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, std::shared_ptr<const Router> router) : io_(io), acceptor_(io), router_(std::move(router)) {}

  Status open(const HostPort& at) {
    beast::error_code ec;
    const auto address = asio::ip::make_address(at.host == "localhost" ? "127.0.0.1" : at.host, ec);
    if (ec) return invalid("http", fmt::format("'{}' is not an IP address", at.host));
    const tcp::endpoint endpoint(address, at.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(ErrorCode::unavailable, fmt::format("cannot listen for HTTP on {}:{}: {}", at.host, at.port,
                                                            ec.message()));
    return {};
  }

  void accept() {
    acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (!ec) std::make_shared<Connection>(std::move(s), self->router_)->start();
      else spdlog::warn("http: accept failed: {}", ec.message());
      self->accept();
    });
  }

  uint16_t port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void close() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<const Router> router_;
};

Result<HostPort> parse_host_port(std::string_view text, std::string_view flag) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return invalid(std::string(flag), fmt::format("'{}' is not HOST:PORT", text));
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return invalid(std::string(flag), fmt::format("'{}' is not HOST:PORT", text));
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || port.empty() || value > 65535)
    return invalid(std::string(flag), fmt::format("'{}' is not a port number (0-65535)", port));
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

Response json_response(bhttp::status status, const nlohmann::json& body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = body.dump();
  return res;
}

Response json_error(bhttp::status status, std::string_view message, std::string_view field) {
  nlohmann::json body = {{"error", message}};
  if (!field.empty()) body["field"] = field;
  return json_response(status, body);
}

void Router::add(bhttp::verb method, std::string path, Handler handler) {
  routes_[std::move(path)][method] = std::move(handler);
}

Response Router::dispatch(const Request& request) const {
  std::string_view target(request.target().data(), request.target().size());
  target = target.substr(0, target.find('?'));
  const auto path = routes_.find(std::string(target));
  if (path == routes_.end())
    return json_error(bhttp::status::not_found, fmt::format("no such resource: {}", target));
  auto handler = path->second.find(request.method());
  if (handler == path->second.end() && request.method() == bhttp::verb::head)
    handler = path->second.find(bhttp::verb::get);
  if (handler == path->second.end()) {
    std::string allow;
    for (const auto& [verb, h] : path->second) allow += (allow.empty() ? "" : ", ") + std::string(bhttp::to_string(verb).data(), bhttp::to_string(verb).size());
    Response res = json_error(bhttp::status::method_not_allowed,
                              fmt::format("{} does not accept {}; it accepts {}", target,
                                          std::string(request.method_string()), allow));
    res.set(bhttp::field::allow, allow);
    return res;
  }
  try {
    return handler->second(request);
  } catch (const std::exception& e) {
    spdlog::error("http: handler for {} failed: {}", target, e.what());
    return json_error(bhttp::status::internal_server_error, "internal error; the operator's logs have the details");
  }
}

Server::Server(asio::io_context& io, Router router)
    : io_(io), router_(std::make_shared<const Router>(std::move(router))) {}

Server::~Server() { stop(); }

Status Server::listen(const HostPort& at) {
  auto listener = std::make_shared<Listener>(io_, router_);
  PRIVOX_TRY(listener->open(at));
  listener_ = std::move(listener);
  listener_->accept();
  return {};
}

uint16_t Server::local_port() const { return listener_ ? listener_->port() : 0; }

void Server::stop() {
  if (listener_) listener_->close();
}

}  // namespace privox::http
