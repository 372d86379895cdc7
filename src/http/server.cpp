#include "http/server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>

#include "common/json.h"

namespace privox::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(30);

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    out.emplace_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of a query component; '+' is a space. A bad escape is kept as typed.
std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Exchange::Exchange(const Request& request, std::string client_address, bool tls)
    : request_(request), client_(std::move(client_address)), tls_(tls) {
  const std::string_view target(request.target().data(), request.target().size());
  const size_t q = target.find('?');
  path_ = target.substr(0, q);
  if (q != std::string_view::npos) query_ = target.substr(q + 1);
}

std::string_view Exchange::param(std::string_view name) const {
  const auto it = params_.find(name);
  return it == params_.end() ? std::string_view() : std::string_view(it->second);
}

std::optional<std::string> Exchange::query_param(std::string_view name) const {
  std::string_view rest = query_;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::optional<std::string> Exchange::cookie(std::string_view name) const {
  for (auto it = request_.find(bhttp::field::cookie); it != request_.end() && it->name() == bhttp::field::cookie;
       ++it) {
    std::string_view rest(it->value().data(), it->value().size());
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      const std::string_view pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name)
        return std::string(trim(pair.substr(eq + 1)));
    }
  }
  return std::nullopt;
}

std::string_view Exchange::header(std::string_view name) const {
  const auto it = request_.find(beast::string_view(name.data(), name.size()));
  if (it == request_.end()) return {};
  return {it->value().data(), it->value().size()};
}

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
  res.body() = json::dump_lenient(body);
  return res;
}

Response json_error(bhttp::status status, std::string_view message, std::string_view field) {
  nlohmann::json error = {{"message", message}};
  if (!field.empty()) error["field"] = field;
  return json_response(status, {{"error", std::move(error)}});
}

void add_security_headers(Response& res, const std::vector<std::string>& connect_origins) {
  std::string connect = "'self'";
  for (const std::string& origin : connect_origins) connect += " " + origin;
  res.set(bhttp::field::server, "privox");
  res.set("Content-Security-Policy",
          fmt::format("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                      "connect-src {}; object-src 'none'; base-uri 'none'; form-action 'self'; "
                      "frame-ancestors 'none'",
                      connect));
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  if (res.find(bhttp::field::cache_control) == res.end()) res.set(bhttp::field::cache_control, "no-store");
}

void Router::add(bhttp::verb method, const std::string& pattern, Handler handler) {
  for (Entry& e : entries_) {
    if (e.pattern == pattern) {
      e.handlers[method] = std::move(handler);
      return;
    }
  }
  Entry entry{split_path(pattern), pattern, {}};
  entry.handlers[method] = std::move(handler);
  entries_.push_back(std::move(entry));
}

std::vector<Router::Route> Router::routes() const {
  std::vector<Route> out;
  for (const Entry& e : entries_)
    for (const auto& [verb, h] : e.handlers) out.push_back({verb, e.pattern});
  return out;
}

const Router::Entry* Router::match(std::string_view path, Exchange& exchange) const {
  const std::vector<std::string> parts = split_path(path);
  const Entry* best = nullptr;
  int best_literals = -1;
  for (const Entry& e : entries_) {
    if (e.segments.size() != parts.size()) continue;
    int literals = 0;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      const std::string& seg = e.segments[i];
      const bool is_param = seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
      if (is_param) ok = !parts[i].empty();
      else if (seg == parts[i]) ++literals;
      else ok = false;
    }
    if (ok && literals > best_literals) {
      best = &e;
      best_literals = literals;
    }
  }
  if (best) {
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& seg = best->segments[i];
      if (seg.size() > 2 && seg.front() == '{')
        exchange.params_for_router()[seg.substr(1, seg.size() - 2)] = url_decode(parts[i]);
    }
  }
  return best;
}

Response Router::dispatch(const Request& request, const std::string& client_address, bool tls) const {
  Exchange exchange(request, client_address, tls);
  const std::string path(exchange.path());
  try {
    const Entry* entry = match(path, exchange);
    if (!entry) {
      if (fallback_) return fallback_(exchange);
      return json_error(bhttp::status::not_found, fmt::format("no such resource: {}", path));
    }
    auto handler = entry->handlers.find(request.method());
    if (handler == entry->handlers.end() && request.method() == bhttp::verb::head)
      handler = entry->handlers.find(bhttp::verb::get);
    if (handler == entry->handlers.end()) {
      std::string allow;
      for (const auto& [verb, h] : entry->handlers) {
        const auto name = bhttp::to_string(verb);
        allow += (allow.empty() ? "" : ", ") + std::string(name.data(), name.size());
      }
      Response res = json_error(bhttp::status::method_not_allowed,
                                fmt::format("{} does not accept {}; it accepts {}", path,
                                            std::string(request.method_string()), allow));
      res.set(bhttp::field::allow, allow);
      return res;
    }
    return handler->second(exchange);
  } catch (const std::exception& e) {
    spdlog::error("http: handler for {} failed: {}", path, e.what());
    return json_error(bhttp::status::internal_server_error, "internal error; the operator's logs have the details");
  }
}

