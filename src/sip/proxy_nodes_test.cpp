// Two nodes on one store (sip/proxy_nodes.cpp): the carrier's call reaches node 1 (the fixture's
// proxy, 127.0.0.1), and the phone's TCP connection is held by node 2 (127.0.0.2), which relays.
#include <gtest/gtest.h>

#include "privacy/keyring.h"
#include "sip/test_proxy.h"

namespace privox::sip {
namespace {

// Node 2: its own proxy, transaction layer, registrar and location service, sharing the fixture's
// clock, sender (the network) and directory, with the phone on its own TCP connection.
struct HoldingNode {
  HoldingNode(FakeClock& clock, FakeSender& sender, TimerQueue& timers, MemoryDirectory& directory, Authenticator& auth,
              PausedSink& sink, const Peer& phone, const privacy::Keyring& keys)
      : proxy{ProxyConfig{.host = "127.0.0.2", .port = 5060, .ring_timeout_us = 60'000'000},
              directory, auth, location, sink, sender, timers, clock},
        layer{sender, timers, clock, proxy},
        registrar{layer, auth, location, clock} {
    Binding b;
    b.contact = "sip:101@10.0.0.5:5070;transport=tcp";
    b.peer = phone;
    b.expires_at_us = clock.now_us() + 3'600'000'000;
    location.apply({{"line-1", b, false}}, [](const Status&) {});
    registrar.learn_contacts(location);
    proxy.attach(layer, registrar);
    proxy.set_node_keys(&keys);
  }
  Location location{nullptr};
  Proxy proxy;
  TransactionLayer layer;
  Registrar registrar;
};

class ProxyNodesTest : public ProxyTest {
 protected:
  void SetUp() override {
    ProxyTest::SetUp();
    ASSERT_TRUE(Peer::parse("127.0.0.1", 5060, TransportKind::udp, node1_));
    ASSERT_TRUE(Peer::parse("127.0.0.2", 5060, TransportKind::udp, node2_));
    ASSERT_TRUE(Peer::parse("198.51.100.9", 40211, TransportKind::tcp, tcp_phone_));
    tcp_phone_.connection = 12;
    // On node 1 the line's phone is node 2's: what the log gives a node for a held flow.
    Binding held;
    held.contact = "sip:101@10.0.0.5:5070;transport=tcp";
    held.peer = tcp_phone_;
    held.peer.connection = 0;
    held.through = node2_;
    held.expires_at_us = clock_.now_us() + 3'600'000'000;
    location_.replace_shared("line-1", {held});  // the fixture's UDP phone is gone
    proxy_.set_node_keys(&keys_);
    node2 = std::make_unique<HoldingNode>(clock_, sender_, timers_, directory_, auth_, sink_, tcp_phone_, keys_);
  }

  // The last message that starts with `start` sent to `to`, parsed (kept in storage_).
  Message last(const Peer& to, std::string_view start) {
    storage_.push_back(sender_.last(to, start));
    Message m;
    ParseError error;
    EXPECT_TRUE(parse_message(storage_.back(), m, error)) << error.reason << "\n" << storage_.back();
    return m;
  }
  size_t on_phones_connection(std::string_view start) const {
    size_t n = 0;
    for (const FakeSender::Sent& s : sender_.sent)
      n += s.to.transport == TransportKind::tcp && s.to.connection == 12 && s.bytes.rfind(start, 0) == 0;
    return n;
  }
  void feed_node2(const std::string& bytes, const Peer& from) {
    storage_.push_back(bytes);
    Message m;
    ParseError error;
    ASSERT_TRUE(parse_message(storage_.back(), m, error)) << error.reason << "\n" << bytes;
    node2->layer.receive(m, from);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  Peer node1_, node2_, tcp_phone_;
  std::unique_ptr<HoldingNode> node2;
};

TEST_F(ProxyNodesTest, ACallForAPhoneAnotherNodeHoldsGoesThroughThatNodeAndIsAnswered) {
  call_in();
  ASSERT_EQ(sender_.count(node2_, "INVITE"), 1u) << "node 1 sends the phone's INVITE to the node holding its flow";
  EXPECT_EQ(sender_.count(tcp_phone_, "INVITE"), 0u) << "never to the phone on a connection node 1 lacks";
  const std::string to_node2 = sender_.last(node2_, "INVITE");
  EXPECT_EQ(to_node2.rfind("INVITE sip:101@10.0.0.5:5070;transport=tcp SIP/2.0\r\n", 0), 0u) << to_node2;
  EXPECT_NE(to_node2.find("Route: <sip:127.0.0.2:5060;lr;pxnode="), std::string::npos) << to_node2;
  EXPECT_NE(to_node2.find("Record-Route: <sip:127.0.0.1:5060;lr>"), std::string::npos) << to_node2;

  feed_node2(to_node2, node1_);
  ASSERT_EQ(sender_.count(tcp_phone_, "INVITE"), 1u) << "node 2 relays it over the phone's connection";
  const Message to_phone = last(tcp_phone_, "INVITE");
  const std::string& phone_bytes = storage_.back();
  EXPECT_EQ(phone_bytes.find("pxnode"), std::string::npos) << "node 2's own Route is gone: " << phone_bytes;
  EXPECT_EQ(phone_bytes.find("Record-Route: <sip:127.0.0.2:5060;lr>"), phone_bytes.find("Record-Route:"))
      << "node 2 record-routes first, so the phone's requests come back through it: " << phone_bytes;
  EXPECT_EQ(sender_.last(tcp_phone_, "INVITE").find("Via: SIP/2.0/TCP 127.0.0.2:5060"), phone_bytes.find("Via:"));

  // The phone answers on its connection; node 2 passes the 200 to node 1, and node 1 to the carrier
  // once the call's record is durable.
  feed_node2(build_response(to_phone, 200, "OK", "phone-tag"), tcp_phone_);
  ASSERT_EQ(sender_.count(node1_, "SIP/2.0 200"), 1u);
  const std::string answer = sender_.last(node1_, "SIP/2.0 200");
  feed(answer, node2_);
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 0u) << "not before the record is durable";
  ASSERT_EQ(sink_.opened_records.size(), 1u) << "only node 1 records the call";
  sink_.release({});
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 200"), 1u);

