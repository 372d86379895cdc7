#include "http/server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <charconv>
#include <deque>
#include <chrono>
#include <fstream>
#include <iterator>
#include <unordered_map>

#include "common/accept_backoff.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mutex.h"

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
  const auto began = std::chrono::steady_clock::now();
  std::string_view route = kRouteRejected;
  Response res = route_request(request, client_address, tls, route);
  if (observer_) observer_(request.method(), route, res.result_int());
  // The access log: the route's template, never the path, query or client (they name people).
  if (log::enabled(log::Level::info)) {
    const auto method = bhttp::to_string(request.method());  // a fixed set, unlike method_string()
    log::info("http", "request",
              {{"method", log::Code(std::string_view(method.data(), method.size()))},
               {"route", log::Code(route)},
               {"status", res.result_int()},
               {"duration_us", std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - began).count()}});
  }
  return res;
}

void Router::add_websocket(const std::string& path, UpgradeHandler handler) {
  websockets_[path] = std::move(handler);
}

std::optional<Upgrade> Router::upgrade(const Request& request, const std::string& client_address, bool tls) const {
  const Exchange exchange(request, client_address, tls);
  const auto it = websockets_.find(exchange.path());
  if (it == websockets_.end() || !beast::websocket::is_upgrade(request)) return std::nullopt;
  std::optional<Upgrade> out;
  try {
    out = it->second(exchange);
  } catch (const std::exception&) {  // as dispatch(): its text may quote the request
    log::error("http", "handler.failed", {{"route", log::Code(it->first)}});
    out.emplace().refusal =
        json_error(bhttp::status::internal_server_error, "internal error; the operator's logs have the details");
  }
  const unsigned status = out->refusal ? out->refusal->result_int() : 101;
  if (observer_) observer_(request.method(), it->first, status);
  log::info("http", "request", {{"method", "GET"}, {"route", log::Code(it->first)}, {"status", status}});
  return out;
}

Response Router::route_request(const Request& request, const std::string& client_address, bool tls,
                               std::string_view& route) const {
  Exchange exchange(request, client_address, tls);
  // Handlers echo path segments and query values in their messages, and JSON cannot carry bytes
  // that are not UTF-8: such a request is refused here, once for every route, without echoing it.
  if (!json::is_utf8(exchange.path()) || !json::is_utf8(url_decode(exchange.path())))
    return json_error(bhttp::status::bad_request, "the request's path is not valid UTF-8", "path");
  if (!json::is_utf8(url_decode(exchange.query())))
    return json_error(bhttp::status::bad_request, "the query string is not valid UTF-8", "query");
  const std::string path(exchange.path());
  try {
    const Entry* entry = match(path, exchange);
    if (!entry) {
      route = fallback_ ? kRouteFallback : kRouteUnmatched;
      if (fallback_) return fallback_(exchange);
      return json_error(bhttp::status::not_found, fmt::format("no such resource: {}", path));
    }
    route = entry->pattern;
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
  } catch (const std::exception&) {  // its text may quote the request
    log::error("http", "handler.failed", {{"route", log::Code(route)}});
    return json_error(bhttp::status::internal_server_error, "internal error; the operator's logs have the details");
  }
}

