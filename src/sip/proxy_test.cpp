#include "sip/proxy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <mutex>
#include <thread>
#include <optional>
#include <vector>

#include "media/endpoint.h"
#include "media/g711.h"
#include "media/rtp.h"
#include "media/sdp.h"
#include "sip/bencode.h"
#include "sip/builder.h"
#include "sip/memory_directory.h"
#include "sip/registrar.h"
#include "sip/rtpengine.h"
#include "sip/test_proxy.h"
#include "sip/test_rtpengine.h"

namespace privox::sip {
namespace {

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
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 503"), 1u) << "the store was down: try again later";
  EXPECT_NE(sender_.last(carrier_, "SIP/2.0 503").find("\r\nRetry-After: 10\r\n"), std::string::npos);
  EXPECT_EQ(proxy_.dialogs(), 0u);
  EXPECT_EQ(proxy_.calls_in_progress(), 0u);
}

TEST_F(ProxyTest, ACallWhoseRecordTheStoreRefusedIsAnswered500) {
  const Message invite = call_in();
  phone_answers(invite, 200, "OK");
  sink_.release(make_error(ErrorCode::internal, "a constraint failed"));
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 0u);
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 500"), 1u) << "not an outage: retrying will not help";
  EXPECT_EQ(sender_.last(carrier_, "SIP/2.0 500").find("Retry-After"), std::string::npos);
}

TEST_F(ProxyTest, ACancelWhileTheAnswerIsHeldDoesNotTurnItIntoA487) {
  const Message invite = call_in();
  phone_answers(invite, 200, "OK");
  carrier_cancels();
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

// Issue 15: a REFER from the carrier's side of an answered call would have the office's phone
// call whatever number the far end names, on the office's account. privox refuses it (403) and the
// phone never sees it; the call goes on, and the carrier's BYE still ends it.
TEST_F(ProxyTest, ARequestToTransferFromTheCarrierIsRefusedAndTheCallGoesOn) {
  const Message invite = call_in();
  phone_answers(invite, 200, "OK");
  sink_.release({});
  ASSERT_EQ(proxy_.dialogs(), 1u);
  const size_t refers_before = sender_.count(phone_, "REFER");
  feed("REFER sip:101@192.0.2.7:5062 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-refer-1\r\n"
       "Route: <sip:127.0.0.1:5060;lr>\r\n"
       "Max-Forwards: 70\r\n"
       "From: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
       "To: <sip:442079460958@127.0.0.1>;tag=phone-tag\r\n"
       "Call-ID: call-1@192.0.2.50\r\n"
       "CSeq: 2 REFER\r\n"
       "Refer-To: <sip:+19005550100@192.0.2.50>\r\n"
       "Contact: <sip:+14155550123@192.0.2.50:5060>\r\n"
       "Content-Length: 0\r\n\r\n",
       carrier_);
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 403 Transfers requested by the carrier are not accepted"), 1u);
  EXPECT_EQ(sender_.count(phone_, "REFER"), refers_before) << "the phone is never asked to call the number";
  EXPECT_EQ(proxy_.dialogs(), 1u) << "the call goes on";

  carrier_hangs_up(3);
  EXPECT_EQ(sender_.count(phone_, "BYE"), 1u) << "the carrier's BYE reaches the phone";
  EXPECT_EQ(proxy_.dialogs(), 0u);
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


// ---------------------------------------------------------------------------------------------
// The media relay: the same proxy with a real rtpengine (sip/test_rtpengine.h) behind its ng client.

namespace {

constexpr std::string_view kCarrierSdp =
    "v=0\r\no=carrier 1 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
constexpr std::string_view kPhoneSdp =
    "v=0\r\no=phone 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
constexpr std::string_view kPhoneHoldSdp =
    "v=0\r\no=phone 1 2 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";

std::string body_of(std::string_view message) {
  const size_t end = message.find("\r\n\r\n");
  return end == std::string_view::npos ? std::string() : std::string(message.substr(end + 4));
}

// A TLS phone's answer to an SRTP offer: kPhoneSdp as RTP/SAVP, taking the first suite offered (its
// a=crypto line); empty when the offer holds no key.
std::string srtp_answer(std::string_view offer) {
  const size_t crypto = offer.find("a=crypto:");
  if (crypto == std::string_view::npos) return {};
  std::string answer(kPhoneSdp);
  answer.replace(answer.find("RTP/AVP"), 7, "RTP/SAVP");
  return answer + std::string(offer.substr(crypto, offer.find("\r\n", crypto) + 2 - crypto));
}

}  // namespace

class ProxyRelayTest : public ProxyTest {
 protected:
  void SetUp() override {
    ProxyTest::SetUp();
    ASSERT_TRUE(rtpengine_.started()) << "rtpengine (Debian's rtpengine-daemon) must be installed: make test-deps";
    connect_relay(rtpengine_.port(), RtpengineOptions{});
    // rtpengine takes a moment to listen: the client's pings find out when it does, on the
    // proxy's clock, moved here with real time (no call is up yet).
    for (int i = 0; i < 2000 && relay_->state() != RelayState::up; ++i) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(5));
      clock_.advance_us(5'000);
      timers_.run_due(clock_.now_us());
    }
    ASSERT_EQ(relay_->state(), RelayState::up) << "rtpengine did not answer";
  }
  void TearDown() override {
    if (relay_) relay_->stop();
  }
  void connect_relay(uint16_t port, RtpengineOptions options) {
    if (relay_) relay_->stop();
    options.host = "127.0.0.1";
    options.port = port;
    relay_ = std::make_unique<RtpengineClient>(io_, timers_, clock_, options);
    ASSERT_TRUE(relay_->open().ok());
    proxy_.set_media_relay(relay_.get());
  }
  // Runs the relay's socket (real time; the proxy's clock stands still) until `done`, 5 s at most.
  template <class Pred>
  bool pump_until(Pred done) {
    for (int i = 0; i < 1000 && !done(); ++i) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(5));
    }
    return done();
  }
  // The last message sent to `to` that starts with `start`; empty if none.
  std::string last_to(const Peer& to, std::string_view start) const {
    for (auto it = sender_.sent.rbegin(); it != sender_.sent.rend(); ++it)
      if (it->to.same_address(to) && it->bytes.rfind(start, 0) == 0) return it->bytes;
    return {};
  }
  void carrier_calls_with_sdp() {
    feed(fmt::format("INVITE sip:442079460958@127.0.0.1 SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-in-1\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
                     "To: <sip:442079460958@127.0.0.1>\r\n"
                     "Call-ID: call-1@192.0.2.50\r\n"
                     "CSeq: 1 INVITE\r\n"
                     "Contact: <sip:+14155550123@192.0.2.50:5060>\r\n"
                     "Content-Type: application/sdp\r\n"
                     "Content-Length: {}\r\n\r\n{}",
                     kCarrierSdp.size(), kCarrierSdp),
         carrier_);
  }

  boost::asio::io_context io_;
  TestRtpengine rtpengine_;
  std::unique_ptr<RtpengineClient> relay_;
};

