#include "sip/transaction.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "sip/builder.h"

namespace privox::sip {
namespace {

constexpr int64_t kT1 = 500'000;

struct FakeTransactionSender final : Sender {
  void send(const Peer& to, std::string_view bytes) override { sent.push_back({to, std::string(bytes)}); }
  struct Sent {
    Peer to;
    std::string bytes;
  };
  std::vector<Sent> sent;
  size_t count_starting(std::string_view start) const {
    size_t n = 0;
    for (const Sent& s : sent) n += s.bytes.rfind(start, 0) == 0;
    return n;
  }
};

struct RecordingUser final : TransactionUser {
  void on_request(TxId tx, const Message& m, const Peer&) override {
    requests.emplace_back(tx, std::string(m.method_text()));
  }
  void on_ack(const Message&, const Peer&) override { ++acks; }
  void on_response(TxId tx, const Message& m) override { responses.emplace_back(tx, m.status()); }
  void on_timeout(TxId tx) override { timeouts.push_back(tx); }
  void on_stray_response(const Message&, const Peer&) override { ++strays; }

  std::vector<std::pair<TxId, std::string>> requests;
  std::vector<std::pair<TxId, int>> responses;
  std::vector<TxId> timeouts;
  int acks = 0;
  int strays = 0;
};

std::string request(std::string_view method, std::string_view branch, int cseq = 1,
                    std::string_view cseq_method = {}) {
  return fmt::format(
      "{} sip:bob@example.org SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch={}\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:alice@example.org>;tag=a1\r\n"
      "To: <sip:bob@example.org>\r\n"
      "Call-ID: call-1@192.0.2.10\r\n"
      "CSeq: {} {}\r\n"
      "Content-Length: 0\r\n\r\n",
      method, branch, cseq, cseq_method.empty() ? method : cseq_method);
}

std::string response(int status, std::string_view branch, std::string_view method, std::string_view to_tag = "b1") {
  return fmt::format(
      "SIP/2.0 {} Whatever\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1:5060;branch={}\r\n"
      "From: <sip:alice@example.org>;tag=a1\r\n"
      "To: <sip:bob@example.org>;tag={}\r\n"
      "Call-ID: call-1@192.0.2.10\r\n"
      "CSeq: 1 {}\r\n"
      "Content-Length: 0\r\n\r\n",
      status, branch, to_tag, method);
}

class TransactionTest : public ::testing::Test {
 protected:
  void feed(const std::string& bytes, Peer from) {
    storage_.push_back(bytes);  // the Message views must outlive the call
    Message m;
    ParseError error;
    ASSERT_TRUE(parse_message(storage_.back(), m, error)) << error.reason << "\n" << bytes;
    layer_.receive(m, from);
  }
  // Answers the request fed last, in the transaction the layer gave it.
  void respond_to_last(int status, std::string_view reason) {
    Message m;
    ParseError e;
    ASSERT_TRUE(parse_message(storage_.back(), m, e)) << e.reason;
    layer_.respond(user_.requests.back().first, build_response(m, status, reason, "t"), status);
  }
  void advance(int64_t us) {
    clock_.advance_us(us);
    timers_.run_due(clock_.now_us());
  }

