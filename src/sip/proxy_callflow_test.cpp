// The proxy's call features (sip/proxy_callflow.cpp) on proxy_test's fixture: the carrier calls
// line 101's DID, and where the INVITE goes next is read from what the proxy sent.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "accounts/digest_hash.h"
#include "sip/test_digest.h"
#include "sip/test_proxy.h"

namespace privox::sip {
namespace {

using callflow::Target;
using callflow::TargetKind;

class CallFlowTest : public ProxyTest {
 protected:
  void SetUp() override {
    ProxyTest::SetUp();
    ASSERT_TRUE(Peer::parse("192.0.2.8", 5062, TransportKind::udp, phone2_));
    ASSERT_TRUE(Peer::parse("192.0.2.9", 5062, TransportKind::udp, phone3_));
    line1_ = *directory_.by_id("line-1");
    line2_ = {"line-2", "company-1", "GB", "102", "u102", "", "", "", {}, {}};
    line3_ = {"line-3", "company-1", "GB", "103", "u103", "", "", "", {}, {}};
    publish();
    bind("line-2", phone2_, "sip:u102@192.0.2.8:5062");
    bind("line-3", phone3_, "sip:u103@192.0.2.9:5062");
  }

  // The lines (and groups) as the test changed them reach the directory, as the loader's would.
  void publish(std::vector<callflow::RingGroup> groups = {}) {
    DirectoryUpdate update;
    update.extensions = {line1_, line2_, line3_};
    update.groups = std::move(groups);
    directory_.apply(update);
  }
  void bind(const std::string& line, const Peer& peer, std::string contact) {
    Binding b;
    b.contact = std::move(contact);
    b.peer = peer;
    b.expires_at_us = clock_.now_us() + 3'600'000'000;
    location_.apply({{line, b, false}}, [](const Status&) {});
  }

  // The carrier calls 101's DID; `withheld` asks for privacy (RFC 3323).
  void carrier_calls(int n = 1, bool withheld = false) {
    feed(fmt::format("INVITE sip:442079460958@127.0.0.1 SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP {0};branch=z9hG4bK-cf-{1}\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:+14155550123@192.0.2.50>;tag=c{1}\r\n"
                     "To: <sip:442079460958@127.0.0.1>\r\n"
                     "Call-ID: callflow-{1}@192.0.2.50\r\n"
                     "CSeq: 1 INVITE\r\n"
                     "{2}"
                     "Contact: <sip:+14155550123@{0}>\r\n"
                     "Content-Length: 0\r\n\r\n",
                     carrier_.host_port(), n, withheld ? "Privacy: id\r\n" : ""),
         carrier_);
  }

  // The INVITEs (the newest last) the proxy sent to `peer`, parsed.
  std::vector<Message> invites_to(const Peer& peer) {
    std::vector<Message> out;
    for (const FakeSender::Sent& s : sender_.sent)
      if (s.to.same_address(peer) && s.bytes.rfind("INVITE", 0) == 0) {
        storage_.push_back(s.bytes);
        Message m;
        ParseError error;
        EXPECT_TRUE(parse_message(storage_.back(), m, error)) << error.reason;
        out.push_back(m);
      }
    return out;
  }
  void answer(const Peer& from, const Message& invite, int status, std::string_view reason) {
    feed(build_response(invite, status, reason, fmt::format("tag-{}", status)), from);
  }
  void wait_s(int seconds) {
    clock_.advance_us(int64_t{seconds} * 1'000'000);
    timers_.run_due(clock_.now_us());
  }
  // The CANCEL the proxy sent `peer` is answered, and the INVITE's 487 follows.
  void cancelled(const Peer& peer, const Message& invite) {
    for (const FakeSender::Sent& s : sender_.sent)
      if (s.to.same_address(peer) && s.bytes.rfind("CANCEL", 0) == 0) {
        storage_.push_back(s.bytes);
        Message cancel;
        ParseError error;
        ASSERT_TRUE(parse_message(storage_.back(), cancel, error));
        feed(build_response(cancel, 200, "OK", "tag-c"), peer);
        return answer(peer, invite, 487, "Request Terminated");
      }
    FAIL() << "no CANCEL was sent to " << peer.host_port();
  }