TEST_F(ProxyRelayTest, OfferAnswerAndReInviteGoThroughTheRelayAndTheByeEndsIt) {
  carrier_calls_with_sdp();
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 100"), 1u) << "Trying at once, while the offer is at the relay";
  ASSERT_TRUE(pump_until([&] { return sender_.count(phone_, "INVITE") == 1; }));
  std::string invite_bytes = last_to(phone_, "INVITE");
  const std::string offer = body_of(invite_bytes);
  EXPECT_EQ(offer.find("192.0.2.50"), std::string::npos) << "the phone never learns the carrier's address:\n" << offer;
  EXPECT_NE(offer.find("c=IN IP4 127.0.0.1"), std::string::npos) << offer;
  EXPECT_EQ(offer.find("49170"), std::string::npos);
  EXPECT_NE(invite_bytes.find(fmt::format("Content-Length: {}\r\n", offer.size())), std::string::npos);

  storage_.push_back(invite_bytes);
  Message invite;
  ParseError error;
  ASSERT_TRUE(parse_message(storage_.back(), invite, error)) << error.reason;
  const ExtraHeader sdp_type[] = {{"Content-Type", "application/sdp"}};
  feed(build_response(invite, 200, "OK", "phone-tag", sdp_type, kPhoneSdp), phone_);
  ASSERT_TRUE(pump_until([&] { return sink_.waiting.size() == 1; })) << "the answer went to the relay, then R1";
  sink_.release({});
  const std::string answer = body_of(last_to(carrier_, "SIP/2.0 200"));
  ASSERT_FALSE(answer.empty());
  EXPECT_EQ(answer.find("192.0.2.7"), std::string::npos) << "nor the carrier the phone's:\n" << answer;
  EXPECT_NE(answer.find("c=IN IP4 127.0.0.1"), std::string::npos);
  // The phone repeats its 200 until the ACK: the copies carry the relayed answer too.
  feed(build_response(invite, 200, "OK", "phone-tag", sdp_type, kPhoneSdp), phone_);
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 2u);
  EXPECT_EQ(body_of(last_to(carrier_, "SIP/2.0 200")), answer);

  // The phone puts the call on hold: a re-INVITE, offered anew through the relay.
  const std::string reinvite = fmt::format(
      "INVITE sip:+14155550123@192.0.2.50:5060 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-re-1\r\n"
      "Route: <sip:127.0.0.1:5060;lr>\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:442079460958@127.0.0.1>;tag=phone-tag\r\n"
      "To: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
      "Call-ID: call-1@192.0.2.50\r\n"
      "CSeq: 2 INVITE\r\n"
      "Contact: <sip:101@192.0.2.7:5062>\r\n"
      "Content-Type: application/sdp\r\n"
      "Content-Length: {}\r\n\r\n{}",
      kPhoneHoldSdp.size(), kPhoneHoldSdp);
  feed(reinvite, phone_);
  ASSERT_TRUE(pump_until([&] { return sender_.count(carrier_, "INVITE") == 1; }));
  const std::string hold_offer = body_of(last_to(carrier_, "INVITE"));
  EXPECT_EQ(hold_offer.find("192.0.2.7"), std::string::npos) << hold_offer;
  EXPECT_NE(hold_offer.find("a=sendonly"), std::string::npos) << "the hold itself passes: " << hold_offer;

  storage_.push_back(last_to(carrier_, "INVITE"));
  Message forwarded_reinvite;
  ASSERT_TRUE(parse_message(storage_.back(), forwarded_reinvite, error)) << error.reason;
  feed(build_response(forwarded_reinvite, 200, "OK", "", sdp_type, kCarrierSdp), carrier_);
  ASSERT_TRUE(pump_until([&] { return sender_.count(phone_, "SIP/2.0 200") == 1; }));
  const std::string hold_answer = body_of(last_to(phone_, "SIP/2.0 200"));
  EXPECT_EQ(hold_answer.find("192.0.2.50"), std::string::npos) << hold_answer;
  EXPECT_NE(hold_answer.find("c=IN IP4 127.0.0.1"), std::string::npos);
  // The held party, the carrier, hears music: rtpengine took the file and plays it to its tag.
  const auto played = [&](RtpengineClient::Command command) {
    return relay_->stats().replies[static_cast<size_t>(command)][static_cast<size_t>(RelayReply::Outcome::ok)];
  };
  ASSERT_TRUE(pump_until([&] { return played(RtpengineClient::Command::play_media) == 1; }))
      << "rtpengine played the music on hold (Debian's asterisk-moh-opsound-wav must be installed)";

  // Taken off hold (sendrecv again): the music stops.
  std::string resume = reinvite;
  resume.replace(resume.find("z9hG4bK-re-1"), 12, "z9hG4bK-re-2");
  resume.replace(resume.find("CSeq: 2 INVITE"), 14, "CSeq: 3 INVITE");
  resume.replace(resume.find("a=sendonly\r\n"), 12, "a=sendrecv\r\n");
  feed(resume, phone_);
  ASSERT_TRUE(pump_until([&] { return sender_.count(carrier_, "INVITE") == 2; }));
  storage_.push_back(last_to(carrier_, "INVITE"));
  Message forwarded_resume;
  ASSERT_TRUE(parse_message(storage_.back(), forwarded_resume, error)) << error.reason;
  feed(build_response(forwarded_resume, 200, "OK", "", sdp_type, kCarrierSdp), carrier_);
  ASSERT_TRUE(pump_until([&] { return played(RtpengineClient::Command::stop_media) == 1; }))
      << "the music stopped when the call was taken off hold";

  // A company that uploaded its own music has that file played instead (callflow/music.h): here a
  // path rtpengine cannot open, so that its refusal shows which file it was asked to play.
  DirectoryUpdate own_music;
  own_music.music["company-1"] = "/nonexistent/privox-company-music.wav";
  directory_.apply(own_music);
  std::string hold_again = reinvite;
  hold_again.replace(hold_again.find("z9hG4bK-re-1"), 12, "z9hG4bK-re-3");
  hold_again.replace(hold_again.find("CSeq: 2 INVITE"), 14, "CSeq: 4 INVITE");
  feed(hold_again, phone_);
  ASSERT_TRUE(pump_until([&] { return sender_.count(carrier_, "INVITE") == 3; }));
  storage_.push_back(last_to(carrier_, "INVITE"));
  Message forwarded_again;
  ASSERT_TRUE(parse_message(storage_.back(), forwarded_again, error)) << error.reason;
  feed(build_response(forwarded_again, 200, "OK", "", sdp_type, kCarrierSdp), carrier_);
  const auto refused = [&](RtpengineClient::Command command) {
    return relay_->stats().replies[static_cast<size_t>(command)][static_cast<size_t>(RelayReply::Outcome::refused)];
  };
  ASSERT_TRUE(pump_until([&] { return refused(RtpengineClient::Command::play_media) == 1; }))
      << "the company's own file was asked for, not the node's";
  EXPECT_EQ(played(RtpengineClient::Command::play_media), 1u) << "the node's file was not played again";

  // The carrier hangs up: the BYE passes at once, and rtpengine forgets the call.
  carrier_hangs_up(3);
  EXPECT_EQ(sender_.count(phone_, "BYE"), 1u);
  ASSERT_EQ(sink_.closed_records.size(), 1u);
  EXPECT_EQ(sink_.closed_records[0].end_reason, "bye");
  std::optional<RelayReply> query;
  ASSERT_TRUE(pump_until([&] { return relay_->waiting() == 0; }));
  relay_->query("call-1@192.0.2.50", [&](RelayReply r) { query = std::move(r); });
  ASSERT_TRUE(pump_until([&] { return query.has_value(); }));
  EXPECT_EQ(query->outcome, RelayReply::Outcome::refused) << "rtpengine no longer knows the call: " << query->raw;
}

