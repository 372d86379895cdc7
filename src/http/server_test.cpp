#include "http/server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <nlohmann/json.hpp>
#include <thread>

namespace privox::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.add(bhttp::verb::get, "/healthz", [](const Request&) { return json_response(bhttp::status::ok, {{"status", "ok"}}); });
    router.add(bhttp::verb::post, "/echo", [](const Request& r) {
      return json_response(bhttp::status::ok, {{"body", r.body()}});
    });
    router.add(bhttp::verb::get, "/boom", [](const Request&) -> Response { throw std::runtime_error("kaboom"); });
    server_ = std::make_unique<Server>(io_, std::move(router));
    ASSERT_TRUE(server_->listen({"127.0.0.1", 0}).ok());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->stop(); io_.stop(); });
    thread_.join();
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