  // Line 2's phone calls `dialled`: its INVITE is challenged 407 and sent again with its digest
  // (password kLine2Password, which SetUp does not give line 2: a test that calls sets its HA1).
  void line2_calls(const std::string& dialled, int n, bool withheld = false) {
    const std::string uri = fmt::format("sip:{}@127.0.0.1", dialled);
    const auto invite = [&](int cseq, const std::string& credentials) {
      return fmt::format("INVITE {0} SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP {1};branch=z9hG4bK-l2-{2}-{3}\r\n"
                         "Max-Forwards: 70\r\n"
                         "From: <sip:u102@127.0.0.1>;tag=l2-{2}\r\n"
                         "To: <{0}>\r\n"
                         "Call-ID: line2-{2}@192.0.2.8\r\n"
                         "CSeq: {3} INVITE\r\n"
                         "{4}{5}"
                         "Contact: <sip:u102@{1}>\r\n"
                         "Content-Length: 0\r\n\r\n",
                         uri, phone2_.host_port(), n, cseq, withheld ? "Privacy: id\r\n" : "", credentials);
    };
    const size_t before = sender_.sent.size();
    feed(invite(1, ""), phone2_);
    std::string challenge;
    for (size_t i = before; i < sender_.sent.size(); ++i)
      if (sender_.sent[i].bytes.rfind("SIP/2.0 407", 0) == 0) challenge = sender_.sent[i].bytes;
    ASSERT_FALSE(challenge.empty()) << "line 2's first INVITE is challenged";
    const std::string credentials = test::digest_credentials("INVITE", uri, "u102", kLine2Password, test::nonce_in(challenge));
    feed(invite(2, fmt::format("Proxy-Authorization: {}\r\n", credentials)), phone2_);
  }
  static constexpr const char* kLine2Password = "line two's password";

  ExtensionInfo line1_, line2_, line3_;
  Peer phone2_, phone3_;
};

// Issue 16: a phone's From names its device's login, which means nothing to the person called.
// privox asserts who calls (RFC 3325): to a colleague, the caller's extension; to another
// company's line, reached by its DID, the caller's own DID as the public network would show it,
// never an extension of a company not the callee's; for a caller who withholds, nothing.
TEST_F(CallFlowTest, ACallerIsAssertedByExtensionToColleaguesAndByDidElsewhere) {
  line2_.ha1_md5 = accounts::digest_ha1(accounts::DigestAlgorithm::md5, "u102", "privox", kLine2Password);
  line2_.did = "+442079460102";
  const ExtensionInfo elsewhere{"line-9", "company-2", "GB", "101", "u901", "+442079460901", "", "", {}, {}};
  DirectoryUpdate update;
  update.extensions = {line1_, line2_, line3_, elsewhere};
  directory_.apply(update);
  Peer phone9;
  ASSERT_TRUE(Peer::parse("192.0.2.19", 5062, TransportKind::udp, phone9));
  bind("line-9", phone9, "sip:u901@192.0.2.19:5062");
  const auto asserted = [](const Message& invite) { return std::string(invite.first_value(Header::p_asserted_identity)); };

  ASSERT_NO_FATAL_FAILURE(line2_calls("103", 1));
  std::vector<Message> to_colleague = invites_to(phone3_);
  ASSERT_EQ(to_colleague.size(), 1u);
  EXPECT_EQ(asserted(to_colleague[0]), "<sip:102@127.0.0.1>");
  EXPECT_NE(std::string(to_colleague[0].first_value(Header::from)).find("u102"), std::string::npos)
      << "the From is the phone's own";

  ASSERT_NO_FATAL_FAILURE(line2_calls("+442079460901", 2));
  const std::vector<Message> to_other = invites_to(phone9);
  ASSERT_EQ(to_other.size(), 1u);
  EXPECT_EQ(asserted(to_other[0]), "<sip:+442079460102@127.0.0.1>");

  ASSERT_NO_FATAL_FAILURE(line2_calls("103", 3, true));
  to_colleague = invites_to(phone3_);
  ASSERT_EQ(to_colleague.size(), 2u);
  EXPECT_EQ(asserted(to_colleague[1]), "") << "a withheld caller is asserted to nobody";
}

TEST_F(CallFlowTest, AViaTowardAPhoneOnTlsNamesTheTlsPort) {
  proxy_.set_tls_port(5061);
  Peer tls_phone;
  ASSERT_TRUE(Peer::parse("192.0.2.11", 40123, TransportKind::tls, tls_phone));
  tls_phone.connection = 7;
  location_.forget("line-2");
  bind("line-2", tls_phone, "sip:u102@192.0.2.11:40123;transport=tls");
  line1_.forwarding.always = Target{TargetKind::line, "line-2"};
  publish();
  carrier_calls();
  const std::vector<Message> sent = invites_to(tls_phone);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].top_via().transport, "TLS");
  EXPECT_EQ(sent[0].top_via().port, 5061) << "not the UDP port: " << sent[0].first_value(Header::via);
}