// Issue 16: a phone reached over TLS is offered SRTP (SDES, never a NULL suite); the carrier's leg
// stays plain RTP; the record says which leg was encrypted. A phone over UDP gets plain RTP.
TEST_F(ProxyRelayTest, APhoneOverTlsIsOfferedSrtpAndTheRecordSaysWhichLegWasEncrypted) {
  Binding old;
  old.contact = "sip:101@192.0.2.7:5062";
  old.peer = phone_;
  Peer tls_phone;
  ASSERT_TRUE(Peer::parse("192.0.2.7", 5063, TransportKind::tls, tls_phone));
  Binding tls;
  tls.contact = "sip:101@192.0.2.7:5063;transport=tls";
  tls.peer = tls_phone;
  tls.expires_at_us = clock_.now_us() + 3'600'000'000;
  location_.apply({{"line-1", old, true}, {"line-1", tls, false}}, [](const Status&) {});

  carrier_calls_with_sdp();
  ASSERT_TRUE(pump_until([&] { return sender_.count(tls_phone, "INVITE") == 1; }));
  const std::string invite_bytes = last_to(tls_phone, "INVITE");
  const std::string offer = body_of(invite_bytes);
  EXPECT_NE(offer.find("m=audio"), std::string::npos);
  EXPECT_NE(offer.find("RTP/SAVP"), std::string::npos) << offer;
  EXPECT_TRUE(media::audio_encrypted(offer)) << offer;
  EXPECT_EQ(offer.find("NULL_HMAC"), std::string::npos) << "no suite that leaves the audio in clear";

  storage_.push_back(invite_bytes);
  Message invite;
  ParseError error;
  ASSERT_TRUE(parse_message(storage_.back(), invite, error)) << error.reason;
  const std::string answer_sdp = srtp_answer(offer);
  ASSERT_FALSE(answer_sdp.empty()) << "the offer holds a key: " << offer;
  const ExtraHeader sdp_type[] = {{"Content-Type", "application/sdp"}};
  feed(build_response(invite, 200, "OK", "phone-tag", sdp_type, answer_sdp), tls_phone);
  ASSERT_TRUE(pump_until([&] { return sink_.waiting.size() == 1; }));
  ASSERT_EQ(sink_.opened_records.size(), 1u);
  EXPECT_EQ(sink_.opened_records[0].caller_encrypted, false) << "the carrier's leg is plain UDP and RTP";
  EXPECT_EQ(sink_.opened_records[0].callee_encrypted, true);
  sink_.release({});
  const std::string answer = body_of(last_to(carrier_, "SIP/2.0 200"));
  EXPECT_NE(answer.find("RTP/AVP"), std::string::npos) << "the carrier hears plain RTP:\n" << answer;
  EXPECT_FALSE(media::audio_encrypted(answer));
}

