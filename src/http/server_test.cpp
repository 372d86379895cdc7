#include "http/server.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cerrno>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/log.h"
#include "common/testing.h"
#include "http/test_tls.h"

namespace privox::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.add(bhttp::verb::get, "/healthz", [](const Exchange&) { return json_response(bhttp::status::ok, {{"status", "ok"}}); });
    router.add(bhttp::verb::post, "/echo", [](const Exchange& r) {
      return json_response(bhttp::status::ok, {{"body", r.request().body()}});
    });
    router.add(bhttp::verb::get, "/boom", [](const Exchange&) -> Response { throw std::runtime_error("kaboom"); });
    router.add(bhttp::verb::get, "/things/{id}/parts/{part}", [](const Exchange& e) {
      return json_response(bhttp::status::ok, {{"id", e.param("id")}, {"part", e.param("part")},
                                               {"q", e.query_param("q").value_or("-")},
                                               {"cookie", e.cookie("c").value_or("-")},
                                               {"client", e.client_address()}});
    });
    router.add(bhttp::verb::get, "/things/special/parts/{part}", [](const Exchange&) {
      return json_response(bhttp::status::ok, {{"special", true}});
    });
    server_ = std::make_unique<Server>(io_, std::move(router), options());
    ASSERT_TRUE(server_->listen({"127.0.0.1", 0}).ok());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->stop(); io_.stop(); });
    thread_.join();
  }

  virtual ServerOptions options() {
    ServerOptions options;
    options.connect_origins = {"https://pay.example"};
    return options;
  }

  // A connection from `from` (any 127.0.0.0/8 address is this host's) that has sent nothing.
  std::unique_ptr<tcp::socket> idle_connection(asio::io_context& io, const std::string& from) {
    auto socket = std::make_unique<tcp::socket>(io);
    socket->open(tcp::v4());
    socket->bind({asio::ip::make_address(from), 0});
    socket->connect({asio::ip::make_address("127.0.0.1"), server_->local_port()});
    return socket;
  }

  // Waits (2 s at most) until the server counts `open` connections.
  bool wait_open(size_t open) {
    for (int i = 0; i < 200 && server_->counters().open != open; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return server_->counters().open == open;
  }

  // Sends raw bytes and reads the reply until the server closes or a full response arrives.
  Response exchange(const std::string& raw) {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), server_->local_port()});
    asio::write(socket, asio::buffer(raw));
    boost::beast::flat_buffer buffer;
    Response res;
    boost::beast::error_code ec;
    bhttp::read(socket, buffer, res, ec);
    EXPECT_FALSE(ec) << ec.message();
    return res;
  }

  asio::io_context io_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(ServerTest, AnswersARouteWithJsonAndSecurityHeaders) {
  const Response res = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(nlohmann::json::parse(res.body())["status"], "ok");
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_NE(std::string(res["Content-Security-Policy"]).find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(std::string(res["Content-Security-Policy"]).find("unsafe-inline"), std::string::npos);
  EXPECT_FALSE(res["Referrer-Policy"].empty());
}

TEST_F(ServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  Response res = exchange("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(res.result(), bhttp::status::not_found);
  EXPECT_TRUE(nlohmann::json::parse(res.body()).contains("error"));
  res = exchange("DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(res.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(res[bhttp::field::allow], "GET");
}

TEST_F(ServerTest, QueryStringsDoNotChangeTheRoute) {
  EXPECT_EQ(exchange("GET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").result(),
            bhttp::status::ok);
}

TEST_F(ServerTest, MalformedRequestsGet400AndTheServerLivesOn) {
  const Response bad = exchange("GARBAGE\r\n\r\n");
  EXPECT_EQ(bad.result(), bhttp::status::bad_request);
  EXPECT_TRUE(nlohmann::json::parse(bad.body()).contains("error"));
  EXPECT_EQ(exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n").result(), bhttp::status::bad_request);
  EXPECT_EQ(exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").result(), bhttp::status::ok);
}

TEST_F(ServerTest, OversizedBodiesAreRefused) {
  const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(2 << 20) + "\r\n\r\n";
  EXPECT_EQ(exchange(head).result(), bhttp::status::payload_too_large);
}

TEST_F(ServerTest, AThrowingHandlerIsA500NotACrash) {
  const Response res = exchange("GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(res.result(), bhttp::status::internal_server_error);
  EXPECT_EQ(res.body().find("kaboom"), std::string::npos);  // internals stay in the log
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server_->local_port()});
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    asio::write(socket, asio::buffer(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")));
    Response res;
    bhttp::read(socket, buffer, res);
    EXPECT_EQ(nlohmann::json::parse(res.body())["body"], "hi");
  }
}

TEST_F(ServerTest, PathParametersQueryCookiesAndTheClientReachTheHandler) {
  const Response res = exchange(
      "GET /things/a%20b/parts/7?x=1&q=hello+world%21 HTTP/1.1\r\nHost: x\r\nCookie: a=1; c=two\r\n"
      "Connection: close\r\n\r\n");
  ASSERT_EQ(res.result(), bhttp::status::ok) << res.body();
  const auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["id"], "a b");
  EXPECT_EQ(body["part"], "7");
  EXPECT_EQ(body["q"], "hello world!");
  EXPECT_EQ(body["cookie"], "two");
  EXPECT_EQ(body["client"], "127.0.0.1");
  const Response special = exchange("GET /things/special/parts/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(nlohmann::json::parse(special.body()).contains("special")) << "a literal segment wins";
}

// Issue 10 item 9: raw bytes in a path, or %ff in an echoed parameter, reached a JSON message and
// serialising it threw. They are a 400 naming where they were, and the answer echoes none of them.
TEST_F(ServerTest, InvalidUtf8InThePathOrQueryIsA400ThatEchoesNothing) {
  const std::pair<std::string, std::string> cases[] = {
      {"/things/%ff/parts/1", "path"},        {"/nope\xff\xfe", "path"},          {"/things/%C3%28/parts/1", "path"},
      {"/things/%ED%A0%80/parts/1", "path"},  {"/things/a/parts/1?q=%ff", "query"}, {"/healthz?x=%C0%AF", "query"},
      {"/things/a/parts/1?%fe=1", "query"},
  };
  for (const auto& [target, field] : cases) {
    const Response res = exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(res.result(), bhttp::status::bad_request) << target;
    const auto body = nlohmann::json::parse(res.body(), nullptr, false);
    ASSERT_TRUE(body.is_object()) << target << ": " << res.body();
    EXPECT_EQ(body["error"]["field"], field) << target;
    EXPECT_EQ(res.body().find("\xEF\xBF\xBD"), std::string::npos) << target << ": no replacement of what was sent";
    EXPECT_EQ(res.body().find("things"), std::string::npos) << target << ": nothing of the request echoed";
  }
  const Response ok = exchange("GET /things/J%C3%BCrgen/parts/1?q=%E2%82%AC HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(ok.result(), bhttp::status::ok) << ok.body();
  EXPECT_EQ(nlohmann::json::parse(ok.body())["id"], "J\xC3\xBCrgen");
  EXPECT_EQ(nlohmann::json::parse(ok.body())["q"], "\xE2\x82\xAC");
}

// Whatever a handler puts in an error message, building the answer never throws.
TEST(JsonErrorTest, ABadByteInAMessageNeverThrows) {
  Response res;
  EXPECT_NO_THROW(res = json_error(bhttp::status::bad_request, "bad \xff\xfe input", "f\xc3"));
  EXPECT_TRUE(nlohmann::json::parse(res.body(), nullptr, false).is_object());
}

TEST_F(ServerTest, ErrorsHaveTheMessageAndFieldShapeAndCspAllowsTheProvider) {
  const Response res = exchange("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto body = nlohmann::json::parse(res.body());
  ASSERT_TRUE(body["error"].is_object());
  EXPECT_TRUE(body["error"]["message"].is_string());
  EXPECT_NE(std::string(res["Content-Security-Policy"]).find("connect-src 'self' https://pay.example"),
            std::string::npos);
}

// Reads what the server sends until it closes: the answer, if any, and whether it closed.
std::string read_until_closed(tcp::socket& socket) {
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  socket.non_blocking(false);
  const timeval two_s{2, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &two_s, sizeof two_s);
  for (;;) {
    const size_t n = socket.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return ec == asio::error::eof || ec == asio::error::connection_reset ? out : out + "<still open>";
}

class CappedServerTest : public ServerTest {
 protected:
  ServerOptions options() override {
    ServerOptions o;
    o.max_connections = 4;
    o.max_connections_per_client = 3;
    return o;
  }
};

// Issue 10 item 2: one address held every descriptor with idle connections. Now it holds its
// share; the next connection from it is told 503 and closed, and other addresses are served.
TEST_F(CappedServerTest, OneAddressHoldsOnlyItsShareOfConnections) {
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> held;
  held.reserve(4);
  for (int i = 0; i < 3; ++i) held.push_back(idle_connection(io, "127.0.0.1"));
  ASSERT_TRUE(wait_open(3));
  auto fourth = idle_connection(io, "127.0.0.1");
  const std::string refused = read_until_closed(*fourth);
  EXPECT_NE(refused.find("503 Service Unavailable"), std::string::npos) << refused;
  EXPECT_NE(refused.find("too many connections"), std::string::npos) << refused;
  EXPECT_EQ(server_->counters().refused_per_client, 1u);

  auto other = idle_connection(io, "127.0.0.2");
  asio::write(*other, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  EXPECT_NE(read_until_closed(*other).find("200 OK"), std::string::npos) << "another address is served";
}

// A full server displaces the connection that has waited longest for a request, so idle
// connections from many addresses cannot keep a real client (or /healthz) out.
TEST_F(CappedServerTest, AFullServerDisplacesTheLongestWaitingConnection) {
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> held;
  held.reserve(4);
  held.push_back(idle_connection(io, "127.0.0.1"));
  ASSERT_TRUE(wait_open(1));
  for (const char* from : {"127.0.0.2", "127.0.0.3", "127.0.0.3"}) held.push_back(idle_connection(io, from));
  ASSERT_TRUE(wait_open(4));
  auto client = idle_connection(io, "127.0.0.4");
  asio::write(*client, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  EXPECT_NE(read_until_closed(*client).find("200 OK"), std::string::npos);
  EXPECT_EQ(read_until_closed(*held[0]), "") << "the oldest idle connection was closed";
  EXPECT_EQ(server_->counters().displaced, 1u);
  EXPECT_EQ(server_->counters().refused_full, 0u);
}

// The connection displaced may be the newcomer's own client's only one.
TEST_F(CappedServerTest, AClientMayDisplaceItsOwnLongestWaitingConnection) {
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> held;
  held.reserve(4);
  held.push_back(idle_connection(io, "127.0.0.5"));
  ASSERT_TRUE(wait_open(1));
  for (int i = 0; i < 3; ++i) held.push_back(idle_connection(io, "127.0.0.6"));
  ASSERT_TRUE(wait_open(4));
  auto again = idle_connection(io, "127.0.0.5");
  asio::write(*again, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  EXPECT_NE(read_until_closed(*again).find("200 OK"), std::string::npos);
  EXPECT_EQ(read_until_closed(*held[0]), "");
  EXPECT_EQ(server_->counters().displaced, 1u);
  // 127.0.0.5's count is right afterwards: it may hold its three again.
  std::vector<std::unique_ptr<tcp::socket>> more;
  more.reserve(3);
  for (int i = 0; i < 3; ++i) more.push_back(idle_connection(io, "127.0.0.5"));
  ASSERT_TRUE(wait_open(4));
  EXPECT_EQ(server_->counters().refused_per_client, 0u);
}

TEST(ClientKeyTest, IPv6ClientsCountPerSlash64AndMappedIPv4AsIPv4) {
  EXPECT_EQ(client_key(asio::ip::make_address("203.0.113.7")), "203.0.113.7");
  EXPECT_EQ(client_key(asio::ip::make_address("::ffff:203.0.113.7")), "203.0.113.7");
  EXPECT_EQ(client_key(asio::ip::make_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
  EXPECT_EQ(client_key(asio::ip::make_address("2001:db8:1:2::1")), client_key(asio::ip::make_address("2001:db8:1:2:ffff::9")));
}

// Out of descriptors, the connection waiting in the backlog made every accept fail at once: the
// loop spun the I/O thread SIP shares and logged each failure. Now it waits, longer each time,
// and serves again once accept() succeeds.
TEST_F(ServerTest, OutOfDescriptorsTheAcceptLoopWaitsInsteadOfSpinning) {
  // The accept already pending takes the first connection; every try after it fails until the
  // injection ends, and the client waits in the backlog meanwhile.
  server_->fail_accepts_for_test(EMFILE, 1'000'000'000);
  asio::io_context io;
  tcp::socket first(io), client(io);
  first.connect({asio::ip::make_address("127.0.0.1"), server_->local_port()});
  ASSERT_TRUE(wait_open(1));
  client.connect({asio::ip::make_address("127.0.0.1"), server_->local_port()});
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  server_->fail_accepts_for_test(0, 0);
  const ServerCounters counters = server_->counters();
  EXPECT_GE(counters.accept_errors, 1u);
  EXPECT_LE(counters.accept_errors, 12u) << "10, 20, 40 ... ms apart, not a spin";
  const auto cpu_us = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1'000'000LL + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
  };
  EXPECT_LT(cpu_us(after) - cpu_us(before), 200'000) << "CPU time while the accept loop waited";
  asio::write(client, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  EXPECT_NE(read_until_closed(client).find("200 OK"), std::string::npos) << "served once accept() succeeds";
}

TEST(RouterTest, ListsItsRoutesAndAnswersWithoutAServer) {
  Router router;
  router.add(bhttp::verb::get, "/a/{x}", [](const Exchange& e) { return json_response(bhttp::status::ok, {{"x", e.param("x")}}); });
  router.add(bhttp::verb::put, "/a/{x}", [](const Exchange&) { return json_response(bhttp::status::ok, {}); });
  ASSERT_EQ(router.routes().size(), 2u);
  EXPECT_EQ(router.routes()[0].pattern, "/a/{x}");
  Request req{bhttp::verb::get, "/a/42", 11};
  EXPECT_EQ(nlohmann::json::parse(router.dispatch(req).body())["x"], "42");
  Request empty{bhttp::verb::get, "/a/", 11};
  EXPECT_EQ(router.dispatch(empty).result(), bhttp::status::not_found);
}

TEST(RouterTest, EveryRequestGetsAnAccessLineWithTheRouteTemplateNeverThePathOrQuery) {
  Router router;
  router.add(bhttp::verb::get, "/members/{id}", [](const Exchange&) { return json_response(bhttp::status::ok, {}); });
  log::configure(log::Format::json, log::Level::info);
  ::testing::internal::CaptureStderr();
  Request req{bhttp::verb::get, "/members/alice.smith@example.com?phone=%2B447700900123", 11};
  router.dispatch(req, "192.0.2.7");
  Request missing{bhttp::verb::get, "/nobody/bob", 11};
  router.dispatch(missing, "192.0.2.7");
  const std::string out = ::testing::internal::GetCapturedStderr();
  log::configure(log::Format::text, log::Level::warn);  // the test binary's own (app/test_main.cpp)
  const size_t newline = out.find('\n');
  ASSERT_NE(newline, std::string::npos) << out;
  const auto line = nlohmann::json::parse(out.substr(0, newline));
  EXPECT_EQ(line["subsystem"], "http");
  EXPECT_EQ(line["event"], "request");
  EXPECT_EQ(line["method"], "GET");
  EXPECT_EQ(line["route"], "/members/{id}");
  EXPECT_EQ(line["status"], 200);
  EXPECT_TRUE(line["duration_us"].is_number());
  EXPECT_EQ(nlohmann::json::parse(out.substr(newline + 1))["route"], "unmatched");
  for (const char* personal : {"alice", "example.com", "447700900123", "192.0.2.7", "bob"})
    EXPECT_EQ(out.find(personal), std::string::npos) << personal << " in " << out;
}

TEST(HostPortTest, ParsesAndNamesTheFlag) {
  EXPECT_EQ(parse_host_port("127.0.0.1:8080", "http")->port, 8080);
  EXPECT_EQ(parse_host_port("[::1]:5060", "sip")->host, "::1");
  EXPECT_EQ(parse_host_port("nonsense", "http").error().field, "http");
  EXPECT_FALSE(parse_host_port("1.2.3.4:99999", "http").ok());
  EXPECT_FALSE(parse_host_port("1.2.3.4:", "http").ok());
  EXPECT_FALSE(parse_host_port(":80", "http").ok());
}

}  // namespace
}  // namespace privox::http

namespace privox::http {
namespace {

// WebSocket upgrades (Router::add_websocket): the route decides on the pool, a refusal is an HTTP
// answer, an accepted channel carries messages both ways, and one whose still_allowed turns false
// is closed at the next check.
class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.add_websocket("/ws", [this](const Exchange& e) {
      Upgrade out;
      if (e.header("Origin") != "http://portal.example") {
        out.refusal = json_error(bhttp::status::forbidden, "wrong origin", "Origin");
        return out;
      }
      out.subprotocol = "sip";
      out.recheck_every_s = 1;
      out.still_allowed = [this] { return allowed_.load(); };
      out.opened = [this](const std::shared_ptr<MessageChannel>& channel) {
        opened_.fetch_add(1);
        remote_ = channel->remote_address();
        secure_ = channel->secure();
        std::weak_ptr<MessageChannel> weak = channel;
        channel->start(
            [weak](std::string_view message) {
              if (auto c = weak.lock()) c->send("echo:" + std::string(message));
            },
            [this] { closed_.fetch_add(1); });  // its own pending read keeps the channel alive, as in sip/
      };
      return out;
    });
    server_ = std::make_unique<Server>(io_, std::move(router), ServerOptions{});
    ASSERT_TRUE(server_->listen({"127.0.0.1", 0}).ok());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->stop(); io_.stop(); });
    thread_.join();
  }

  using Client = boost::beast::websocket::stream<tcp::socket>;
  // A client's handshake with Origin `origin`; the server's answer lands in `response`.
  boost::beast::error_code handshake(Client& ws, const std::string& origin,
                                     boost::beast::websocket::response_type& response) {
    ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), server_->local_port()});
    ws.set_option(boost::beast::websocket::stream_base::decorator([origin](boost::beast::websocket::request_type& req) {
      req.set(bhttp::field::origin, origin);
      req.set(bhttp::field::sec_websocket_protocol, "sip");
    }));
    boost::beast::error_code ec;
    ws.handshake(response, "127.0.0.1", "/ws", ec);
    return ec;
  }

  // ws_ with its handshake from the portal's origin, accepted.
  void open() {
    boost::beast::websocket::response_type response;
    ASSERT_FALSE(handshake(ws_, "http://portal.example", response));
  }
  // How many channels the route saw end, once one has (2 s at most).
  int closed_once_one_has() {
    for (int i = 0; i < 200 && closed_.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return closed_.load();
  }

  asio::io_context io_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  asio::io_context client_io_;
  Client ws_{client_io_};
  std::atomic<bool> allowed_{true};
  std::atomic<int> opened_{0}, closed_{0};
  std::string remote_;
  bool secure_ = true;
};

TEST_F(WebSocketTest, ARefusedUpgradeIsAnsweredInHttpAndOpensNothing) {
  asio::io_context io;
  Client ws(io);
  boost::beast::websocket::response_type response;
  EXPECT_EQ(handshake(ws, "http://elsewhere.example", response), boost::beast::websocket::error::upgrade_declined);
  // The refusal itself, as a plain HTTP client reads it.
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server_->local_port()});
  const std::string request =
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://elsewhere.example\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  boost::beast::flat_buffer buffer;
  Response refusal;
  bhttp::read(socket, buffer, refusal);
  EXPECT_EQ(refusal.result(), bhttp::status::forbidden);
  EXPECT_NE(refusal.body().find("wrong origin"), std::string::npos) << refusal.body();
  EXPECT_EQ(opened_.load(), 0);
}

TEST_F(WebSocketTest, AnAcceptedChannelCarriesMessagesBothWaysAndNamesItsSubprotocol) {
  boost::beast::websocket::response_type response;
  ASSERT_FALSE(handshake(ws_, "http://portal.example", response));
  EXPECT_EQ(response.result(), bhttp::status::switching_protocols);
  EXPECT_EQ(response[bhttp::field::sec_websocket_protocol], "sip");
  for (const std::string text : {"REGISTER sip:x SIP/2.0", "second"}) {
    ws_.write(asio::buffer(text));
    boost::beast::flat_buffer in;
    ws_.read(in);
    EXPECT_EQ(boost::beast::buffers_to_string(in.data()), "echo:" + text);
  }
  EXPECT_EQ(opened_.load(), 1);
  EXPECT_EQ(remote_, "127.0.0.1");
  EXPECT_FALSE(secure_);
  EXPECT_EQ(server_->counters().open, 1u) << "the channel holds its connection's slot";
  ws_.close(boost::beast::websocket::close_code::normal);
  EXPECT_EQ(closed_once_one_has(), 1);
}

TEST_F(WebSocketTest, AChannelNoLongerAllowedIsClosedAtTheNextCheck) {
  ASSERT_NO_FATAL_FAILURE(open());
  allowed_ = false;  // the portal session ended, say
  boost::beast::flat_buffer in;
  boost::beast::error_code ec;
  const auto began = std::chrono::steady_clock::now();
  ws_.read(in, ec);  // returns once the server closes
  EXPECT_TRUE(ec);
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5));
  EXPECT_EQ(closed_once_one_has(), 1);
}

// RFC 6455 lets a sender split one message into frames; the channel hands the layer above the
// whole message (RFC 7118: one SIP message per WebSocket message), however it was framed.
TEST_F(WebSocketTest, AMessageSentInSeveralFramesArrivesWhole) {
  ASSERT_NO_FATAL_FAILURE(open());
  ws_.text(true);
  ws_.write_some(false, asio::buffer(std::string("INVITE sip:201@example SIP/2.0\r\n")));
  ws_.write_some(false, asio::buffer(std::string("Via: SIP/2.0/WSS h.invalid;branch=z9hG4bK1\r\n")));
  ws_.write_some(true, asio::buffer(std::string("\r\n")));
  boost::beast::flat_buffer in;
  ws_.read(in);
  EXPECT_EQ(boost::beast::buffers_to_string(in.data()),
            "echo:INVITE sip:201@example SIP/2.0\r\nVia: SIP/2.0/WSS h.invalid;branch=z9hG4bK1\r\n\r\n");
}

// A message over max_websocket_message_bytes (64 KiB) is not read into memory: the server closes
// the WebSocket with 1009 (message too big) and the layer above is told the channel ended.
TEST_F(WebSocketTest, AMessageOverTheLimitClosesTheChannelWith1009) {
  ASSERT_NO_FATAL_FAILURE(open());
  ws_.write(asio::buffer(std::string(ServerOptions{}.max_websocket_message_bytes + 1, 'x')));
  boost::beast::flat_buffer in;
  boost::beast::error_code ec;
  ws_.read(in, ec);
  EXPECT_EQ(ec, boost::beast::websocket::error::closed) << ec.message();
  EXPECT_EQ(ws_.reason().code, boost::beast::websocket::close_code::too_big);
  EXPECT_EQ(closed_once_one_has(), 1);
  EXPECT_EQ(in.size(), 0u) << "nothing was echoed";
}

}  // namespace
}  // namespace privox::http

namespace privox::http {
namespace {

// Under the portal's certificate the same route opens a wss channel: the softphone's WebSocket is
// as encrypted as the portal's pages.
TEST(SecureWebSocketTest, AnUpgradeOverTlsOpensASecureChannel) {
  privox::testing::TempDir dir;
  privox::testing::write_tls_pair(dir.file("cert.pem"), dir.file("key.pem"));
  std::atomic<bool> secure{false};
  std::atomic<int> opened{0}, closed{0};
  Router router;
  router.add_websocket("/ws", [&](const Exchange& e) {
    Upgrade out;
    EXPECT_TRUE(e.tls());
    out.subprotocol = "sip";
    out.opened = [&](const std::shared_ptr<MessageChannel>& channel) {
      secure = channel->secure();
      opened.fetch_add(1);
      std::weak_ptr<MessageChannel> weak = channel;
      channel->start(
          [weak](std::string_view message) {
            if (auto c = weak.lock()) c->send("echo:" + std::string(message));
          },
          [&closed] { closed.fetch_add(1); });  // its own pending read keeps the channel alive
    };
    return out;
  });
  ServerOptions options;
  options.tls = TlsFiles{dir.file("cert.pem"), dir.file("key.pem")};
  asio::io_context io;
  Server server(io, std::move(router), options);
  ASSERT_TRUE(server.listen({"127.0.0.1", 0}).ok());
  std::thread thread([&] { io.run(); });

  asio::io_context client_io;
  asio::ssl::context client_tls(asio::ssl::context::tls_client);
  client_tls.set_verify_mode(asio::ssl::verify_none);  // the test's own self-signed certificate
  boost::beast::websocket::stream<boost::beast::ssl_stream<tcp::socket>> ws(client_io, client_tls);
  boost::beast::get_lowest_layer(ws).connect({asio::ip::make_address("127.0.0.1"), server.local_port()});
  ws.next_layer().handshake(asio::ssl::stream_base::client);
  ws.set_option(boost::beast::websocket::stream_base::decorator([](boost::beast::websocket::request_type& req) {
    req.set(bhttp::field::sec_websocket_protocol, "sip");
  }));
  boost::beast::websocket::response_type response;
  ws.handshake(response, "127.0.0.1", "/ws");
  EXPECT_EQ(response[bhttp::field::sec_websocket_protocol], "sip");
  ws.write(asio::buffer(std::string("OPTIONS sip:x SIP/2.0")));
  boost::beast::flat_buffer in;
  ws.read(in);
  EXPECT_EQ(boost::beast::buffers_to_string(in.data()), "echo:OPTIONS sip:x SIP/2.0");
  EXPECT_EQ(opened.load(), 1);
  EXPECT_TRUE(secure.load()) << "a channel upgraded from HTTPS says it is secure (wss)";
  boost::beast::error_code ignored;
  ws.close(boost::beast::websocket::close_code::normal, ignored);
  // The server sees the close before it stops.
  for (int i = 0; i < 200 && closed.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(closed.load(), 1);
  asio::post(io, [&] { server.stop(); io.stop(); });
  thread.join();
}

}  // namespace
}  // namespace privox::http
