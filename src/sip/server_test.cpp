#include "sip/server.h"

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cerrno>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/testing.h"
#include "http/test_tls.h"

namespace privox::sip {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct CountingMessageSink final : MessageSink {
  void on_message(const Message&, const Peer& from) override {
    ++messages;
    last_from = from;
  }
  int messages = 0;
  Peer last_from;
};

// The server on loopback, port 0, its deadlines on a fake clock and its sweep every 5 ms of real time.
class ServerTcpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TcpLimits limits;
    limits.max_per_source = 2;
    limits.first_message_us = 1'000'000;
    limits.message_us = 2'000'000;
    limits.max_message_bytes = 2048;
    limits.sweep_every_us = 5'000;
    server_ = std::make_unique<Server>(io_, timers_, clock_, limits);
    server_->set_sink(&sink_);
    ASSERT_TRUE(server_->listen("127.0.0.1", 0).ok());
  }
  void TearDown() override { server_->stop(); }

  std::unique_ptr<tcp::socket> connect() {
    auto s = std::make_unique<tcp::socket>(io_);
    s->connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    s->non_blocking(true);
    return s;
  }
  // Runs the event loop for a while, the fake clock standing still (sweeps see it).
  void run(std::chrono::milliseconds d = 60ms) {
    io_.restart();
    io_.run_for(d);
  }
  // Whether the server closed the connection (a read sees the end of the stream).
  static bool closed(tcp::socket& s) {
    char buf[512];
    boost::system::error_code ec;
    while (true) {
      s.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::would_block) return false;
      if (ec) return true;
    }
  }
  static void send(tcp::socket& s, std::string_view bytes) { asio::write(s, asio::buffer(bytes.data(), bytes.size())); }
  std::string options(int n) const {
    return "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-t" + std::to_string(n) +
           "\r\nFrom: <sip:probe@127.0.0.1>;tag=t\r\nTo: <sip:127.0.0.1>\r\nCall-ID: c" + std::to_string(n) +
           "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  }

  asio::io_context io_;
  TimerQueue timers_;
  FakeClock clock_{1'780'000'000'000'000};
  CountingMessageSink sink_;
  std::unique_ptr<Server> server_;
};

// Issue 10: one source could take every connection. Now it holds at most its share.
TEST_F(ServerTcpTest, ASourceHoldsOnlyItsShareOfConnections) {
  auto a = connect(), b = connect(), c = connect();
  run();
  EXPECT_EQ(server_->tcp_connections(), 2u);
  EXPECT_EQ(server_->stats().tcp_refused, 1u);
  EXPECT_TRUE(closed(*c));
  EXPECT_FALSE(closed(*a));
  // When one goes, the source may open another.
  a->close();
  run();
  auto d = connect();
  run();
  EXPECT_FALSE(closed(*d));
  EXPECT_EQ(server_->tcp_connections(), 2u);
}

// Issue 16: a phone behind NAT keeps its TCP or TLS flow with RFC 5626 keep-alives; a double-CRLF
// ping gets a single-CRLF pong, and a pong gets nothing back.
TEST_F(ServerTcpTest, ADoubleCrlfPingGetsACrlfPong) {
  auto phone = connect();
  run();
  send(*phone, "\r\n\r\n");
  run();
  char buf[16];
  boost::system::error_code ec;
  const size_t n = phone->read_some(asio::buffer(buf), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string_view(buf, n), "\r\n");
  send(*phone, "\r\n");
  run();
  phone->read_some(asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::would_block) << "a pong is not answered";
  send(*phone, options(1));
  run();
  EXPECT_EQ(sink_.messages, 1) << "the flow still carries messages";
  EXPECT_EQ(server_->stats().tcp_refused + server_->stats().tcp_closed_slow, 0u);
}

// Issue 16: a TCP phone's connection closes (idle past TcpLimits::idle_us, or a node restarted),
// and the phone re-registers only at its expiry. Requests for it were dropped until then; now a
// peer that listens (the registrar marks a Contact on the phone's own host) gets a new connection,
// which later requests share. A peer that does not listen is still only reached on its own.
TEST_F(ServerTcpTest, APhoneThatListensIsReachedOnANewConnectionOnceItsOwnHasClosed) {
  tcp::acceptor listening(io_, {asio::ip::make_address("127.0.0.1"), 0});
  auto phone = connect();
  send(*phone, options(1));
  run();
  ASSERT_EQ(sink_.messages, 1);
  Peer contact = sink_.last_from;
  ASSERT_NE(contact.connection, 0u);
  phone->close();
  run();
  ASSERT_EQ(server_->tcp_connections(), 0u);

  Peer source_only = contact;  // where the closed connection came from: nobody listens there
  server_->send(source_only, options(2));
  run();
  EXPECT_EQ(server_->stats().send_errors, 1u);
  EXPECT_EQ(server_->stats().tcp_opened, 0u) << "only a peer that listens gets a connection opened";

  contact.port = listening.local_endpoint().port();
  contact.listens = true;
  server_->send(contact, options(3));
  server_->send(contact, options(4));  // while it connects: queued on the same connection
  tcp::socket reopened(io_);
  bool accepted = false;
  listening.async_accept(reopened, [&](boost::system::error_code ec) { accepted = !ec; });
  run();
  ASSERT_TRUE(accepted);
  EXPECT_EQ(server_->stats().tcp_opened, 1u);
  EXPECT_EQ(server_->tcp_connections(), 1u);
  std::string got(4096, '\0');
  boost::system::error_code ec;
  got.resize(reopened.read_some(asio::buffer(got), ec));
  EXPECT_NE(got.find("Call-ID: c3\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("Call-ID: c4\r\n"), std::string::npos) << got;

  clock_.advance_us(1'500'000);
  run();
  EXPECT_EQ(server_->tcp_connections(), 1u) << "a connection privox opened owes no first message by a deadline";

  // The phone speaks on the connection privox opened; a later request rides it too.
  reopened.non_blocking(true);
  send(reopened, options(5));
  server_->send(contact, options(6));
  run();
  EXPECT_EQ(sink_.messages, 2);
  EXPECT_TRUE(sink_.last_from.listens);
  EXPECT_EQ(server_->stats().tcp_opened, 1u);
}

TEST_F(ServerTcpTest, AConnectionThatCannotBeOpenedIsDroppedAndCounted) {
  Peer nobody;
  nobody.transport = TransportKind::tcp;
  nobody.listens = true;
  nobody.address = {127, 0, 0, 1};
  {
    tcp::acceptor closed_port(io_, {asio::ip::make_address("127.0.0.1"), 0});
    nobody.port = closed_port.local_endpoint().port();
  }  // nothing listens there now: the connect is refused
  server_->send(nobody, options(1));
  run();
  EXPECT_EQ(server_->stats().tcp_opened, 1u);
  EXPECT_EQ(server_->stats().tcp_open_failures, 1u);
  EXPECT_EQ(server_->tcp_connections(), 0u);
}

// Idle connections that never sent a message were swept only after 300 s.
TEST_F(ServerTcpTest, AConnectionMustSendACompleteMessageSoon) {
  auto silent = connect(), talking = connect();
  run();
  send(*talking, options(1));
  run();
  EXPECT_EQ(sink_.messages, 1);
  clock_.advance_us(1'500'000);
  run();
  EXPECT_TRUE(closed(*silent));
  EXPECT_FALSE(closed(*talking)) << "a connection in use stays";
  EXPECT_EQ(server_->stats().tcp_closed_slow, 1u);
}

TEST_F(ServerTcpTest, AMessageMustBeFinishedInTimeAndWithinItsSize) {
  auto dripping = connect();
  run();
  send(*dripping, options(1));
  const std::string next = options(2);
  send(*dripping, std::string_view(next).substr(0, 40));
  run();
  for (int i = 0; i < 3; ++i) {  // a byte now and then keeps it active, but never finishes the message
    clock_.advance_us(900'000);
    send(*dripping, std::string_view(next).substr(40 + static_cast<size_t>(i), 1));
    run();
  }
  EXPECT_TRUE(closed(*dripping));

  auto big = connect();
  run();
  std::string huge = "OPTIONS sip:127.0.0.1 SIP/2.0\r\n";
  while (huge.size() < 3000) huge += "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  boost::system::error_code ec;
  asio::write(*big, asio::buffer(huge), ec);  // may fail part-way once the server closes
  run();
  EXPECT_TRUE(closed(*big));
  EXPECT_EQ(server_->stats().tcp_closed_memory, 1u);
  EXPECT_EQ(server_->tcp_connections(), 0u);
}

// Issue 10 item 2: out of descriptors, a pending connection made every accept fail at once, and the
// listener spun the I/O thread it shares with UDP and logged each failure. Now it pauses between
// tries, longer each time, and takes the waiting connections once accept works again.
TEST_F(ServerTcpTest, OutOfDescriptorsTheListenerWaitsInsteadOfSpinning) {
  run(10ms);  // the listener's first accept is pending: the injection starts with the next
  server_->fail_accepts_for_test(EMFILE, 1'000'000'000);
  auto a = connect(), b = connect(), c = connect();  // the first is taken by the pending accept
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  run(300ms);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  const uint64_t errors = server_->stats().accept_errors;
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 12u) << "10, 20, 40 ... ms apart over 300 ms, not a spin";
  const auto cpu_us = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1'000'000LL + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
  };
  EXPECT_LT(cpu_us(after) - cpu_us(before), 150'000) << "CPU time while the listener waited";
  EXPECT_EQ(server_->tcp_connections(), 1u);
  server_->fail_accepts_for_test(0, 0);
  run(1200ms);  // the wait is at most a second
  EXPECT_EQ(server_->tcp_connections(), 2u) << "the waiting connections are taken, up to the source's share";
  EXPECT_EQ(server_->stats().tcp_refused, 1u);
}

// A WebSocket as the portal hands one over: what the server writes is kept, and the test plays the
// browser's messages and its closing.
class RecordedChannel final : public MessageChannel {
 public:
  void start(std::function<void(std::string_view)> on_message, std::function<void()> on_closed) override {
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);
  }
  void send(std::string_view message) override { sent.emplace_back(message); }
  void close() override {
    closed = true;
    if (auto done = std::move(on_closed_)) done();
  }
  const std::string& remote_address() const override { return address_; }
  uint16_t remote_port() const override { return 50123; }
  bool secure() const override { return true; }

  void arrive(std::string_view message) { on_message_(message); }
  std::vector<std::string> sent;
  bool closed = false;

 private:
  std::string address_ = "192.0.2.44";
  std::function<void(std::string_view)> on_message_;
  std::function<void()> on_closed_;
};

struct RecordingSink final : MessageSink {
  void on_message(const Message& m, const Peer& from) override {
    peers.push_back(from);
    methods.emplace_back(m.method_text());
  }
  std::vector<Peer> peers;
  std::vector<std::string> methods;
};

// A softphone's WebSocket is a flow like a TCP connection: each message reaches the sink from a
// wss peer on its own connection, what is sent to that peer goes out on it, the flow's credential
// is found by its peer until the channel closes, and a banned or over-share source is refused.
TEST_F(ServerTcpTest, AWebSocketFlowCarriesSipBothWaysWithItsCredential) {
  RecordingSink sink;
  server_->set_sink(&sink);
  auto channel = std::make_shared<RecordedChannel>();
  server_->attach_websocket(channel, {"k7f3q9x2m4ab", "md5-ha1", "sha256-ha1"});
  channel->arrive(options(1));
  ASSERT_EQ(sink.peers.size(), 1u);
  const Peer browser = sink.peers[0];
  EXPECT_EQ(browser.transport, TransportKind::wss);
  EXPECT_EQ(browser.host_port(), "192.0.2.44:50123");
  EXPECT_NE(browser.connection, 0u);
  EXPECT_TRUE(browser.private_signalling());
  ASSERT_NE(server_->credential_of(browser), nullptr);
  EXPECT_EQ(server_->credential_of(browser)->sip_user, "k7f3q9x2m4ab");
  Peer tcp_peer = browser;
  tcp_peer.transport = TransportKind::tcp;
  EXPECT_EQ(server_->credential_of(tcp_peer), nullptr) << "only a WebSocket flow has a credential";

  server_->send(browser, "SIP/2.0 200 OK\r\n\r\n");
  ASSERT_EQ(channel->sent.size(), 1u);
  EXPECT_EQ(channel->sent[0], "SIP/2.0 200 OK\r\n\r\n");

  channel->close();  // the browser went away
  EXPECT_EQ(server_->credential_of(browser), nullptr);
  server_->send(browser, "SIP/2.0 200 OK\r\n\r\n");
  EXPECT_EQ(channel->sent.size(), 1u);

  // The source's share (2 in this fixture) holds for WebSockets as for TCP.
  auto a = std::make_shared<RecordedChannel>(), b = std::make_shared<RecordedChannel>(),
       c = std::make_shared<RecordedChannel>();
  for (const auto& ch : {a, b, c}) server_->attach_websocket(ch, {"u", "x", "y"});
  EXPECT_FALSE(a->closed);
  EXPECT_FALSE(b->closed);
  EXPECT_TRUE(c->closed) << "past the source's share";
}

// RFC 7118 puts one whole SIP message in each WebSocket message, so a SIP message a browser split
// over two is two malformed messages: the half whose head can be read is answered 400, the other
// is dropped, neither reaches the proxy, and the flow carries the next whole message as before.
TEST_F(ServerTcpTest, ASipMessageSplitOverTwoWebSocketMessagesIsRefusedAndTheFlowGoesOn) {
  RecordingSink sink;
  server_->set_sink(&sink);
  auto channel = std::make_shared<RecordedChannel>();
  server_->attach_websocket(channel, {"k7f3q9x2m4ab", "md5-ha1", "sha256-ha1"});
  const std::string whole = options(1);
  const size_t cut = whole.find("Max-Forwards");
  channel->arrive(whole.substr(0, cut));
  channel->arrive(whole.substr(cut));
  EXPECT_TRUE(sink.methods.empty()) << "neither half reached the proxy";
  EXPECT_EQ(server_->stats().malformed, 2u);
  ASSERT_EQ(channel->sent.size(), 1u);
  EXPECT_TRUE(channel->sent[0].starts_with("SIP/2.0 400 ")) << channel->sent[0];
  EXPECT_FALSE(channel->closed);
  channel->arrive(options(2));
  ASSERT_EQ(sink.methods.size(), 1u);
  EXPECT_EQ(sink.methods[0], "OPTIONS");
}

// Issue 16: privox opened a new connection to a TCP phone that listens, but never to a TLS one,
// which stayed unreachable once its connection closed. Now it does, and only to the certificate
// the phone presented on the connection it registered over: an impostor at the phone's address
// gets the handshake and not a byte of SIP, and a phone that presented none is not called back.
class ServerTlsTest : public ServerTcpTest {
 protected:
  using TlsStream = asio::ssl::stream<tcp::socket>;

  void SetUp() override {
    ServerTcpTest::SetUp();
    for (const char* who : {"node", "phone", "impostor"})
      privox::testing::write_tls_pair(dir_.file(std::string(who) + ".pem"), dir_.file(std::string(who) + ".key"));
    auto contexts = make_tls_contexts(dir_.file("node.pem"), dir_.file("node.key"));
    ASSERT_TRUE(contexts.ok()) << contexts.error().message;
    ASSERT_TRUE(server_->listen_tls("127.0.0.1", 0, *contexts).ok());
  }
  // A context with `who`'s certificate ("" for none), as a phone's client or server side.
  std::unique_ptr<asio::ssl::context> context(const std::string& who, bool server) {
    auto ctx = std::make_unique<asio::ssl::context>(server ? asio::ssl::context::tls_server
                                                           : asio::ssl::context::tls_client);
    ctx->set_verify_mode(asio::ssl::verify_none);
    if (!who.empty()) {
      ctx->use_certificate_chain_file(dir_.file(who + ".pem"));
      ctx->use_private_key_file(dir_.file(who + ".key"), asio::ssl::context::pem);
    }
    return ctx;
  }
  // Registers (an OPTIONS stands in) over a TLS connection with `who`'s certificate, closes it,
  // and returns the peer the registrar would keep: listening at `port` (Peer::listens).
  Peer registered_then_closed(const std::string& who, uint16_t port) {
    auto ctx = context(who, false);
    TlsStream phone(io_, *ctx);
    phone.next_layer().connect({asio::ip::make_address("127.0.0.1"), server_->tls_port()});
    bool ready = false;
    phone.async_handshake(asio::ssl::stream_base::client, [&](boost::system::error_code ec) { ready = !ec; });
    run();
    EXPECT_TRUE(ready);
    const std::string bytes = options(1);
    asio::async_write(phone, asio::buffer(bytes), [](boost::system::error_code, size_t) {});
    const int before = sink_.messages;
    run();
    EXPECT_EQ(sink_.messages, before + 1);
    Peer contact = sink_.last_from;
    EXPECT_EQ(contact.transport, TransportKind::tls);
    phone.next_layer().close();
    run();
    EXPECT_EQ(server_->tcp_connections(), 0u);
    contact.port = port;
    contact.listens = true;
    return contact;
  }
  // Accepts privox's connection at `listening` as `who`, and returns what it wrote before it closed
  // or the event loop went quiet.
  std::string answer_as(const std::string& who, tcp::acceptor& listening) {
    auto ctx = context(who, true);
    TlsStream phone(io_, *ctx);
    std::string got(4096, '\0');
    size_t n = 0;
    listening.async_accept(phone.next_layer(), [&](boost::system::error_code ec) {
      if (ec) return;
      phone.async_handshake(asio::ssl::stream_base::server, [&](boost::system::error_code hs) {
        if (hs) return;
        phone.async_read_some(asio::buffer(got), [&](boost::system::error_code, size_t read) { n = read; });
      });
    });
    run(200ms);
    got.resize(n);
    return got;
  }

  privox::testing::TempDir dir_;
};

TEST_F(ServerTlsTest, APhoneIsCalledBackOverTlsOnlyWithTheCertificateItRegisteredWith) {
  tcp::acceptor listening(io_, {asio::ip::make_address("127.0.0.1"), 0});
  const Peer contact = registered_then_closed("phone", listening.local_endpoint().port());

  server_->send(contact, options(2));
  EXPECT_EQ(answer_as("impostor", listening), "") << "another certificate at the phone's address gets nothing";
  EXPECT_EQ(server_->stats().tls_pin_mismatches, 1u);
  EXPECT_EQ(server_->tcp_connections(), 0u);

  server_->send(contact, options(3));
  const std::string got = answer_as("phone", listening);
  EXPECT_NE(got.find("Call-ID: c3\r\n"), std::string::npos) << got;
  EXPECT_EQ(server_->stats().tls_pin_mismatches, 1u);
  EXPECT_EQ(server_->stats().tcp_opened, 2u);
  EXPECT_EQ(server_->tcp_connections(), 1u);
}

// After a restart the pin comes back from the store (sip/store_bindings.h): adopted under an id no
// connection has, which the restored binding's peer carries.
TEST_F(ServerTlsTest, AnAdoptedPinLetsItsPhoneBeCalledBack) {
  tcp::acceptor listening(io_, {asio::ip::make_address("127.0.0.1"), 0});
  Peer contact = registered_then_closed("phone", listening.local_endpoint().port());
  const std::optional<CertificatePin> pin = server_->certificate_of(contact);
  ASSERT_TRUE(pin.has_value()) << "the registrar stores the certificate the phone presented";
  contact.connection = server_->adopt_pin(*pin, clock_.now_us() + 60'000'000);
  server_->send(contact, options(2));
  const std::string got = answer_as("phone", listening);
  EXPECT_NE(got.find("Call-ID: c2\r\n"), std::string::npos) << got;
  EXPECT_EQ(server_->stats().tls_pin_mismatches, 0u);
}

TEST_F(ServerTlsTest, APhoneWithoutACertificateIsNotCalledBack) {
  tcp::acceptor listening(io_, {asio::ip::make_address("127.0.0.1"), 0});
  const Peer contact = registered_then_closed("", listening.local_endpoint().port());
  server_->send(contact, options(2));
  run();
  EXPECT_EQ(server_->stats().tls_unpinned, 1u);
  EXPECT_EQ(server_->stats().tcp_opened, 0u);
  EXPECT_EQ(server_->stats().send_errors, 1u);
}

TEST_F(ServerTlsTest, ThePinIsForgottenOnceNoBindingCanNameItsConnection) {
  tcp::acceptor listening(io_, {asio::ip::make_address("127.0.0.1"), 0});
  const Peer contact = registered_then_closed("phone", listening.local_endpoint().port());
  clock_.advance_us(TcpLimits{}.pin_kept_us + 1);
  run();  // the sweep runs every 5 ms
  server_->send(contact, options(2));
  run();
  EXPECT_EQ(server_->stats().tls_unpinned, 1u);
  EXPECT_EQ(server_->stats().tcp_opened, 0u);
}

}  // namespace
}  // namespace privox::sip