// The port an SDP's audio goes to (its m=audio line); 0 when it has none.
int audio_port_of(std::string_view sdp) {
  const size_t m = sdp.find("m=audio ");
  return m == std::string_view::npos ? 0 : std::atoi(std::string(sdp.substr(m + 8, 6)).c_str());
}

// The relay's port facing the side of a call tagged `tag` (its first stream), from a query's reply.
int64_t relay_port_facing(std::string_view query, std::string_view tag) {
  bencode::Document doc;
  std::string error;
  if (!doc.parse(query, error)) return -1;
  const bencode::Node* tags = doc.find(doc.root(), "tags");
  const bencode::Node* side = tags ? doc.find(*tags, tag) : nullptr;
  const bencode::Node* medias = side ? doc.find(*side, "medias") : nullptr;
  int64_t port = -1;
  if (!medias) return port;
  doc.for_each_child(*medias, [&](const bencode::Node& media) {
    const bencode::Node* streams = doc.find(media, "streams");
    if (!streams || port != -1) return;
    doc.for_each_child(*streams, [&](const bencode::Node& stream) {
      const bencode::Node* local = doc.find(stream, "local port");
      if (local && port == -1) port = local->number;
    });
  });
  return port;
}

// Issue 16: a line rung on a browser and a desk phone at once. Each gets the offer its kind needs
// (the browser DTLS-SRTP with ICE, the desk phone plain RTP, without a key or candidate it would
// not use), one relay call with a branch for each; the browser answers, and the relay joins the
// caller to the browser's side through the offer the browser got, not the desk phone's.
TEST_F(ProxyRelayTest, ABrowserAndADeskPhoneRungTogetherEachGetTheOfferOfTheirKind) {
  Peer browser;
  ASSERT_TRUE(Peer::parse("127.0.0.1", 50123, TransportKind::ws, browser));
  Binding web;
  web.contact = "sip:k3b9x2@df7jal23ls0d.invalid;transport=ws";
  web.peer = browser;
  web.expires_at_us = clock_.now_us() + 3'600'000'000;
  location_.apply({{"line-1", web, false}}, [](const Status&) {});

  carrier_calls_with_sdp();
  ASSERT_TRUE(pump_until([&] { return sender_.count(phone_, "INVITE") == 1 && sender_.count(browser, "INVITE") == 1; }))
      << "both ring once the relay has both offers";
  storage_.push_back(last_to(phone_, "INVITE"));
  const std::string desk_offer = body_of(storage_.back());
  Message desk_invite;
  ParseError desk_error;
  ASSERT_TRUE(parse_message(storage_.back(), desk_invite, desk_error)) << desk_error.reason;
  feed(build_response(desk_invite, 180, "Ringing", "desk-tag"), phone_);
  const std::string invite_bytes = last_to(browser, "INVITE");
  const std::string web_offer = body_of(invite_bytes);
  EXPECT_NE(desk_offer.find("RTP/AVP"), std::string::npos) << desk_offer;
  EXPECT_EQ(desk_offer.find("a=fingerprint"), std::string::npos) << desk_offer;
  EXPECT_EQ(desk_offer.find("a=candidate"), std::string::npos) << desk_offer;
  EXPECT_NE(web_offer.find("UDP/TLS/RTP/SAVPF"), std::string::npos) << web_offer;
  EXPECT_NE(web_offer.find("a=fingerprint"), std::string::npos) << web_offer;
  EXPECT_NE(web_offer.find("a=candidate"), std::string::npos) << web_offer;
  ASSERT_NE(audio_port_of(desk_offer), audio_port_of(web_offer)) << "two offers, two ports at the relay";

  storage_.push_back(invite_bytes);
  Message invite;
  ParseError error;
  ASSERT_TRUE(parse_message(storage_.back(), invite, error)) << error.reason;
  const std::string browser_answer =
      "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
      "m=audio 50200 UDP/TLS/RTP/SAVPF 8 101\r\nc=IN IP4 127.0.0.1\r\na=ice-ufrag:EsAw\r\n"
      "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=fingerprint:sha-256 "
      "D1:2C:BE:AD:C4:F6:64:5C:25:16:11:9C:AF:E7:0F:73:79:36:4E:9C:1E:15:54:39:0C:06:8B:ED:96:86:00:39\r\n"
      "a=setup:active\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:8 PCMA/8000\r\n"
      "a=rtpmap:101 telephone-event/8000\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50200 typ host\r\n";
  const ExtraHeader sdp_type[] = {{"Content-Type", "application/sdp"}};
  feed(build_response(invite, 200, "OK", "browser-tag", sdp_type, browser_answer), browser);
  ASSERT_TRUE(pump_until([&] { return sink_.waiting.size() == 1; })) << "the browser's answer went to the relay";
  EXPECT_EQ(sender_.count(phone_, "CANCEL"), 1u) << "the desk phone stops ringing";
  EXPECT_EQ(sink_.opened_records[0].callee_encrypted, true) << "the browser's leg is DTLS-SRTP";
  sink_.release({});
  const std::string answer = body_of(last_to(carrier_, "SIP/2.0 200"));
  EXPECT_NE(answer.find("RTP/AVP"), std::string::npos) << "the carrier hears plain RTP:\n" << answer;

  std::optional<RelayReply> query;
  relay_->query("call-1@192.0.2.50", [&](RelayReply r) { query = std::move(r); });
  ASSERT_TRUE(pump_until([&] { return query.has_value(); }));
  ASSERT_TRUE(query->ok()) << query->raw;
  EXPECT_EQ(relay_port_facing(query->raw, "browser-tag"), audio_port_of(web_offer))
      << "the side that answered is the browser's offer: " << query->raw;
}