std::string client_key(const asio::ip::address& address) {
  if (address.is_v4()) return address.to_string();
  const asio::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  asio::ip::address_v6::bytes_type bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

std::string client_key(std::string_view address) {
  beast::error_code ec;
  const asio::ip::address parsed = asio::ip::make_address(std::string(address), ec);
  return ec ? std::string(address) : client_key(parsed);
}

namespace {

// What the connection table knows of a connection: how to close it from another strand.
class Displaceable {
 public:
  virtual ~Displaceable() = default;
  // Any thread: closes the connection on its own strand; its pending read ends.
  virtual void displace() = 0;
};

// The open connections, per client, and which have waited longest for a request: admission
// against ServerOptions' caps. A slot is made at accept (admit) and removed when the connection
// ends (release) or is displaced.
//
// Thread-safety: any thread; mu_ guards everything.
class ConnectionTable {
 public:
  ConnectionTable(size_t max_connections, size_t max_per_client) { set_limits(max_connections, max_per_client); }

  // New caps apply to the next admission; connections over a lowered cap stay until they end.
  void set_limits(size_t max_connections, size_t max_per_client) {
    MutexLock lock(mu_);
    max_ = std::max<size_t>(1, max_connections);
    max_per_client_ = std::max<size_t>(1, max_per_client);
  }

  struct Admission {
    uint64_t id = 0;  // 0: refused
    std::shared_ptr<Displaceable> displaced;  // to close now, when one was displaced for this one
  };

  Admission admit(const std::string& key) {
    MutexLock lock(mu_);
    Admission out;
    if (const auto it = per_client_.find(key); it != per_client_.end() && it->second >= max_per_client_) {
      ++counters_.refused_per_client;
      return out;
    }
    if (slots_.size() >= max_) {
      if (waiting_.empty()) {
        ++counters_.refused_full;
        return out;
      }
      const uint64_t victim = waiting_.begin()->second;
      out.displaced = slots_.at(victim).connection.lock();
      remove(victim);  // may be this client's own: its count drops first
      ++counters_.displaced;
    }
    ++per_client_[key];
    out.id = next_id_++;
    slots_[out.id] = Slot{key, {}, 0};
    mark_waiting(out.id);
    ++counters_.accepted;
    return out;
  }

  void attach(uint64_t id, std::weak_ptr<Displaceable> connection) {
    MutexLock lock(mu_);
    if (auto it = slots_.find(id); it != slots_.end()) it->second.connection = std::move(connection);
  }

  // The connection waits for a request (or its TLS handshake): it may be displaced.
  void waiting(uint64_t id) {
    MutexLock lock(mu_);
    mark_waiting(id);
  }

  // The connection has a request in hand: it is not displaced until it waits again.
  void busy(uint64_t id) {
    MutexLock lock(mu_);
    auto it = slots_.find(id);
    if (it == slots_.end() || it->second.waiting_seq == 0) return;
    waiting_.erase(it->second.waiting_seq);
    it->second.waiting_seq = 0;
  }

  void release(uint64_t id) {
    MutexLock lock(mu_);
    remove(id);
  }

  void count_accept_error() {
    MutexLock lock(mu_);
    ++counters_.accept_errors;
  }

  ServerCounters counters() const {
    MutexLock lock(mu_);
    ServerCounters out = counters_;
    out.open = slots_.size();
    return out;
  }

 private:
  struct Slot {
    std::string key;
    std::weak_ptr<Displaceable> connection;
    uint64_t waiting_seq = 0;  // its place among the waiting, oldest first; 0 while busy
  };

  void mark_waiting(uint64_t id) REQUIRES(mu_) {
    auto it = slots_.find(id);
    if (it == slots_.end()) return;
    if (it->second.waiting_seq != 0) waiting_.erase(it->second.waiting_seq);
    it->second.waiting_seq = next_seq_++;
    waiting_[it->second.waiting_seq] = id;
  }

  void remove(uint64_t id) REQUIRES(mu_) {
    auto it = slots_.find(id);
    if (it == slots_.end()) return;
    if (it->second.waiting_seq != 0) waiting_.erase(it->second.waiting_seq);
    if (auto c = per_client_.find(it->second.key); c != per_client_.end() && --c->second == 0) per_client_.erase(c);
    slots_.erase(it);
  }

  mutable Mutex mu_;
  size_t max_ GUARDED_BY(mu_) = 1;
  size_t max_per_client_ GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, Slot> slots_ GUARDED_BY(mu_);
  std::map<uint64_t, uint64_t> waiting_ GUARDED_BY(mu_);  // waiting_seq -> id
  std::unordered_map<std::string, size_t> per_client_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  ServerCounters counters_ GUARDED_BY(mu_);
};

// TLS 1.2 or newer with the certificate chain and key of `files`, checked to belong together.
Result<std::unique_ptr<asio::ssl::context>> make_tls_context(const TlsFiles& files) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  beast::error_code ec;
  ctx->use_certificate_chain_file(files.cert_path, ec);
  if (ec) return invalid("tls-cert", fmt::format("cannot load {}: {}", files.cert_path, ec.message()));
  ctx->use_private_key_file(files.key_path, asio::ssl::context::pem, ec);
  if (ec) return invalid("tls-key", fmt::format("cannot load {}: {}", files.key_path, ec.message()));
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return invalid("tls-key", fmt::format("{} is not the key of the certificate in {}", files.key_path, files.cert_path));
  return ctx;
}

// What tells a renewed pair from the one loaded (not a secret: a change detector over both files).
Result<std::string> tls_files_digest(const TlsFiles& files) {
  std::string out;
  for (const auto& [path, flag] : {std::pair{&files.cert_path, "tls-cert"}, std::pair{&files.key_path, "tls-key"}}) {
    std::ifstream in(*path, std::ios::binary);
    if (!in) return invalid(flag, fmt::format("cannot read {}", *path));
    const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    out += std::to_string(std::hash<std::string>{}(content)) + "/" + std::to_string(content.size()) + ";";
  }
  return out;
}

}  // namespace

