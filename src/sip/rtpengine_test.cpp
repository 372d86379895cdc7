// The ng client against a real rtpengine (Debian's rtpengine-daemon, userspace forwarding only),
// started by the fixture on loopback ports of its own; and against a silent UDP socket, which is
// what a relay that has died looks like.
#include "sip/rtpengine.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "media/sdp.h"
#include "sip/bencode.h"
#include "sip/test_rtpengine.h"

namespace privox::sip {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using namespace std::chrono_literals;

constexpr char kOffer[] =
    "v=0\r\no=alice 2890844526 2890844526 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";
constexpr char kAnswer[] =
    "v=0\r\no=bob 2808844564 2808844564 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 49180 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

// The client on its own loop; run() turns the loop and the timer queue until `done` or 10 s.
class RtpengineClientTest : public ::testing::Test {
 protected:
  void start_client(uint16_t port, RtpengineOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = port;
    options.published_state = &published_;
    client_ = std::make_unique<RtpengineClient>(io_, timers_, clock_, options);
    ASSERT_TRUE(client_->open().ok());
  }
  template <class Pred>
  bool run_until(Pred done, std::chrono::milliseconds limit = 10s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
      io_.restart();
      io_.run_for(5ms);
      timers_.run_due(clock_.now_us());
    }
    return done();
  }
  RelayReply call(const std::function<void(RtpengineClient::Done)>& command) {
    std::optional<RelayReply> reply;
    command([&](RelayReply r) { reply = std::move(r); });
    EXPECT_TRUE(run_until([&] { return reply.has_value(); }));
    return reply.value_or(RelayReply{});
  }
  void TearDown() override {
    if (client_) client_->stop();
  }

  asio::io_context io_;
  TimerQueue timers_;
  SystemClock clock_;
  std::atomic<uint8_t> published_{0};
  std::unique_ptr<RtpengineClient> client_;
};

// rtpengine itself, for the tests that need a relay that answers.
class RealRtpengineTest : public RtpengineClientTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(rtpengine_.started()) << "rtpengine (Debian's rtpengine-daemon) must be installed: make test-deps";
    start_client(rtpengine_.port());
    // It takes a moment to listen; the client's pings find out when it does.
    ASSERT_TRUE(run_until([&] { return client_->state() == RelayState::up; }, 10s)) << "rtpengine did not answer";
  }
  TestRtpengine rtpengine_;
};

std::string media_port(std::string_view sdp) {
  const size_t m = sdp.find("m=audio ");
  if (m == std::string_view::npos) return "";
  return std::string(sdp.substr(m + 8, sdp.find(' ', m + 8) - m - 8));
}

