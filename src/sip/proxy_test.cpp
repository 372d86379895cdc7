#include "sip/proxy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <vector>

#include "sip/builder.h"
#include "sip/memory_directory.h"
#include "sip/registrar.h"

namespace privox::sip {
namespace {

struct FakeSender final : Sender {
  void send(const Peer& to, std::string_view bytes) override { sent.push_back({to, std::string(bytes)}); }
  struct Sent {
    Peer to;
    std::string bytes;
  };
  std::vector<Sent> sent;
  size_t count(const Peer& to, std::string_view start) const {
    size_t n = 0;
    for (const Sent& s : sent) n += s.to.same_address(to) && s.bytes.rfind(start, 0) == 0;
    return n;
  }
};

// A traffic sink whose writer is paused: opened() callbacks wait until the test releases them.
struct PausedSink final : traffic::TrafficSink {
  void opened(const traffic::CallRecord& record, traffic::Durable done) override {
    opened_records.push_back(record);
    waiting.push_back(std::move(done));
  }
  void closed(const traffic::CallRecord& record) override { closed_records.push_back(record); }
  void release(const Status& outcome) {
    auto done = std::move(waiting.front());
    waiting.pop_front();
    done(outcome);
  }
  std::vector<traffic::CallRecord> opened_records, closed_records;
  std::deque<traffic::Durable> waiting;
};

// The proxy with everything below it real but the network (a fake sender), the clock, the
// directory (filled by hand) and the traffic sink (paused).
class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Peer::parse("192.0.2.50", 5060, TransportKind::udp, carrier_));
    ASSERT_TRUE(Peer::parse("192.0.2.7", 5062, TransportKind::udp, phone_));
    DirectoryUpdate update;
    update.replace_all = true;
    update.extensions.push_back({"line-1", "company-1", "GB", "101", "101", "+442079460958", "", "", {}});
    update.trunks.push_back({"trunk-1", "carrier", carrier_, true});
    directory_.apply(update);
    Binding phone;
    phone.contact = "sip:101@192.0.2.7:5062";
    phone.peer = phone_;
    phone.expires_at_us = clock_.now_us() + 3'600'000'000;
    location_.apply({{"line-1", phone, false}}, [](const Status&) {});
    proxy_.attach(layer_, registrar_);
  }

  void feed(const std::string& bytes, const Peer& from) {
    storage_.push_back(bytes);  // the Message views must outlive the call
    Message m;
    ParseError error;
    ASSERT_TRUE(parse_message(storage_.back(), m, error)) << error.reason << "\n" << bytes;
    layer_.receive(m, from);
  }

  // The carrier calls the line's DID (from the trunk's own port unless `from` says otherwise);
  // returns the INVITE the proxy forwarded to the phone.
  Message call_in(std::optional<Peer> from = std::nullopt) {
    const Peer source = from.value_or(carrier_);
    feed(fmt::format("INVITE sip:442079460958@127.0.0.1 SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP {0};branch=z9hG4bK-in-1\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
                     "To: <sip:442079460958@127.0.0.1>\r\n"
                     "Call-ID: call-1@192.0.2.50\r\n"
                     "CSeq: 1 INVITE\r\n"
                     "Contact: <sip:+14155550123@{0}>\r\n"
                     "Content-Length: 0\r\n\r\n",
                     source.host_port()),
         source);
    Message forwarded;
    for (const FakeSender::Sent& s : sender_.sent)
      if (s.to.same_address(phone_) && s.bytes.rfind("INVITE", 0) == 0) {
        storage_.push_back(s.bytes);
        ParseError error;
        EXPECT_TRUE(parse_message(storage_.back(), forwarded, error)) << error.reason;
      }
    return forwarded;
  }

  // The phone answers `status` to the INVITE it was sent.
  void phone_answers(const Message& invite, int status, std::string_view reason) {
    feed(build_response(invite, status, reason, "phone-tag"), phone_);
  }

  FakeClock clock_{1'795'000'000'000'000};
  FakeSender sender_;
  TimerQueue timers_;
  MemoryDirectory directory_;
  std::array<uint8_t, 32> nonce_key_{};
  NonceService nonces_{nonce_key_, clock_};
  Authenticator auth_{directory_, nonces_, "privox"};
  Location location_{nullptr};
  PausedSink sink_;
  Peer carrier_, phone_;
  Proxy proxy_{ProxyConfig{.host = "127.0.0.1", .port = 5060, .ring_timeout_us = 60'000'000},
               directory_, auth_, location_, sink_, sender_, timers_, clock_};
  TransactionLayer layer_{sender_, timers_, clock_, proxy_};
  Registrar registrar_{layer_, auth_, location_, clock_};
  std::deque<std::string> storage_;
};