struct Server::Shared {
  Router router;
  ServerOptions options;
  asio::thread_pool pool;
  // The certificate in use for new connections, and every one loaded before it: a connection
  // keeps the context it was accepted with (ssl_stream holds it by reference), and renewals are
  // rare (reload_tls loads a pair only when its files changed).
  asio::ssl::context* tls = nullptr;
  std::vector<std::unique_ptr<asio::ssl::context>> tls_loaded;
  std::string tls_files_digest;  // of the pair tls was loaded from
  ConnectionTable connections;
  Shared(Router r, ServerOptions o)
      : router(std::move(r)), options(std::move(o)), pool(std::max<size_t>(1, options.handler_threads)),
        connections(options.max_connections, options.max_connections_per_client) {}
};

namespace {

// One WebSocket (RFC 6455) that a Connection was upgraded to: the MessageChannel the layer above
// reads and writes. It takes over the connection's slot in the table, marked busy, so a long-lived
// channel is never displaced for an idle keep-alive; the per-client cap still bounds how many one
// client holds. Beast's suggested server timeouts close it after 300 s without an answer to its
// pings. Everything runs on the connection's strand; send() and close() post there.
template <class Stream>
class WebSocketChannel final : public MessageChannel, public std::enable_shared_from_this<WebSocketChannel<Stream>> {
 public:
  WebSocketChannel(Stream stream, std::shared_ptr<Server::Shared> shared, uint64_t slot, std::string client,
                   Upgrade upgrade)
      : ws_(std::move(stream)), shared_(std::move(shared)), slot_(slot), client_(std::move(client)),
        upgrade_(std::move(upgrade)), recheck_(ws_.get_executor()) {
    beast::error_code ec;
    port_ = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec).port();
  }
  ~WebSocketChannel() override { shared_->connections.release(slot_); }
  WebSocketChannel(const WebSocketChannel&) = delete;
  WebSocketChannel& operator=(const WebSocketChannel&) = delete;

  void accept(const Request& request);

  void start(std::function<void(std::string_view)> on_message, std::function<void()> on_closed) override {
    asio::dispatch(ws_.get_executor(), [self = this->shared_from_this(), on_message = std::move(on_message),
                                        on_closed = std::move(on_closed)]() mutable {
      self->on_message_ = std::move(on_message);
      self->on_closed_ = std::move(on_closed);
      if (self->ended_) return self->finish();
      self->read();
    });
  }

  void send(std::string_view message) override {
    asio::dispatch(ws_.get_executor(), [self = this->shared_from_this(), text = std::string(message)]() mutable {
      if (self->ended_) return;
      if (self->queued_bytes_ + text.size() > self->shared_->options.max_websocket_queued_bytes)
        return self->end();  // the peer does not read: better closed than holding memory
      self->queued_bytes_ += text.size();
      self->queue_.push_back(std::move(text));
      if (self->queue_.size() == 1) self->write_next();
    });
  }

  void close() override {
    asio::dispatch(ws_.get_executor(), [self = this->shared_from_this()] { self->end(); });
  }

  const std::string& remote_address() const override { return client_; }
  uint16_t remote_port() const override { return port_; }
  bool secure() const override { return !std::is_same_v<Stream, beast::tcp_stream>; }

 private:
  void read() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->end();
      const std::string message = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      if (self->on_message_) self->on_message_(message);
      if (!self->ended_) self->read();
    });
  }

  void write_next() {
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()), [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->end();
      self->queued_bytes_ -= self->queue_.front().size();
      self->queue_.pop_front();
      if (!self->queue_.empty() && !self->ended_) self->write_next();
    });
  }

  // What let the channel open is asked again now and then, on the pool (it may read the store).
  void schedule_recheck() {
    if (!upgrade_.still_allowed) return;
    recheck_.expires_after(std::chrono::seconds(std::max<int64_t>(1, upgrade_.recheck_every_s)));
    recheck_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->ended_) return;
      asio::post(self->shared_->pool, [self] {
        const bool allowed = self->upgrade_.still_allowed();
        asio::post(self->ws_.get_executor(), [self, allowed] {
          if (!allowed) return self->end();
          self->schedule_recheck();
        });
      });
    });
  }

  // Closes the socket (no closing handshake: a peer that is refused, gone or not reading would not
  // answer it) and tells the reader once.
  void end() {
    if (ended_) return;
    ended_ = true;
    recheck_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
    finish();
  }
  void finish() {
    if (!on_closed_) return;
    auto on_closed = std::move(on_closed_);
    on_closed_ = nullptr;
    on_message_ = nullptr;
    on_closed();
  }

  beast::websocket::stream<Stream> ws_;
  std::shared_ptr<Server::Shared> shared_;
  const uint64_t slot_;
  std::string client_;
  uint16_t port_ = 0;
  Upgrade upgrade_;
  asio::steady_timer recheck_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  std::function<void(std::string_view)> on_message_;
  std::function<void()> on_closed_;
  bool ended_ = false;
};