// Issue 16: a call from a carrier on UDP to a phone on TLS records privox twice (RFC 5658), the
// entry facing the phone on the TLS port, so the phone's in-dialog requests come over TLS and never
// in clear; privox drops both of its entries when it relays them.
TEST_F(CallFlowTest, APhoneOnTlsIsRecordRoutedOverTlsAndBothEntriesArePoppedOnTheWayBack) {
  proxy_.set_tls_port(5061);
  Peer tls_phone;
  ASSERT_TRUE(Peer::parse("192.0.2.11", 40123, TransportKind::tls, tls_phone));
  tls_phone.connection = 7;
  location_.forget("line-1");
  bind("line-1", tls_phone, "sip:u101@192.0.2.11:40123;transport=tls");
  carrier_calls();
  const std::vector<Message> sent = invites_to(tls_phone);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first_value(Header::record_route), "<sip:127.0.0.1:5061;transport=tls;lr>, <sip:127.0.0.1:5060;lr>");

  // The phone's BYE follows the route set in the Record-Route's order (RFC 3261 §12.1.1).
  feed(fmt::format("BYE sip:+14155550123@{0} SIP/2.0\r\n"
                   "Via: SIP/2.0/TLS 192.0.2.11:40123;branch=z9hG4bK-bye-1\r\n"
                   "Max-Forwards: 70\r\n"
                   "Route: <sip:127.0.0.1:5061;transport=tls;lr>, <sip:127.0.0.1:5060;lr>\r\n"
                   "From: <sip:442079460958@127.0.0.1>;tag=phone-1\r\n"
                   "To: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
                   "Call-ID: callflow-1@192.0.2.50\r\n"
                   "CSeq: 2 BYE\r\n"
                   "Content-Length: 0\r\n\r\n",
                   carrier_.host_port()),
       tls_phone);
  const std::string bye = sender_.last(carrier_, "BYE");
  ASSERT_FALSE(bye.empty()) << "the BYE reaches the carrier";
  EXPECT_EQ(bye.find("Route:"), std::string::npos) << "both of privox's entries are dropped:\n" << bye;
}

TEST_F(CallFlowTest, DoNotDisturbGivesTheBusyTreatmentWithoutRinging) {
  line1_.forwarding.dnd = true;
  publish();
  carrier_calls();
  EXPECT_TRUE(invites_to(phone_).empty()) << "the line's phone does not ring";
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 486"), 1u);
  ASSERT_EQ(sink_.closed_records.size(), 1u);
  EXPECT_EQ(sink_.closed_records[0].outcome, traffic::Outcome::busy);
}

TEST_F(CallFlowTest, DoNotDisturbWithABusyForwardSendsTheCallThere) {
  line1_.forwarding.dnd = true;
  line1_.forwarding.busy = Target{TargetKind::line, "line-2"};
  publish();
  carrier_calls();
  EXPECT_TRUE(invites_to(phone_).empty());
  EXPECT_EQ(invites_to(phone2_).size(), 1u);
}

TEST_F(CallFlowTest, AnAlwaysForwardRingsTheTargetOnlyAndItsAnswerIsTheCalls) {
  line1_.forwarding.always = Target{TargetKind::line, "line-2"};
  publish();
  carrier_calls();
  EXPECT_TRUE(invites_to(phone_).empty());
  const std::vector<Message> sent = invites_to(phone2_);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].request_uri().user, "u102");
  answer(phone2_, sent[0], 200, "OK");
  ASSERT_EQ(sink_.opened_records.size(), 1u);
  const traffic::CallRecord& record = sink_.opened_records[0];
  EXPECT_EQ(record.subject_id, "line-1") << "the record stays the called line's";
  EXPECT_EQ(record.direction, traffic::Direction::inbound);
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 0u) << "the answer waits for the record (R1)";
  sink_.release({});
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 1u);
}