TEST_F(ProxyTest, TheAnswerReachesTheCallerOnlyOnceTheCallsRecordIsDurable) {
  const Message invite = call_in();
  ASSERT_EQ(invite.method(), Method::invite) << "the INVITE was forked to the phone";
  phone_answers(invite, 180, "Ringing");
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 180"), 1u) << "provisional responses pass at once";

  phone_answers(invite, 200, "OK");
  ASSERT_EQ(sink_.opened_records.size(), 1u) << "the record is handed over as the call is answered";
  EXPECT_EQ(sink_.opened_records[0].direction, traffic::Direction::inbound);
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 0u) << "not before the record is durable (R1)";
  phone_answers(invite, 200, "OK");  // the phone repeats its 2xx while it waits for the ACK
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 0u) << "nor its retransmission";

  sink_.release({});
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 1u) << "the answer goes out once the record is durable";
  phone_answers(invite, 200, "OK");
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 2u) << "later retransmissions pass as before";
  EXPECT_EQ(proxy_.dialogs(), 1u);
}

// A kill -9 while the answer is held loses the record with the process; the phone, whose 200 was
// never ACKed, repeats it to the restarted proxy, which has no transaction for it. Passing it on
// (RFC 6026's stateless forwarding) would connect the caller on a call with no record: bench/
// run-sip-crash.sh and crash_e2e.sh found exactly these once the first answer was held.
TEST_F(ProxyTest, AfterARestartTheRepeatedAnswerOfACallWithoutARecordIsNotPassedOn) {
  const Message invite = call_in();
  phone_answers(invite, 200, "OK");
  ASSERT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 0u) << "held for the record";

  // The process dies and starts again on the same address: nothing in memory survives.
  FakeSender sender;
  TimerQueue timers;
  PausedSink sink;
  Proxy restarted{ProxyConfig{.host = "127.0.0.1", .port = 5060, .ring_timeout_us = 60'000'000},
                  directory_, auth_, location_, sink, sender, timers, clock_};
  TransactionLayer layer{sender, timers, clock_, restarted};
  Registrar registrar{layer, auth_, location_, clock_};
  restarted.attach(layer, registrar);
  storage_.push_back(build_response(invite, 200, "OK", "phone-tag"));
  Message repeated;
  ParseError error;
  ASSERT_TRUE(parse_message(storage_.back(), repeated, error)) << error.reason;
  layer.receive(repeated, phone_);
  EXPECT_EQ(sender.count(carrier_, "SIP/2.0 200"), 0u) << "no record, no answer (R1)";
}

// Once the record is durable the call is this process's dialog, and a 2xx repeated after the
// transaction is gone still reaches the caller (§16.7, RFC 6026).
TEST_F(ProxyTest, ARepeatedAnswerOfARecordedCallPassesAfterItsTransactionIsGone) {
  const Message invite = call_in();
  phone_answers(invite, 200, "OK");
  sink_.release({});
  ASSERT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 1u);
  // Past timer M (64*T1) the client transaction is gone: the next copy matches nothing.
  clock_.advance_us(40'000'000);
  timers_.run_due(clock_.now_us());
  phone_answers(invite, 200, "OK");
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 2u);
}

TEST_F(ProxyTest, ACallWhoseRecordCannotBeMadeDurableIsRefused) {
  const Message invite = call_in();
  phone_answers(invite, 200, "OK");
  sink_.release(make_error(ErrorCode::unavailable, "the store is down"));
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 0u) << "an unbilled call is never connected (R1)";
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 500"), 1u);
  EXPECT_EQ(proxy_.dialogs(), 0u);
  EXPECT_EQ(proxy_.calls_in_progress(), 0u);
}