  // The carrier's BYE follows the route set: node 1, node 2, then the phone's connection. It names
  // the Contact of the phone's answer, its connection's port, which no registration names.
  feed("BYE sip:101@198.51.100.9:40211;transport=tcp SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-bye-2\r\n"
       "Route: <sip:127.0.0.1:5060;lr>, <sip:127.0.0.2:5060;lr>\r\n"
       "Max-Forwards: 70\r\n"
       "From: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
       "To: <sip:442079460958@127.0.0.1>;tag=phone-tag\r\n"
       "Call-ID: call-1@192.0.2.50\r\n"
       "CSeq: 2 BYE\r\n"
       "Content-Length: 0\r\n\r\n",
       carrier_);
  ASSERT_EQ(sender_.count(node2_, "BYE"), 1u);
  ASSERT_EQ(sink_.closed_records.size(), 1u);
  EXPECT_EQ(sink_.closed_records[0].end_reason, "bye");
  feed_node2(sender_.last(node2_, "BYE"), node1_);
  EXPECT_EQ(on_phones_connection("BYE"), 1u) << "node 2 sends it over the phone's connection, not over UDP";
  EXPECT_EQ(sink_.closed_records.size(), 1u) << "node 2 keeps no record of its own";
}

TEST_F(ProxyNodesTest, TheCallersCancelReachesThePhoneThroughTheHoldingNode) {
  call_in();
  feed_node2(sender_.last(node2_, "INVITE"), node1_);
  ASSERT_EQ(sender_.count(tcp_phone_, "INVITE"), 1u);
  // Each node cancels a branch only once it has heard from it (RFC 3261 §9.1): the phone rings.
  feed_node2(build_response(last(tcp_phone_, "INVITE"), 180, "Ringing", "phone-tag"), tcp_phone_);
  feed(sender_.last(node1_, "SIP/2.0 180"), node2_);
  EXPECT_EQ(sender_.count(carrier_, "SIP/2.0 180"), 1u);
  carrier_cancels();
  ASSERT_EQ(sender_.count(node2_, "CANCEL"), 1u);
  feed_node2(sender_.last(node2_, "CANCEL"), node1_);
  EXPECT_EQ(sender_.count(node1_, "SIP/2.0 200"), 1u) << "node 2 answers the CANCEL";
  EXPECT_EQ(sender_.count(tcp_phone_, "CANCEL"), 1u) << "and stops the phone ringing";
}

TEST_F(ProxyNodesTest, ARouteThroughANodeIsRefusedUnlessItsTokenVerifies) {
  call_in();
  const std::string genuine = sender_.last(node2_, "INVITE");
  const size_t token = genuine.find("pxnode=") + 7;
  const size_t mac = genuine.find('-', token) + 1;

  std::string forged = genuine;
  forged[mac] = forged[mac] == 'a' ? 'b' : 'a';
  feed_node2(forged, node1_);
  EXPECT_EQ(sender_.count(node1_, "SIP/2.0 403"), 1u) << "a changed token";

  std::string other_call = genuine;
  const size_t call_id = other_call.find("Call-ID: call-1");
  other_call.replace(call_id, 15, "Call-ID: call-9");
  feed_node2(other_call, node1_);
  EXPECT_EQ(sender_.count(node1_, "SIP/2.0 403"), 2u) << "a token made for another call";

  clock_.advance_us(121'000'000);
  std::string later = genuine;
  later.replace(later.find("branch=z9hG4bK"), 14, "branch=z9hG4bKlate");
  feed_node2(later, node1_);
  EXPECT_EQ(sender_.count(node1_, "SIP/2.0 403"), 3u) << "an expired token";
  EXPECT_EQ(sender_.count(tcp_phone_, "INVITE"), 0u) << "no phone rang for any of them";
}

TEST_F(ProxyNodesTest, ANodeThatNoLongerHoldsThePhonesFlowAnswers480) {
  call_in();
  // The phone registered the same contact through node 3 since: node 2 learns it from the log.
  Binding moved;
  moved.contact = "sip:101@10.0.0.5:5070;transport=tcp";
  moved.peer = tcp_phone_;
  moved.peer.connection = 0;
  ASSERT_TRUE(Peer::parse("127.0.0.3", 5060, TransportKind::udp, moved.through.emplace()));
  moved.expires_at_us = clock_.now_us() + 3'600'000'000;
  BindingUpdate update;
  update.seq = 1;
  update.lines.push_back({"line-1", {moved}});
  node2->registrar.apply_shared(update);
  feed_node2(sender_.last(node2_, "INVITE"), node1_);
  EXPECT_EQ(sender_.count(node1_, "SIP/2.0 480"), 1u);
  EXPECT_EQ(sender_.count(tcp_phone_, "INVITE"), 0u);
}

}  // namespace
}  // namespace privox::sip