TEST_F(CallFlowTest, ABusyLineForwardsOnlyOnceItsPhoneIsBusy) {
  line1_.forwarding.busy = Target{TargetKind::line, "line-2"};
  publish();
  carrier_calls();
  const std::vector<Message> first = invites_to(phone_);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(invites_to(phone2_).empty());
  answer(phone_, first[0], 486, "Busy Here");
  EXPECT_EQ(invites_to(phone2_).size(), 1u);
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 486"), 0u) << "the caller never hears the busy";
}

TEST_F(CallFlowTest, AnUnansweredLineForwardsAfterItsOwnNoAnswerTime) {
  line1_.forwarding.no_answer = Target{TargetKind::line, "line-3"};
  line1_.forwarding.no_answer_seconds = 7;
  publish();
  carrier_calls();
  const std::vector<Message> first = invites_to(phone_);
  ASSERT_EQ(first.size(), 1u);
  answer(phone_, first[0], 180, "Ringing");
  wait_s(6);
  EXPECT_TRUE(invites_to(phone3_).empty()) << "still within the no-answer time";
  wait_s(2);
  cancelled(phone_, first[0]);
  EXPECT_EQ(invites_to(phone3_).size(), 1u);
}

TEST_F(CallFlowTest, ALineWithNoDeviceForwardsWhenUnregistered) {
  line1_.forwarding.unregistered = Target{TargetKind::line, "line-2"};
  publish();
  location_.forget("line-1");
  carrier_calls();
  EXPECT_EQ(invites_to(phone2_).size(), 1u);
}

TEST_F(CallFlowTest, ForwardsThatRunInALoopAreCutAtTheHopLimitWith483) {
  line1_.forwarding.dnd = true;
  line1_.forwarding.busy = Target{TargetKind::line, "line-2"};
  line2_.forwarding.dnd = true;
  line2_.forwarding.busy = Target{TargetKind::line, "line-1"};
  publish();
  carrier_calls();
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 483"), 1u);
  ASSERT_EQ(sink_.closed_records.size(), 1u);
  EXPECT_EQ(sink_.closed_records[0].failure_code, 483);
}

TEST_F(CallFlowTest, ATargetThatIsGoneFallsBackInsteadOfFailingTheCall) {
  line1_.forwarding.always = Target{TargetKind::line, "line-deleted"};
  publish();
  carrier_calls();
  // No voicemail here: the fallback is the line's own failure, never a crash or a silent drop.
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 480"), 1u);
}

TEST_F(CallFlowTest, ATargetOfAnotherCompanyIsNeverRung) {
  line2_.company_id = "company-2";
  line1_.forwarding.always = Target{TargetKind::line, "line-2"};
  publish();
  carrier_calls();
  EXPECT_TRUE(invites_to(phone2_).empty());
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 480"), 1u);
}

TEST_F(CallFlowTest, AnExternalForwardIsAnOutboundCallOfTheLineAndKeepsAWithheldCallerHidden) {
  line1_.forwarding.always = Target{TargetKind::external, "+14155550199"};
  publish();
  carrier_calls(1, true);
  const std::vector<Message> out = invites_to(carrier_);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].request_uri().user, "+14155550199");
  const std::string from(out[0].first_value(Header::from));
  EXPECT_NE(from.find("anonymous.invalid"), std::string::npos) << from;
  EXPECT_EQ(from.find("+14155550123"), std::string::npos) << "the caller is withheld";
  EXPECT_NE(std::string(out[0].first_value(Header::p_asserted_identity)).find("+442079460958"), std::string::npos)
      << "the trunk is told the forwarding line's number";
  answer(carrier_, out[0], 200, "OK");
  ASSERT_EQ(sink_.opened_records.size(), 2u) << "the call's record and the forward's outbound leg";
  const traffic::CallRecord& leg = sink_.opened_records[0];
  EXPECT_EQ(leg.direction, traffic::Direction::outbound);
  EXPECT_EQ(leg.subject_id, "line-1");
  EXPECT_EQ(leg.destination, "+14155550199");
  EXPECT_EQ(leg.trunk_id, "trunk-1");
  EXPECT_TRUE(leg.source_withheld);
  EXPECT_TRUE(sink_.opened_records[1].source_withheld);
  EXPECT_EQ(sink_.opened_records[1].direction, traffic::Direction::inbound);
}