// A line rung on a TLS phone and a UDP phone at once: the TLS phone still gets SRTP (its own
// offer), the UDP phone plain RTP without keys it could leak; the TLS phone answers through its
// offer, and its leg is recorded encrypted.
TEST_F(ProxyRelayTest, ATlsPhoneRungBesideAUdpPhoneStillGetsSrtp) {
  Peer tls_phone;
  ASSERT_TRUE(Peer::parse("192.0.2.8", 5063, TransportKind::tls, tls_phone));
  Binding tls;
  tls.contact = "sip:101@192.0.2.8:5063;transport=tls";
  tls.peer = tls_phone;
  tls.expires_at_us = clock_.now_us() + 3'600'000'000;
  location_.apply({{"line-1", tls, false}}, [](const Status&) {});

  carrier_calls_with_sdp();
  ASSERT_TRUE(pump_until([&] { return sender_.count(phone_, "INVITE") == 1 && sender_.count(tls_phone, "INVITE") == 1; }));
  const std::string plain_offer = body_of(last_to(phone_, "INVITE"));
  storage_.push_back(last_to(tls_phone, "INVITE"));
  const std::string offer = body_of(storage_.back());
  EXPECT_NE(plain_offer.find("RTP/AVP"), std::string::npos) << plain_offer;
  EXPECT_EQ(plain_offer.find("a=crypto"), std::string::npos) << "keys in a plain SDP would be readable";
  EXPECT_NE(offer.find("RTP/SAVP"), std::string::npos) << offer;
  EXPECT_TRUE(media::audio_encrypted(offer)) << offer;

  Message invite;
  ParseError error;
  ASSERT_TRUE(parse_message(storage_.back(), invite, error)) << error.reason;
  const std::string answer_sdp = srtp_answer(offer);
  ASSERT_FALSE(answer_sdp.empty()) << "the offer holds a key: " << offer;
  const ExtraHeader sdp_type[] = {{"Content-Type", "application/sdp"}};
  feed(build_response(invite, 200, "OK", "tls-tag", sdp_type, answer_sdp), tls_phone);
  ASSERT_TRUE(pump_until([&] { return sink_.waiting.size() == 1; }));
  EXPECT_EQ(sink_.opened_records[0].callee_encrypted, true);
  sink_.release({});

  std::optional<RelayReply> query;
  relay_->query("call-1@192.0.2.50", [&](RelayReply r) { query = std::move(r); });
  ASSERT_TRUE(pump_until([&] { return query.has_value(); }));
  EXPECT_EQ(relay_port_facing(query->raw, "tls-tag"), audio_port_of(offer)) << query->raw;
}