// Each side gets the profile its own hop calls for, and rtpengine turns one into the other.
TEST_F(RealRtpengineTest, GivesEachSideTheMediaProfileItsHopCallsFor) {
  // A plain caller, a callee over TLS: the callee is offered SDES-keyed SRTP, never a NULL suite.
  const RelayReply offered = call(
      [&](auto done) { client_->offer({"srtp-1@test", "tag-a", ""}, kOffer, done, MediaProfile::srtp); });
  ASSERT_TRUE(offered.ok()) << offered.reason;
  EXPECT_NE(offered.sdp.find("RTP/SAVP"), std::string::npos) << offered.sdp;
  EXPECT_TRUE(media::audio_encrypted(offered.sdp)) << offered.sdp;
  EXPECT_EQ(offered.sdp.find("NULL_HMAC"), std::string::npos) << offered.sdp;
  EXPECT_EQ(offered.sdp.find("GCM"), std::string::npos) << "RFC 4568's suites only, which every phone keys right";
  EXPECT_NE(offered.sdp.find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 "), std::string::npos) << offered.sdp;
  EXPECT_EQ(offered.sdp.find("a=fingerprint"), std::string::npos) << "SDES only, for desk phones";
  // The callee answers with one of the suites; the plain caller hears plain RTP back.
  const size_t crypto = offered.sdp.find("a=crypto:");
  ASSERT_NE(crypto, std::string::npos);
  const std::string key_line = offered.sdp.substr(crypto, offered.sdp.find("\r\n", crypto) + 2 - crypto);
  const std::string srtp_answer = std::string(kAnswer).replace(std::string(kAnswer).find("RTP/AVP"), 7, "RTP/SAVP") + key_line;
  const RelayReply answered =
      call([&](auto done) { client_->answer({"srtp-1@test", "tag-a", "tag-b"}, srtp_answer, done); });
  ASSERT_TRUE(answered.ok()) << answered.reason;
  EXPECT_NE(answered.sdp.find("RTP/AVP"), std::string::npos) << answered.sdp;
  EXPECT_FALSE(media::audio_encrypted(answered.sdp));

  // An SRTP caller, a plain callee (the trunk, voicemail): the callee gets plain RTP, the caller
  // keeps SRTP in the answer.
  const std::string srtp_offer = std::string(kOffer).replace(std::string(kOffer).find("RTP/AVP"), 7, "RTP/SAVP") +
                                 "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
  const RelayReply plain = call(
      [&](auto done) { client_->offer({"srtp-2@test", "tag-a", ""}, srtp_offer, done, MediaProfile::rtp); });
  ASSERT_TRUE(plain.ok()) << plain.reason;
  EXPECT_NE(plain.sdp.find("RTP/AVP"), std::string::npos) << plain.sdp;
  EXPECT_FALSE(media::audio_encrypted(plain.sdp));
  const RelayReply back =
      call([&](auto done) { client_->answer({"srtp-2@test", "tag-a", "tag-b"}, kAnswer, done); });
  ASSERT_TRUE(back.ok()) << back.reason;
  EXPECT_TRUE(media::audio_encrypted(back.sdp)) << back.sdp;
  client_->remove("srtp-1@test");
  client_->remove("srtp-2@test");
}

// A browser's side (the portal's softphone) gets DTLS-SRTP with ICE and RTP/RTCP on one port, the
// desk phone's side plain RTP without ICE, whichever of the two calls.
TEST_F(RealRtpengineTest, GivesABrowserDtlsSrtpWithIceAndADeskPhonePlainRtp) {
  const RelayReply to_browser = call(
      [&](auto done) { client_->offer({"webrtc-1@test", "tag-a", ""}, kOffer, done, MediaProfile::webrtc); });
  ASSERT_TRUE(to_browser.ok()) << to_browser.reason;
  EXPECT_NE(to_browser.sdp.find("UDP/TLS/RTP/SAVPF"), std::string::npos) << to_browser.sdp;
  EXPECT_NE(to_browser.sdp.find("a=fingerprint:"), std::string::npos) << to_browser.sdp;
  EXPECT_NE(to_browser.sdp.find("a=ice-ufrag:"), std::string::npos) << to_browser.sdp;
  EXPECT_NE(to_browser.sdp.find("a=candidate:"), std::string::npos) << to_browser.sdp;
  EXPECT_NE(to_browser.sdp.find("a=rtcp-mux"), std::string::npos) << to_browser.sdp;
  EXPECT_EQ(to_browser.sdp.find("a=crypto:"), std::string::npos) << "no SDES keys towards a browser";
  EXPECT_TRUE(media::audio_encrypted(to_browser.sdp)) << to_browser.sdp;

  // The browser calls: its offer is DTLS with ICE; the desk phone is offered plain RTP and no ICE,
  // and the answer back to the browser keeps ICE and DTLS.
  const std::string browser_offer =
      "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 0 101\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
      "a=ice-ufrag:Hk3f\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n"
      "a=fingerprint:sha-256 12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0\r\n"
      "a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n"
      "a=rtpmap:101 telephone-event/8000\r\n"
      "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0\r\n";
  const RelayReply to_desk = call(
      [&](auto done) { client_->offer({"webrtc-2@test", "tag-a", ""}, browser_offer, done, MediaProfile::rtp); });
  ASSERT_TRUE(to_desk.ok()) << to_desk.reason;
  EXPECT_NE(to_desk.sdp.find("RTP/AVP"), std::string::npos) << to_desk.sdp;
  EXPECT_EQ(to_desk.sdp.find("a=ice-ufrag"), std::string::npos) << to_desk.sdp;
  EXPECT_EQ(to_desk.sdp.find("a=fingerprint"), std::string::npos) << to_desk.sdp;
  EXPECT_EQ(to_desk.sdp.find("a=rtcp-mux"), std::string::npos) << "a desk phone gets RTCP on its own port";
  const RelayReply back = call([&](auto done) {
    client_->answer({"webrtc-2@test", "tag-a", "tag-b"}, kAnswer, done, MediaProfile::webrtc);
  });
  ASSERT_TRUE(back.ok()) << back.reason;
  EXPECT_NE(back.sdp.find("UDP/TLS/RTP/SAVPF"), std::string::npos) << back.sdp;
  EXPECT_NE(back.sdp.find("a=ice-ufrag:"), std::string::npos) << back.sdp;
  EXPECT_NE(back.sdp.find("a=fingerprint:"), std::string::npos) << back.sdp;
  EXPECT_NE(back.sdp.find("a=rtcp-mux"), std::string::npos) << back.sdp;
  client_->remove("webrtc-1@test");
  client_->remove("webrtc-2@test");
}

TEST_F(RealRtpengineTest, RelaysAnOfferAndItsAnswerThenQueriesAndDeletesTheCall) {
  EXPECT_EQ(published_.load(), static_cast<uint8_t>(RelayState::up));
  const RelayReply offered = call([&](auto done) { client_->offer({"call-1@test", "tag-a", ""}, kOffer, done); });
  ASSERT_TRUE(offered.ok()) << offered.reason;
  // The caller's media now goes to rtpengine: its address, a port of its own, the same codecs.
  EXPECT_NE(offered.sdp.find("c=IN IP4 127.0.0.1"), std::string::npos) << offered.sdp;
  const std::string port = media_port(offered.sdp);
  EXPECT_FALSE(port.empty());
  EXPECT_NE(port, "49170");
  EXPECT_NE(offered.sdp.find("PCMA/8000"), std::string::npos);
  EXPECT_NE(offered.sdp.find("telephone-event/8000"), std::string::npos);

  const RelayReply answered =
      call([&](auto done) { client_->answer({"call-1@test", "tag-a", "tag-b"}, kAnswer, done); });
  ASSERT_TRUE(answered.ok()) << answered.reason;
  EXPECT_NE(media_port(answered.sdp), "49180");
  EXPECT_NE(media_port(answered.sdp), port);

  using Command = RtpengineClient::Command;
  const auto replies = [&](Command c, RelayReply::Outcome o) {
    return client_->stats().replies.at(static_cast<size_t>(c)).at(static_cast<size_t>(o));
  };
  EXPECT_EQ(client_->stats().calls, 1u) << "the relay carries the call";
  EXPECT_EQ(replies(Command::offer, RelayReply::Outcome::ok), 1u);
  EXPECT_EQ(replies(Command::answer, RelayReply::Outcome::ok), 1u);

  const RelayReply queried = call([&](auto done) { client_->query("call-1@test", done); });
  ASSERT_TRUE(queried.ok()) << queried.reason;
  bencode::Document doc;
  std::string error;
  ASSERT_TRUE(doc.parse(queried.raw, error)) << error;
  const bencode::Node* tags = doc.find(doc.root(), "tags");
  ASSERT_NE(tags, nullptr);
  EXPECT_NE(doc.find(*tags, "tag-a"), nullptr);
  EXPECT_NE(doc.find(*tags, "tag-b"), nullptr);

  client_->remove("call-1@test");
  ASSERT_TRUE(run_until([&] { return client_->waiting() == 0; }));
  const RelayReply gone = call([&](auto done) { client_->query("call-1@test", done); });
  EXPECT_EQ(gone.outcome, RelayReply::Outcome::refused);  // rtpengine: unknown call
  EXPECT_FALSE(gone.reason.empty());
  EXPECT_EQ(client_->stats().calls, 0u) << "a deleted call is no longer carried";
  EXPECT_EQ(replies(Command::remove, RelayReply::Outcome::ok), 1u);
  EXPECT_EQ(replies(Command::query, RelayReply::Outcome::ok), 1u);
  EXPECT_EQ(replies(Command::query, RelayReply::Outcome::refused), 1u);
}

TEST_F(RealRtpengineTest, AnSdpItCannotUseIsRefusedWithItsReason) {
  const RelayReply reply = call([&](auto done) { client_->offer({"call-2@test", "tag-a", ""}, "not an SDP", done); });
  EXPECT_EQ(reply.outcome, RelayReply::Outcome::refused);
  EXPECT_FALSE(reply.reason.empty());
  EXPECT_EQ(client_->state(), RelayState::up);  // a refusal is an answer
}

// A relay that is not there: a bound socket that never answers.
TEST_F(RtpengineClientTest, ARelayThatDoesNotAnswerIsDownAndLaterCommandsFailAtOnce) {
  asio::io_context other;
  udp::socket silent(other, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  RtpengineOptions fast;
  fast.first_retry_us = 20'000;
  fast.attempts = 3;
  start_client(silent.local_endpoint().port(), fast);
  const auto began = std::chrono::steady_clock::now();
  const RelayReply reply = call([&](auto done) { client_->offer({"call-3@test", "tag-a", ""}, kOffer, done); });
  EXPECT_EQ(reply.outcome, RelayReply::Outcome::no_answer);
  EXPECT_EQ(client_->stats().replies.at(0).at(static_cast<size_t>(RelayReply::Outcome::no_answer)), 1u);
  EXPECT_EQ(client_->stats().calls, 0u) << "an offer without an answer is no call carried";
  EXPECT_GE(std::chrono::steady_clock::now() - began, 100ms);  // 20 + 40 + 80 ms of retransmissions
  EXPECT_EQ(client_->state(), RelayState::down);
  EXPECT_EQ(published_.load(), static_cast<uint8_t>(RelayState::down));
  // Retransmissions repeat the same cookie and bytes, so rtpengine would apply the command once.
  std::array<char, 4096> buf{};
  udp::endpoint from;
  std::vector<std::string> offers;
  silent.non_blocking(true);
  boost::system::error_code ec;
  while (true) {
    const size_t n = silent.receive_from(asio::buffer(buf), from, 0, ec);
    if (ec) break;
    if (std::string datagram(buf.data(), n); datagram.find("5:offer") != std::string::npos) offers.push_back(datagram);
  }
  ASSERT_EQ(offers.size(), 3u);
  EXPECT_EQ(offers[0], offers[1]);
  EXPECT_EQ(offers[1], offers[2]);

  bool answered_at_once = false;
  client_->offer({"call-4@test", "tag-a", ""}, kOffer, [&](const RelayReply& r) {
    answered_at_once = r.outcome == RelayReply::Outcome::no_answer;
  });
  EXPECT_TRUE(answered_at_once);
}

// A reply must repeat the cookie: one that does not is ignored, and an unreadable one is an answer
// that says so.
TEST_F(RtpengineClientTest, RepliesAreMatchedByCookieAndUnreadableOnesAreRefusals) {
  asio::io_context other;
  udp::socket relay(other, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  start_client(relay.local_endpoint().port());
  std::array<char, 4096> buf{};
  udp::endpoint from;
  // The client's first ping: answered with a stranger's cookie, then with its own but garbage.
  relay.receive_from(asio::buffer(buf), from);
  std::optional<RelayReply> reply;
  client_->query("call-5@test", [&](RelayReply r) { reply = std::move(r); });
  size_t n = 0;
  std::string request;
  do {
    n = relay.receive_from(asio::buffer(buf), from);
    request.assign(buf.data(), n);
  } while (request.find("5:query") == std::string::npos);
  const std::string cookie = request.substr(0, request.find(' '));
  relay.send_to(asio::buffer(std::string("nobody d6:result2:oke")), from);
  relay.send_to(asio::buffer(cookie + " d6:result2:ok"), from);
  ASSERT_TRUE(run_until([&] { return reply.has_value(); }, 2s));
  EXPECT_EQ(reply->outcome, RelayReply::Outcome::refused);
  EXPECT_NE(reply->reason.find("unreadable"), std::string::npos);
}

}  // namespace
}  // namespace privox::sip