TEST_F(ProxyTest, ACancelWhileTheAnswerIsHeldDoesNotTurnItIntoA487) {
  const Message invite = call_in();
  phone_answers(invite, 200, "OK");
  feed("CANCEL sip:442079460958@127.0.0.1 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-in-1\r\n"
       "Max-Forwards: 70\r\n"
       "From: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
       "To: <sip:442079460958@127.0.0.1>\r\n"
       "Call-ID: call-1@192.0.2.50\r\n"
       "CSeq: 1 CANCEL\r\n"
       "Content-Length: 0\r\n\r\n",
       carrier_);
  sink_.release({});
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 487"), 0u) << "the call was answered before the CANCEL came";
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 2u) << "the CANCEL's 200, and the INVITE's";
}

// Issue 12: the carrier sends from a port other than the provisioned one (another process behind
// its load balancer). Its call to a DID is the trusted trunk's and rings without a challenge. A
// REGISTER from its address is challenged all the same (a carrier never registers to privox), and
// its call to an extension's internal number, which is no DID, finds nothing, as before.
TEST_F(ProxyTest, ATrustedTrunkIsKnownFromAnyPortButARegisterFromItsAddressIsChallenged) {
  Peer other_port = carrier_;
  other_port.port = 5099;
  const Message invite = call_in(other_port);
  EXPECT_EQ(sender_.count(other_port, "SIP/2.0 407"), 0u) << "a trusted trunk's call needs no digest";
  ASSERT_EQ(invite.method(), Method::invite) << "the INVITE was forked to the phone";
  EXPECT_EQ(sender_.count(other_port, "SIP/2.0 100"), 1u);
  EXPECT_EQ(proxy_.calls_in_progress(), 1u);

  feed("REGISTER sip:127.0.0.1 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.0.2.50:5099;branch=z9hG4bK-reg-1\r\n"
       "Max-Forwards: 70\r\n"
       "From: <sip:101@127.0.0.1>;tag=r1\r\n"
       "To: <sip:101@127.0.0.1>\r\n"
       "Call-ID: reg-1@192.0.2.50\r\n"
       "CSeq: 1 REGISTER\r\n"
       "Contact: <sip:101@192.0.2.50:5099>\r\n"
       "Content-Length: 0\r\n\r\n",
       other_port);
  EXPECT_EQ(sender_.count(other_port, "SIP/2.0 401"), 1u) << "a REGISTER is never the trunk's";
  EXPECT_EQ(sender_.count(other_port, "SIP/2.0 200"), 0u);

  feed("INVITE sip:101@127.0.0.1 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.0.2.50:5099;branch=z9hG4bK-in-2\r\n"
       "Max-Forwards: 70\r\n"
       "From: <sip:+14155550123@192.0.2.50>;tag=c2\r\n"
       "To: <sip:101@127.0.0.1>\r\n"
       "Call-ID: call-2@192.0.2.50\r\n"
       "CSeq: 1 INVITE\r\n"
       "Contact: <sip:+14155550123@192.0.2.50:5099>\r\n"
       "Content-Length: 0\r\n\r\n",
       other_port);
  EXPECT_EQ(sender_.count(other_port, "SIP/2.0 404"), 1u) << "a trunk reaches lines by their DIDs only";
  EXPECT_EQ(proxy_.calls_in_progress(), 1u);
}

// An SMS privox sends itself is recorded with the equipment the carrier's answer names (P5).
TEST_F(ProxyTest, AnSmsPrivoxSendsRecordsTheEquipmentTheCarrierAnswersWith) {
  int answered = 0;
  proxy_.send_message({"+447700900555", "+447700900123", "Hello", "company-1", "line-1"},
                      [&](int status) { answered = status; });
  Message sent;
  for (const FakeSender::Sent& s : sender_.sent)
    if (s.to.same_address(carrier_) && s.bytes.rfind("MESSAGE", 0) == 0) {
      storage_.push_back(s.bytes);
      ParseError error;
      ASSERT_TRUE(parse_message(storage_.back(), sent, error)) << error.reason;
    }
  ASSERT_EQ(sent.method(), Method::message) << "the MESSAGE went to the trunk";
  std::string answer = build_response(sent, 202, "Accepted", "carrier-tag");
  answer.insert(answer.find("\r\n") + 2, "Server: CarrierSBC/4.2\r\n");
  feed(answer, carrier_);
  EXPECT_EQ(answered, 202);
  ASSERT_EQ(sink_.closed_records.size(), 1u);
  EXPECT_EQ(sink_.closed_records[0].kind, traffic::Kind::sms);
  EXPECT_EQ(sink_.closed_records[0].callee_equipment, "CarrierSBC/4.2");
}

}  // namespace
}  // namespace privox::sip