TEST_F(ProxyRelayTest, APhoneOverUdpIsOfferedPlainRtpAndItsLegIsNotEncrypted) {
  carrier_calls_with_sdp();
  ASSERT_TRUE(pump_until([&] { return sender_.count(phone_, "INVITE") == 1; }));
  const std::string invite_bytes = last_to(phone_, "INVITE");
  EXPECT_NE(body_of(invite_bytes).find("RTP/AVP"), std::string::npos);
  EXPECT_EQ(body_of(invite_bytes).find("a=crypto"), std::string::npos) << "keys in a plain SDP would be readable";
  storage_.push_back(invite_bytes);
  Message invite;
  ParseError error;
  ASSERT_TRUE(parse_message(storage_.back(), invite, error)) << error.reason;
  const ExtraHeader sdp_type[] = {{"Content-Type", "application/sdp"}};
  feed(build_response(invite, 200, "OK", "phone-tag", sdp_type, kPhoneSdp), phone_);
  ASSERT_TRUE(pump_until([&] { return sink_.waiting.size() == 1; }));
  EXPECT_EQ(sink_.opened_records[0].caller_encrypted, false);
  EXPECT_EQ(sink_.opened_records[0].callee_encrypted, false);
  sink_.release({});
}

TEST_F(ProxyRelayTest, ANewCallGets503WhileTheRelayDoesNotAnswerAndLeavesARecord) {
  boost::asio::io_context other;
  boost::asio::ip::udp::socket silent(other, {boost::asio::ip::make_address("127.0.0.1"), 0});
  RtpengineOptions options;
  options.attempts = 2;
  connect_relay(silent.local_endpoint().port(), options);
  carrier_calls_with_sdp();
  EXPECT_EQ(sender_.count(phone_, "INVITE"), 0u) << "nothing goes to the phone before the relay has the offer";
  // The retransmissions run on the proxy's (fake) clock: again after 250 ms, then it gives up
  // 500 ms later (before the 503's own retransmission, 500 ms after it, would be due).
  clock_.advance_us(300'000);
  timers_.run_due(clock_.now_us());
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 503"), 0u);
  clock_.advance_us(600'000);
  timers_.run_due(clock_.now_us());
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 503"), 1u);
  EXPECT_EQ(sender_.count(phone_, "INVITE"), 0u);
  ASSERT_EQ(sink_.closed_records.size(), 1u);
  EXPECT_EQ(sink_.closed_records[0].outcome, traffic::Outcome::failed);
  EXPECT_EQ(sink_.closed_records[0].failure_code, 503);
  EXPECT_EQ(proxy_.calls_in_progress(), 0u);
  EXPECT_EQ(relay_->state(), RelayState::down);
}

TEST_F(ProxyRelayTest, AnSdpTheRelayCannotUseGets488) {
  const std::string junk = "this is not an SDP";
  feed(fmt::format("INVITE sip:442079460958@127.0.0.1 SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-in-2\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:+14155550123@192.0.2.50>;tag=c2\r\n"
                   "To: <sip:442079460958@127.0.0.1>\r\n"
                   "Call-ID: call-2@192.0.2.50\r\n"
                   "CSeq: 1 INVITE\r\n"
                   "Content-Type: application/sdp\r\n"
                   "Content-Length: {}\r\n\r\n{}",
                   junk.size(), junk),
       carrier_);
  ASSERT_TRUE(pump_until([&] { return sender_.count(carrier_, "SIP/2.0 488") == 1; }));
  EXPECT_EQ(sender_.count(phone_, "INVITE"), 0u);
  EXPECT_EQ(relay_->state(), RelayState::up);
}

// ---- voicemail: privox answers the calls nobody takes ----

// The store's side, held in memory: the box is never full and has no greeting of its own.
struct BoxesInMemory final : VoicemailBoxes {
  void prepare(std::string, std::function<void(BoxState)> done) override { done({}); }
  void counts(std::vector<std::string>, std::function<void(std::optional<CountsByBox>)> done) override {
    done(CountsByBox{{"line-1", stored}});
  }
  void messages(std::string, std::function<void(std::optional<std::vector<MessageRef>>)> done) override {
    done(std::vector<MessageRef>{});
  }
  void audio(std::string, std::string, std::function<void(std::shared_ptr<const media::Prompt>)> done) override {
    done(nullptr);
  }
  void mark_heard(std::string, std::string) override {}
  void remove(std::string, std::string) override {}
  void check_pin(std::string, std::string, std::function<void(bool)> done) override { done(false); }
  void set_pin(std::string, std::string, std::function<void(bool)> done) override { done(false); }
  void set_greeting(std::string, std::string, int64_t, std::function<void(bool)> done) override { done(false); }
  Counts stored;
};

struct SinkInMemory final : voicemail::VoicemailSink {
  void deposit(voicemail::NewMessage message) override { deposited.push_back(std::move(message)); }
  std::vector<voicemail::NewMessage> deposited;
};

// The proxy with a real media endpoint on loopback; what the endpoint ends is handed to the proxy
// on the test's thread, as the service posts it to the SIP worker.
class ProxyVoicemailTest : public ProxyTest {
 protected:
  void SetUp() override {
    ProxyTest::SetUp();
    media::EndpointConfig config;
    config.first_port = 47000;
    config.last_port = 47999;
    auto e = media::Endpoint::start(config, [this](media::SessionEnd end) {
      std::lock_guard lock(mutex_);
      ended_.push_back(std::move(end));
    });
    ASSERT_TRUE(e.ok()) << e.error().describe();
    endpoint_ = std::move(e).value();
    auto tone = std::make_shared<media::Prompt>();
    tone->samples.assign(800, 1000);  // 100 ms: the tests need not wait for Allison
    VoicemailPrompts& p = desk_.prompts;
    for (auto* sound : {&p.the_person, &p.is_unavailable, &p.is_busy, &p.leave_message, &p.mailbox_full, &p.tone})
      *sound = tone;
    for (auto& digit : p.digits) digit = tone;
    desk_.endpoint = endpoint_.get();
    desk_.sink = &sink_in_memory_;
    desk_.boxes = &boxes_;
    proxy_.set_voicemail(&desk_);
    rtp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ASSERT_EQ(::bind(rtp_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t length = sizeof a;
    ::getsockname(rtp_, reinterpret_cast<sockaddr*>(&a), &length);
    rtp_port_ = ntohs(a.sin_port);
  }
  void TearDown() override { ::close(rtp_); }

  // The carrier calls the DID with an SDP offer for the caller's RTP socket.
  Message call_in_with_sdp() {
    const std::string sdp = fmt::format(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n", rtp_port_);
    feed(fmt::format("INVITE sip:442079460958@127.0.0.1 SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP {0};branch=z9hG4bK-vm-1\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
                     "To: <sip:442079460958@127.0.0.1>\r\n"
                     "Call-ID: vm-1@192.0.2.50\r\n"
                     "CSeq: 1 INVITE\r\n"
                     "Contact: <sip:+14155550123@{0}>\r\n"
                     "Content-Type: application/sdp\r\n"
                     "Content-Length: {1}\r\n\r\n{2}",
                     carrier_.host_port(), sdp.size(), sdp),
         carrier_);
    Message forwarded;
    for (const FakeSender::Sent& sent : sender_.sent)
      if (sent.to.same_address(phone_) && sent.bytes.rfind("INVITE", 0) == 0) {
        storage_.push_back(sent.bytes);
        ParseError error;
        EXPECT_TRUE(parse_message(storage_.back(), forwarded, error)) << error.reason;
      }
    return forwarded;
  }

  // The To tag privox answered the carrier's INVITE with.
  std::string answer_tag() {
    for (const FakeSender::Sent& sent : sender_.sent) {
      if (!sent.to.same_address(carrier_) || sent.bytes.rfind("SIP/2.0 200", 0) != 0) continue;
      storage_.push_back(sent.bytes);
      Message answer;
      ParseError error;
      if (parse_message(storage_.back(), answer, error)) return std::string(answer.to().tag());
    }
    return {};
  }

  // The endpoint's RTP port, from the 200 privox answered the carrier with.
  uint16_t answered_port() {
    for (const FakeSender::Sent& sent : sender_.sent) {
      if (!sent.to.same_address(carrier_) || sent.bytes.rfind("SIP/2.0 200", 0) != 0) continue;
      const auto choice = media::choose_audio(sent.bytes.substr(sent.bytes.find("\r\n\r\n") + 4));
      if (choice) return choice->port;
    }
    return 0;
  }

  // Streams `ms` of a 440 Hz tone as PCMU to the endpoint, paced.
  void speak(uint16_t port, int ms) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    for (int t = 0, n = 0; t < ms; t += 20) {
      std::array<int16_t, 160> pcm{};
      for (int16_t& sample : pcm) sample = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * n++ / 8000.0));
      std::array<uint8_t, 172> packet{};
      media::RtpHeader h;
      h.sequence = static_cast<uint16_t>(t / 20);
      h.timestamp = static_cast<uint32_t>(t * 8);
      h.ssrc = 7;
      media::write_rtp_header(h, std::span<uint8_t, media::kRtpHeaderBytes>(packet.data(), media::kRtpHeaderBytes));
      media::g711_encode(media::G711::pcmu, pcm, std::span<uint8_t>(packet.data() + 12, 160));
      ::sendto(rtp_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Hands what the endpoint ended to the proxy; false when nothing ended within `seconds`.
  bool deliver_ended(int seconds = 5) {
    for (int i = 0; i < seconds * 100; ++i) {
      std::vector<media::SessionEnd> ended;
      {
        std::lock_guard lock(mutex_);
        ended.swap(ended_);
      }
      for (media::SessionEnd& end : ended) proxy_.on_voicemail_ended(std::move(end));
      if (!ended.empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  BoxesInMemory boxes_;
  SinkInMemory sink_in_memory_;
  VoicemailDesk desk_;
  std::mutex mutex_;
  std::vector<media::SessionEnd> ended_;
  std::unique_ptr<media::Endpoint> endpoint_;
  int rtp_ = -1;
  uint16_t rtp_port_ = 0;
};

TEST_F(ProxyVoicemailTest, ABusyLineSendsTheCallerToItsBoxWhichKeepsWhatTheCallerSays) {
  const Message invite = call_in_with_sdp();
  ASSERT_EQ(invite.method(), Method::invite) << "the phone rings first";
  phone_answers(invite, 486, "Busy Here");
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 486"), 0u) << "the caller does not hear busy: the box answers";
  ASSERT_EQ(sink_.opened_records.size(), 1u) << "the box answering is the call answered (R1)";
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 0u) << "not before the record is durable";
  sink_.release({});
  ASSERT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 1u);
  const uint16_t port = answered_port();
  ASSERT_NE(port, 0) << "the 200 carries the endpoint's SDP";
  EXPECT_EQ(proxy_.voicemail_calls(), 1u);

  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // the greeting and the tone
  speak(port, 1500);
  feed("BYE sip:voicemail@127.0.0.1:5060 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-vm-bye\r\n"
       "Max-Forwards: 70\r\n"
       "From: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
       "To: <sip:442079460958@127.0.0.1>;tag=" +
           answer_tag() +
           "\r\n"
           "Call-ID: vm-1@192.0.2.50\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
       carrier_);
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 2u) << "the BYE is answered";
  EXPECT_EQ(proxy_.voicemail_calls(), 0u);
  ASSERT_TRUE(deliver_ended()) << "the endpoint ends the session once the caller hung up";
  ASSERT_EQ(sink_in_memory_.deposited.size(), 1u);
  const voicemail::NewMessage& m = sink_in_memory_.deposited[0];
  EXPECT_EQ(m.box_id, "line-1");
  EXPECT_EQ(m.caller, "+14155550123");
  EXPECT_EQ(m.end_reason, "hangup");
  EXPECT_NEAR(static_cast<double>(m.duration_ms), 1500, 300);
  EXPECT_EQ(m.audio.substr(0, 4), "OggS");
  bool voicemail_record = false, call_record = false;
  for (const traffic::CallRecord& r : sink_.closed_records) {
    voicemail_record |= r.kind == traffic::Kind::voicemail && r.subject_id == "line-1" &&
                        r.direction == traffic::Direction::inbound;  // the carrier's caller left it
    call_record |= r.kind == traffic::Kind::voice && r.end_reason == "bye" && r.answered_at_us != 0;
  }
  EXPECT_TRUE(voicemail_record) << "the message leaves a traffic record of kind voicemail";
  EXPECT_TRUE(call_record) << "the call itself ends answered, by the caller's BYE";
}

TEST_F(ProxyVoicemailTest, MessageWaitingNeedsCredentialsAndOnlyMessageSummary) {
  const std::string subscribe =
      "SUBSCRIBE sip:101@127.0.0.1 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-mwi-{0}\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:101@127.0.0.1>;tag=m1\r\n"
      "To: <sip:101@127.0.0.1>\r\n"
      "Call-ID: mwi-{0}@192.0.2.7\r\n"
      "CSeq: 1 SUBSCRIBE\r\n"
      "Contact: <sip:101@192.0.2.7:5062>\r\n"
      "Event: {1}\r\n"
      "Expires: 600\r\n"
      "Content-Length: 0\r\n\r\n";
  feed(fmt::format(fmt::runtime(subscribe), 1, "message-summary"), phone_);
  EXPECT_EQ(sender_.count(phone_, "SIP/2.0 401"), 1u) << "a subscription is authenticated like a REGISTER";
  EXPECT_EQ(proxy_.subscriptions(), 0u);
  feed(fmt::format(fmt::runtime(subscribe), 2, "presence"), phone_);
  EXPECT_EQ(sender_.count(phone_, "SIP/2.0 489"), 1u) << "privox notifies message-summary only";
}

// voicemail.unsolicited_mwi: the line's registered phone never subscribes, and is told anyway.
TEST_F(ProxyVoicemailTest, UnsolicitedMessageWaitingTellsAnUnsubscribedDeviceOfEachChange) {
  desk_.unsolicited_mwi = true;
  const auto sweep = [&] {
    clock_.advance_us(2'100'000);
    timers_.run_due(clock_.now_us());
  };
  const auto notifies = [&] { return sender_.count(phone_, "NOTIFY sip:101@192.0.2.7:5062 SIP/2.0"); };
  const auto phone_accepts = [&] {  // the phone's 200 ends the NOTIFY's retransmissions
    storage_.push_back(sender_.sent.back().bytes);
    Message notify;
    ParseError error;
    ASSERT_TRUE(parse_message(storage_.back(), notify, error)) << error.reason;
    feed(build_response(notify, 200, "OK", "phone-tag"), phone_);
  };
  proxy_.start_message_waiting();
  sweep();
  EXPECT_EQ(notifies(), 0u) << "an empty box is not announced at start";
  boxes_.stored = {2, 1};
  sweep();
  ASSERT_EQ(notifies(), 1u) << "a new message lights the lamp";
  const std::string& sent = sender_.sent.back().bytes;
  EXPECT_NE(sent.find("Event: message-summary\r\n"), std::string::npos);
  EXPECT_NE(sent.find("Messages-Waiting: yes\r\n"), std::string::npos) << sent;
  EXPECT_NE(sent.find("Voice-Message: 2/1\r\n"), std::string::npos) << sent;
  phone_accepts();
  sweep();
  EXPECT_EQ(notifies(), 1u) << "nothing changed: nothing sent";
  boxes_.stored = {0, 3};
  sweep();
  ASSERT_EQ(notifies(), 2u);
  EXPECT_NE(sender_.sent.back().bytes.find("Messages-Waiting: no\r\n"), std::string::npos);
}

}  // namespace
}  // namespace privox::sip