template <class Stream>
void WebSocketChannel<Stream>::accept(const Request& request) {
  shared_->connections.busy(slot_);
  beast::get_lowest_layer(ws_).expires_never();  // the WebSocket's own timeouts take over
  ws_.set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.read_message_max(shared_->options.max_websocket_message_bytes);
  ws_.set_option(beast::websocket::stream_base::decorator(
      [protocol = upgrade_.subprotocol](beast::websocket::response_type& res) {
        res.set(bhttp::field::server, "privox");
        if (!protocol.empty()) res.set(bhttp::field::sec_websocket_protocol, protocol);
      }));
  ws_.async_accept(request, [self = this->shared_from_this()](beast::error_code ec) {
    if (ec) return self->end();
    if (self->upgrade_.opened) self->upgrade_.opened(self);
    self->schedule_recheck();
  });
}

// One connection: read a request, have the handler pool answer it, write the answer, repeat while
// the client keeps the connection alive. Stream is beast::tcp_stream or an ssl_stream over one.
template <class Stream>
class Connection final : public Displaceable, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <class... Args>
  Connection(std::shared_ptr<Server::Shared> shared, uint64_t slot, std::string client, Args&&... stream_args)
      : stream_(std::forward<Args>(stream_args)...), shared_(std::move(shared)), slot_(slot), client_(std::move(client)) {}
  ~Connection() override {
    if (!upgraded_) shared_->connections.release(slot_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void displace() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().close(ignored);
    });
  }

  void start() {
    shared_->connections.attach(slot_, this->weak_from_this());
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
    shared_->connections.waiting(slot_);
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
    shared_->connections.busy(slot_);
    // The store may block: the handler runs on the pool, the answer comes back to this strand.
    asio::post(shared_->pool, [self = this->shared_from_this()] {
      if (std::optional<Upgrade> upgrade = self->shared_->router.upgrade(self->request_, self->client_, kTls)) {
        if (!upgrade->refusal)
          return asio::post(self->stream_.get_executor(),
                            [self, upgrade = std::move(*upgrade)]() mutable { self->become_websocket(std::move(upgrade)); });
        Response refusal = std::move(*upgrade->refusal);
        refusal.version(self->request_.version());
        return asio::post(self->stream_.get_executor(),
                          [self, res = std::move(refusal)]() mutable { self->write(std::move(res), false); });
      }
      Response res = self->shared_->router.dispatch(self->request_, self->client_, kTls);
      res.version(self->request_.version());
      const bool keep_alive = self->request_.keep_alive();
      asio::post(self->stream_.get_executor(), [self, res = std::move(res), keep_alive]() mutable {
        self->write(std::move(res), keep_alive);
      });
    });
  }

  // The stream moves into a WebSocketChannel, which holds the slot from now on.
  void become_websocket(Upgrade upgrade) {
    upgraded_ = true;
    auto channel = std::make_shared<WebSocketChannel<Stream>>(std::move(stream_), shared_, slot_, client_,
                                                              std::move(upgrade));
    shared_->connections.attach(slot_, std::weak_ptr<Displaceable>());
    channel->accept(request_);
  }

  void write(Response res, bool keep_alive) {
    res.keep_alive(keep_alive);
    add_security_headers(res, shared_->options.connect_origins);
    res.prepare_payload();
    response_ = std::move(res);
    shared_->connections.busy(slot_);  // a malformed request's answer comes straight from the read
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);  // a client that never reads
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
  const uint64_t slot_;  // in shared_->connections
  std::string client_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  Response response_;
  bool upgraded_ = false;  // the stream and slot went to a WebSocketChannel
};

}  // namespace