TEST_F(CallFlowTest, AnUnansweredExternalForwardClosesItsLegWithTheCall) {
  line1_.forwarding.always = Target{TargetKind::external, "+14155550199"};
  publish();
  carrier_calls();
  const std::vector<Message> out = invites_to(carrier_);
  ASSERT_EQ(out.size(), 1u);
  answer(carrier_, out[0], 486, "Busy Here");
  ASSERT_EQ(sink_.closed_records.size(), 2u);
  for (const traffic::CallRecord& r : sink_.closed_records) EXPECT_EQ(r.outcome, traffic::Outcome::busy);
}

callflow::RingGroup group(callflow::Strategy strategy, std::optional<Target> overflow = std::nullopt) {
  callflow::RingGroup g;
  g.id = "group-1";
  g.company_id = "company-1";
  g.number = "600";
  g.name = "Sales";
  g.strategy = strategy;
  g.ring_seconds = 10;
  g.member_line_ids = {"line-2", "line-3"};
  g.overflow = std::move(overflow);
  return g;
}

TEST_F(CallFlowTest, ASequentialGroupRingsItsMembersInOrderThenOverflows) {
  line1_.forwarding.always = Target{TargetKind::group, "group-1"};
  publish({group(callflow::Strategy::sequential, Target{TargetKind::line, "line-1"})});
  carrier_calls();
  const std::vector<Message> first = invites_to(phone2_);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(invites_to(phone3_).empty()) << "one member at a time";
  answer(phone2_, first[0], 486, "Busy Here");
  const std::vector<Message> second = invites_to(phone3_);
  ASSERT_EQ(second.size(), 1u) << "a busy member passes the call on at once";
  answer(phone3_, second[0], 180, "Ringing");  // a CANCEL waits for a provisional response
  wait_s(11);
  cancelled(phone3_, second[0]);
  // The overflow is line 1, which forwards always to the group: the loop ends at the hop limit.
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 483"), 0u);
  EXPECT_EQ(invites_to(phone2_).size(), 2u) << "overflow to line 1 forwards to the group again";
}

TEST_F(CallFlowTest, ASimultaneousGroupRingsEveryMemberAndTheFirstAnswerWins) {
  line1_.forwarding.always = Target{TargetKind::group, "group-1"};
  publish({group(callflow::Strategy::simultaneous)});
  carrier_calls();
  const std::vector<Message> two = invites_to(phone2_), three = invites_to(phone3_);
  ASSERT_EQ(two.size(), 1u);
  ASSERT_EQ(three.size(), 1u);
  answer(phone2_, two[0], 180, "Ringing");  // a CANCEL waits for a provisional response
  answer(phone3_, three[0], 200, "OK");
  EXPECT_EQ(sender_.count(phone2_, "CANCEL"), 1u) << "the other member stops ringing";
}

TEST_F(CallFlowTest, ARoundRobinGroupStartsEachCallWithTheNextMember) {
  line1_.forwarding.always = Target{TargetKind::group, "group-1"};
  publish({group(callflow::Strategy::round_robin)});
  carrier_calls(1);
  EXPECT_EQ(invites_to(phone2_).size(), 1u);
  EXPECT_TRUE(invites_to(phone3_).empty());
  carrier_calls(2);
  EXPECT_EQ(invites_to(phone2_).size(), 1u);
  EXPECT_EQ(invites_to(phone3_).size(), 1u) << "the second call starts with the second member";
}

TEST_F(CallFlowTest, AGroupWhoseMembersAreAllOnDoNotDisturbGoesStraightToItsOverflow) {
  line2_.forwarding.dnd = true;
  line3_.forwarding.dnd = true;
  line1_.forwarding.always = Target{TargetKind::group, "group-1"};
  callflow::RingGroup g = group(callflow::Strategy::simultaneous, Target{TargetKind::external, "+14155550177"});
  publish({g});
  carrier_calls();
  EXPECT_TRUE(invites_to(phone2_).empty());
  EXPECT_TRUE(invites_to(phone3_).empty());
  ASSERT_EQ(invites_to(carrier_).size(), 1u);
  EXPECT_EQ(invites_to(carrier_)[0].request_uri().user, "+14155550177");
}

}  // namespace
}  // namespace privox::sip