struct Server::Shared {
  Router router;
  ServerOptions options;
  asio::thread_pool pool;
  std::unique_ptr<asio::ssl::context> tls;
  Shared(Router r, ServerOptions o) : router(std::move(r)), options(std::move(o)), pool(std::max<size_t>(1, options.handler_threads)) {}
};

namespace {

// One connection: read a request, have the handler pool answer it, write the answer, repeat while
// the client keeps the connection alive. Stream is beast::tcp_stream or an ssl_stream over one.
template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <class... Args>
  Connection(std::shared_ptr<Server::Shared> shared, std::string client, Args&&... stream_args)
      : stream_(std::forward<Args>(stream_args)...), shared_(std::move(shared)), client_(std::move(client)) {}

  void start() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
      stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return;  // a failed handshake is the client's problem; nothing to answer
        self->read();
      });
    } else {
      read();
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  void read() {
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(16 * 1024);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
      return close();
    if (ec) {
      return write(json_error(ec == bhttp::error::body_limit ? bhttp::status::payload_too_large
                                                            : bhttp::status::bad_request,
                              fmt::format("malformed HTTP request: {}", ec.message())),
                   false);
    }
    request_ = parser_->release();
    // The store may block: the handler runs on the pool, the answer comes back to this strand.
    asio::post(shared_->pool, [self = this->shared_from_this()] {
      Response res = self->shared_->router.dispatch(self->request_, self->client_, kTls);
      res.version(self->request_.version());
      const bool keep_alive = self->request_.keep_alive();
      asio::post(self->stream_.get_executor(), [self, res = std::move(res), keep_alive]() mutable {
        self->write(std::move(res), keep_alive);
      });
    });
  }

  void write(Response res, bool keep_alive) {
    res.keep_alive(keep_alive);
    add_security_headers(res, shared_->options.connect_origins);
    res.prepare_payload();
    response_ = std::move(res);
    bhttp::async_write(stream_, response_,
                       [self = this->shared_from_this(), keep_alive](beast::error_code wec, size_t) {
                         if (wec || !keep_alive) return self->close();
                         self->read();
                       });
  }

  void close() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  Stream stream_;
  std::shared_ptr<Server::Shared> shared_;
  std::string client_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  Response response_;
};

}  // namespace

class Server::Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, std::shared_ptr<Shared> shared) : io_(io), acceptor_(io), shared_(std::move(shared)) {}

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
      if (!ec) self->start_connection(std::move(s));
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
  void start_connection(tcp::socket socket) {
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    std::string client = ec ? std::string() : remote.address().to_string();
    if (remote.address().is_v6() && remote.address().to_v6().is_v4_mapped())
      client = asio::ip::make_address_v4(asio::ip::v4_mapped, remote.address().to_v6()).to_string();
    if (shared_->tls)
      std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(shared_, std::move(client), std::move(socket),
                                                                        *shared_->tls)
          ->start();
    else
      std::make_shared<Connection<beast::tcp_stream>>(shared_, std::move(client), std::move(socket))->start();
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
};

Server::Server(asio::io_context& io, Router router, ServerOptions options)
    : io_(io), shared_(std::make_shared<Shared>(std::move(router), std::move(options))) {}

Server::~Server() {
  stop();
  shared_->pool.join();
}

Status Server::listen(const HostPort& at) {
  if (shared_->options.tls && !shared_->tls) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    ctx->use_certificate_chain_file(shared_->options.tls->cert_path, ec);
    if (ec) return invalid("tls-cert", fmt::format("cannot load {}: {}", shared_->options.tls->cert_path, ec.message()));
    ctx->use_private_key_file(shared_->options.tls->key_path, asio::ssl::context::pem, ec);
    if (ec) return invalid("tls-key", fmt::format("cannot load {}: {}", shared_->options.tls->key_path, ec.message()));
    shared_->tls = std::move(ctx);
  }
  auto listener = std::make_shared<Listener>(io_, shared_);
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