class Server::Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, std::shared_ptr<Shared> shared)
      : io_(io), acceptor_(io), backoff_timer_(io), shared_(std::move(shared)) {}

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
    if (injected_failures_.load() > 0) {
      injected_failures_.fetch_sub(1);
      asio::post(io_, [self = shared_from_this()] {
        self->on_accept(beast::error_code(self->injected_errno_.load(), boost::system::system_category()),
                        tcp::socket(self->io_));
      });
      return;
    }
    acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      self->on_accept(ec, std::move(s));
    });
  }

  void fail_accepts_for_test(int errno_value, size_t count) {
    injected_errno_.store(errno_value);
    injected_failures_.store(count);
  }

  uint16_t port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void close() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    backoff_timer_.cancel();
  }

 private:
  void on_accept(const beast::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) return after_accept_error(ec);
    backoff_.succeeded();
    start_connection(std::move(socket));
    accept();
  }

  // Out of descriptors, the connection stays in the backlog and the next accept fails at once: wait
  // (AcceptBackoff) rather than spin, and log a line per interval, not per failure.
  void after_accept_error(const beast::error_code& ec) {
    shared_->connections.count_accept_error();
    const auto now_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    const AcceptBackoff::Step step = backoff_.failed(ec.value(), now_us);
    if (step.log)
      log::warn("http", "accept.failing",
                {{"errno", ec.value()}, {"wait_ms", step.wait_us / 1000}, {"suppressed", step.suppressed}});
    if (step.wait_us == 0) return accept();
    backoff_timer_.expires_after(std::chrono::microseconds(step.wait_us));
    backoff_timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
      if (!timer_ec && self->acceptor_.is_open()) self->accept();
    });
  }

  void start_connection(tcp::socket socket) {
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // reset before we got to it
    std::string client = remote.address().to_string();
    if (remote.address().is_v6() && remote.address().to_v6().is_v4_mapped())
      client = asio::ip::make_address_v4(asio::ip::v4_mapped, remote.address().to_v6()).to_string();
    const ConnectionTable::Admission admission = shared_->connections.admit(client_key(remote.address()));
    if (admission.displaced) admission.displaced->displace();
    if (admission.id == 0) return refuse(socket);
    // Responses and WebSocket frames (a softphone's SIP) are written whole; Nagle's algorithm
    // would hold one behind the ACK of the last, which the browser delays (TLS 1.3's tickets go
    // out after the handshake, so the first response waited 40 ms).
    socket.set_option(tcp::no_delay(true), ec);
    if (shared_->tls)
      std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(shared_, admission.id, std::move(client),
                                                                        std::move(socket), *shared_->tls)
          ->start();
    else
      std::make_shared<Connection<beast::tcp_stream>>(shared_, admission.id, std::move(client), std::move(socket))
          ->start();
  }

  // A connection over the caps: a plain-HTTP client is told why in a 503 (one non-blocking write
  // into an empty send buffer); a TLS client, whose handshake would cost more than the connection
  // is worth, is just closed.
  void refuse(tcp::socket& socket) {
    beast::error_code ignored;
    if (!shared_->tls) {
      static constexpr std::string_view kBody =
          R"({"error":{"message":"too many connections; try again shortly"}})";
      static const std::string kAnswer = fmt::format(
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
          "Retry-After: 5\r\nConnection: close\r\n\r\n{}",
          kBody.size(), kBody);
      socket.non_blocking(true, ignored);
      socket.write_some(asio::buffer(kAnswer), ignored);
      socket.shutdown(tcp::socket::shutdown_both, ignored);
    }
    socket.close(ignored);
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::steady_timer backoff_timer_;
  AcceptBackoff backoff_;  // used from the accept handler only
  std::shared_ptr<Shared> shared_;
  std::atomic<size_t> injected_failures_{0};  // fail_accepts_for_test
  std::atomic<int> injected_errno_{0};
};

Server::Server(asio::io_context& io, Router router, ServerOptions options)
    : io_(io), shared_(std::make_shared<Shared>(std::move(router), std::move(options))) {}

Server::~Server() {
  stop();
  shared_->pool.join();
}

Status Server::listen(const HostPort& at) {
  if (shared_->options.tls && !shared_->tls) PRIVOX_TRY(reload_tls(*shared_->options.tls));
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

Status Server::reload_tls(const TlsFiles& files) {
  if (!shared_->options.tls) return invalid("tls-cert", "the server was started without TLS; turning it on needs a restart");
  PRIVOX_ASSIGN(const std::string digest, tls_files_digest(files));
  if (shared_->tls && digest == shared_->tls_files_digest) return {};
  PRIVOX_ASSIGN(auto ctx, make_tls_context(files));
  shared_->tls = ctx.get();
  shared_->tls_loaded.push_back(std::move(ctx));
  shared_->tls_files_digest = digest;
  return {};
}

void Server::set_connection_limits(size_t max_connections, size_t max_per_client) {
  shared_->connections.set_limits(max_connections, max_per_client);
}

ServerCounters Server::counters() const { return shared_->connections.counters(); }

void Server::fail_accepts_for_test(int errno_value, size_t count) {
  if (listener_) listener_->fail_accepts_for_test(errno_value, count);
}

}  // namespace privox::http