  Peer udp_ = Peer::from_ipv4(0xC000020A, 5060);  // 192.0.2.10
  Peer tcp_ = Peer::from_ipv4(0xC000020A, 5060, TransportKind::tcp);
  FakeClock clock_{1'000'000'000};
  TimerQueue timers_;
  FakeTransactionSender sender_;
  RecordingUser user_;
  TransactionLayer layer_{sender_, timers_, clock_, user_, {}, {.max_in_flight = 4, .retry_after_s = 7}};
  std::deque<std::string> storage_;
};

TEST_F(TransactionTest, ServerInviteAbsorbsRetransmissionsAndResendsTheLastResponse) {
  feed(request("INVITE", "z9hG4bK-1"), udp_);
  ASSERT_EQ(user_.requests.size(), 1u);
  const TxId tx = user_.requests[0].first;
  Message m;
  ParseError e;
  ASSERT_TRUE(parse_message(storage_.back(), m, e));
  layer_.respond(tx, build_response(m, 100, "Trying", ""), 100);
  feed(request("INVITE", "z9hG4bK-1"), udp_);
  EXPECT_EQ(user_.requests.size(), 1u);  // not a new request
  EXPECT_EQ(sender_.count_starting("SIP/2.0 100"), 2u);
  EXPECT_EQ(layer_.stats().retransmissions_absorbed, 1u);
}

TEST_F(TransactionTest, ServerInviteFinalErrorIsRetransmittedWithTimerGUntilTheAck) {
  feed(request("INVITE", "z9hG4bK-2"), udp_);
  respond_to_last(486, "Busy Here");
  EXPECT_EQ(sender_.count_starting("SIP/2.0 486"), 1u);
  advance(kT1);      // G fires at T1
  advance(2 * kT1);  // then 2*T1
  EXPECT_EQ(sender_.count_starting("SIP/2.0 486"), 3u);
  feed(request("ACK", "z9hG4bK-2", 1), udp_);
  EXPECT_EQ(user_.acks, 0);  // the non-2xx ACK belongs to the transaction
  advance(4 * kT1);
  EXPECT_EQ(sender_.count_starting("SIP/2.0 486"), 3u);  // no more after the ACK
  advance(5'000'000);                                     // timer I
  EXPECT_EQ(layer_.held(), 0u);
}

TEST_F(TransactionTest, ServerInviteGivesUpAfterTimerHWithoutAck) {
  feed(request("INVITE", "z9hG4bK-3"), udp_);
  respond_to_last(404, "Not Found");
  for (int i = 0; i < 127; ++i) advance(kT1 / 2);
  EXPECT_EQ(layer_.held(), 1u);  // timer H runs to 64*T1
  // Sent at 0, then at T1, 3T1, 7T1, 15T1 (intervals doubling up to T2 = 8T1), then every T2.
  EXPECT_EQ(sender_.count_starting("SIP/2.0 404"), 11u);
  advance(kT1 / 2);
  EXPECT_EQ(layer_.held(), 0u);
}

TEST_F(TransactionTest, AckForA2xxGoesToTheUser) {
  feed(request("INVITE", "z9hG4bK-4"), udp_);
  respond_to_last(200, "OK");
  feed(request("ACK", "z9hG4bK-new", 1), udp_);  // a 2xx ACK has a branch of its own
  EXPECT_EQ(user_.acks, 1);
}

TEST_F(TransactionTest, ServerNonInviteLingersOverUdpButNotOverTcp) {
  feed(request("OPTIONS", "z9hG4bK-5"), udp_);
  respond_to_last(200, "OK");
  EXPECT_EQ(layer_.held(), 1u);
  feed(request("OPTIONS", "z9hG4bK-5"), udp_);
  EXPECT_EQ(sender_.count_starting("SIP/2.0 200"), 2u);
  advance(64 * kT1);  // timer J
  EXPECT_EQ(layer_.held(), 0u);

  feed(request("OPTIONS", "z9hG4bK-6"), tcp_);
  respond_to_last(200, "OK");
  EXPECT_EQ(layer_.held(), 0u);
}

TEST_F(TransactionTest, ClientInviteRetransmitsWithTimerAAndTimesOutWithTimerB) {
  const TxId tx = layer_.send_request(udp_, request("INVITE", "z9hG4bK-c1"), Method::invite, "z9hG4bK-c1");
  advance(kT1);
  advance(2 * kT1);
  advance(4 * kT1);
  EXPECT_EQ(sender_.count_starting("INVITE"), 4u);
  advance(64 * kT1);
  ASSERT_EQ(user_.timeouts.size(), 1u);
  EXPECT_EQ(user_.timeouts[0], tx);
  EXPECT_EQ(layer_.held(), 0u);
}

TEST_F(TransactionTest, ClientInviteStopsRetransmittingOnAProvisionalAndAcksAnError) {
  const TxId tx = layer_.send_request(udp_, request("INVITE", "z9hG4bK-c2"), Method::invite, "z9hG4bK-c2");
  feed(response(180, "z9hG4bK-c2", "INVITE"), udp_);
  advance(64 * kT1);
  EXPECT_EQ(sender_.count_starting("INVITE"), 1u);
  EXPECT_TRUE(user_.timeouts.empty());  // no timer B once ringing
  feed(response(486, "z9hG4bK-c2", "INVITE"), udp_);
  EXPECT_EQ(sender_.count_starting("ACK"), 1u);
  feed(response(486, "z9hG4bK-c2", "INVITE"), udp_);  // retransmitted final: ACK again, not reported
  EXPECT_EQ(sender_.count_starting("ACK"), 2u);
  ASSERT_EQ(user_.responses.size(), 2u);
  EXPECT_EQ(user_.responses[0], std::make_pair(tx, 180));
  EXPECT_EQ(user_.responses[1], std::make_pair(tx, 486));
}

TEST_F(TransactionTest, ClientInvitePassesEvery2xxOnForTheProxyToForward) {
  const TxId tx = layer_.send_request(udp_, request("INVITE", "z9hG4bK-c3"), Method::invite, "z9hG4bK-c3");
  feed(response(200, "z9hG4bK-c3", "INVITE"), udp_);
  feed(response(200, "z9hG4bK-c3", "INVITE"), udp_);
  EXPECT_EQ(user_.responses.size(), 2u);
  EXPECT_EQ(sender_.count_starting("ACK"), 0u);  // the 2xx ACK is end to end, not ours
  advance(64 * kT1);                              // timer M
  EXPECT_EQ(layer_.held(), 0u);
  (void)tx;
}

TEST_F(TransactionTest, CancelWaitsForAProvisionalResponse) {
  const TxId tx = layer_.send_request(udp_, request("INVITE", "z9hG4bK-c4"), Method::invite, "z9hG4bK-c4");
  layer_.cancel(tx);
  EXPECT_EQ(sender_.count_starting("CANCEL"), 0u);
  feed(response(180, "z9hG4bK-c4", "INVITE"), udp_);
  ASSERT_EQ(sender_.count_starting("CANCEL"), 1u);
  Message cancel;
  ParseError e;
  const auto& sent = sender_.sent.back().bytes;
  ASSERT_TRUE(parse_message(sent, cancel, e)) << e.reason;
  EXPECT_EQ(cancel.method(), Method::cancel);
  EXPECT_EQ(cancel.top_via().branch(), "z9hG4bK-c4");  // same branch as the INVITE
  EXPECT_EQ(cancel.cseq().number, 1u);
  feed(response(200, "z9hG4bK-c4", "CANCEL"), udp_);
  feed(response(487, "z9hG4bK-c4", "INVITE"), udp_);
  EXPECT_EQ(sender_.count_starting("ACK"), 1u);
}

TEST_F(TransactionTest, ClientNonInviteRetransmitsCappedAtT2AndTimesOutWithTimerF) {
  layer_.send_request(udp_, request("MESSAGE", "z9hG4bK-c5"), Method::message, "z9hG4bK-c5");
  for (int i = 0; i < 12; ++i) advance(kT1);  // 6 s: T1, 2T1, 4T1, then every T2 (4 s)
  EXPECT_EQ(sender_.count_starting("MESSAGE"), 4u);
  advance(64 * kT1);
  EXPECT_EQ(user_.timeouts.size(), 1u);
}

TEST_F(TransactionTest, ResponsesThatMatchNothingAreStray) {
  feed(response(200, "z9hG4bK-unknown", "INVITE"), udp_);
  EXPECT_EQ(user_.strays, 1);
}

TEST_F(TransactionTest, PastTheLimitNewRequestsGet503WithRetryAfterAndNoState) {
  for (int i = 0; i < 4; ++i) feed(request("OPTIONS", fmt::format("z9hG4bK-o{}", i)), udp_);
  EXPECT_EQ(layer_.in_flight(), 4u);
  feed(request("OPTIONS", "z9hG4bK-o9"), udp_);
  EXPECT_EQ(layer_.in_flight(), 4u);
  EXPECT_EQ(user_.requests.size(), 4u);
  ASSERT_EQ(sender_.count_starting("SIP/2.0 503"), 1u);
  EXPECT_NE(sender_.sent.back().bytes.find("Retry-After: 7\r\n"), std::string::npos);
}

TEST_F(TransactionTest, LingeringTransactionsDoNotCountAgainstTheLimit) {
  for (int i = 0; i < 6; ++i) {
    feed(request("OPTIONS", fmt::format("z9hG4bK-l{}", i)), udp_);
    respond_to_last(200, "OK");
  }
  EXPECT_EQ(layer_.held(), 6u);       // each lingers for timer J
  EXPECT_EQ(layer_.in_flight(), 0u);  // but none is working
  EXPECT_EQ(sender_.count_starting("SIP/2.0 503"), 0u);
}

TEST_F(TransactionTest, AStatelessChallengeKeepsNoStateAndARetransmissionIsANewRequest) {
  feed(request("REGISTER", "z9hG4bK-s1"), udp_);
  Message m;
  ParseError e;
  ASSERT_TRUE(parse_message(storage_.back(), m, e));
  layer_.respond_statelessly(user_.requests[0].first, build_response(m, 401, "Unauthorized", "t"), 401);
  EXPECT_EQ(sender_.count_starting("SIP/2.0 401"), 1u);
  EXPECT_EQ(layer_.held(), 0u);
  feed(request("REGISTER", "z9hG4bK-s1"), udp_);
  EXPECT_EQ(user_.requests.size(), 2u);  // answered afresh, with a fresh challenge
}

TEST_F(TransactionTest, CancelFindsItsInvite) {
  feed(request("INVITE", "z9hG4bK-7"), udp_);
  feed(request("CANCEL", "z9hG4bK-7"), udp_);
  ASSERT_EQ(user_.requests.size(), 2u);
  Message cancel;
  ParseError e;
  ASSERT_TRUE(parse_message(storage_.back(), cancel, e));
  EXPECT_EQ(layer_.find_invite_for(cancel, udp_), user_.requests[0].first);
}

}  // namespace
}  // namespace privox::sip
