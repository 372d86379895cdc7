// Where the registrar sends a binding's requests (issue 16, NAT): a Contact's own address, unless a
// phone behind NAT wrote a private one, when only the REGISTER's real source is used; and what a
// SIP Outbound flow's REGISTER replaces.
#include "sip/registrar.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>

#include "sip/message.h"
#include "sip/test_digest.h"
#include "sip/test_proxy.h"

namespace privox::sip {
namespace {

Peer peer(std::string_view host, uint16_t port, TransportKind kind = TransportKind::udp) {
  Peer p;
  EXPECT_TRUE(Peer::parse(host, port, kind, p)) << host;
  return p;
}

Peer reached(std::string_view contact_uri, const Peer& from) {
  const std::string text = "<" + std::string(contact_uri) + ">";
  const auto contact = parse_name_addr(text);
  EXPECT_TRUE(contact.has_value()) << contact_uri;
  return contact ? where_to_reach(contact->uri, from) : Peer{};
}

TEST(WhereToReachTest, APrivateContactBehindNatIsReachedAtTheRealSource) {
  const Peer nat = peer("203.0.113.9", 40123);
  for (const char* contact : {"sip:u@192.168.1.10:5060", "sip:u@10.0.0.7:5062", "sip:u@172.20.1.1",
                              "sip:u@100.64.3.4:5060", "sip:u@169.254.1.1:5060", "sip:u@[fd00::5]:5060",
                              "sip:u@[fe80::1]:5060"}) {
    const Peer to = reached(contact, nat);
    EXPECT_TRUE(to.same_address(nat)) << contact << " went to " << to.host_port();
  }
}

TEST(WhereToReachTest, APublicOrOwnContactIsReachedWhereItSays) {
  // Another public host (a device registering for another, as sipsak -C does), or the source's own
  // host on another port (sipp's UAS beside its UAC), is where the Contact says.
  EXPECT_EQ(reached("sip:u@198.51.100.4:5070", peer("203.0.113.9", 40123)).host_port(), "198.51.100.4:5070");
  EXPECT_EQ(reached("sip:u@127.0.0.1:5072", peer("127.0.0.1", 5071)).host_port(), "127.0.0.1:5072");
  EXPECT_EQ(reached("sip:u@192.168.1.10:5072", peer("192.168.1.10", 5071)).host_port(), "192.168.1.10:5072")
      << "a phone on the same private network as privox, not behind a NAT";
}

TEST(WhereToReachTest, AConnectionIsReachedOverItself) {
  Peer tls = peer("203.0.113.9", 40123, TransportKind::tls);
  tls.connection = 9;
  const Peer to = reached("sip:u@192.168.1.10:5061;transport=tls", tls);
  EXPECT_EQ(to.connection, 9u);
  EXPECT_EQ(to.transport, TransportKind::tls);
}

// A TCP or TLS phone's Contact on its own host is where privox may open a new connection once the
// phone's own has closed (over TLS, to the certificate it registered with: sip/server.h); anywhere
// else (behind NAT, another host), only the connection is.
TEST(WhereToReachTest, ATcpOrTlsPhoneListeningOnItsOwnHostMayBeReconnected) {
  Peer tcp = peer("198.51.100.4", 40123, TransportKind::tcp);
  tcp.connection = 7;
  const Peer own = reached("sip:u@198.51.100.4:5070;transport=tcp", tcp);
  EXPECT_TRUE(own.listens);
  EXPECT_EQ(own.host_port(), "198.51.100.4:5070");
  EXPECT_EQ(own.connection, 7u) << "the phone's own connection is used while it is open";
  EXPECT_EQ(reached("sip:u@198.51.100.4;transport=tcp", tcp).port, 5060);

  for (const char* elsewhere : {"sip:u@192.168.1.10:5070;transport=tcp", "sip:u@203.0.113.50:5070;transport=tcp",
                                "sip:u@phone.example.com:5070;transport=tcp"}) {
    const Peer to = reached(elsewhere, tcp);
    EXPECT_FALSE(to.listens) << elsewhere;
    EXPECT_TRUE(to.same_address(tcp)) << elsewhere;
  }
  Peer tls = peer("198.51.100.4", 40123, TransportKind::tls);
  tls.connection = 8;
  const Peer tls_own = reached("sip:u@198.51.100.4:5071;transport=tls", tls);
  EXPECT_TRUE(tls_own.listens);
  EXPECT_EQ(tls_own.transport, TransportKind::tls);
  EXPECT_EQ(tls_own.host_port(), "198.51.100.4:5071");
  EXPECT_EQ(tls_own.connection, 8u) << "its certificate pin is kept by this connection";
  EXPECT_EQ(reached("sips:u@198.51.100.4", tls).port, 5061) << "TLS's default port";
  EXPECT_FALSE(reached("sip:u@192.168.1.10:5071;transport=tls", tls).listens);
}

TEST(PeerTest, TellsAddressesOnlyTheirOwnNetworkReaches) {
  for (const char* host : {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1", "100.127.255.1",
                           "169.254.9.9", "127.0.0.1", "fc00::1", "fdff::1", "fe80::1", "::1"})
    EXPECT_TRUE(peer(host, 5060).local_only()) << host;
  for (const char* host : {"172.32.0.1", "172.15.0.1", "100.128.0.1", "192.169.0.1", "8.8.8.8", "203.0.113.9",
                           "2001:db8::1", "fec0::1"})
    EXPECT_FALSE(peer(host, 5060).local_only()) << host;
}

// A phone that registers with SIP Outbound (RFC 5626) from behind NAT, over TCP connection
// `connection` from the NAT's port `port`, naming that port in its Contact as many phones do.
class OutboundFlowTest : public ProxyTest {
 protected:
  static constexpr const char* kPassword = "outbound flow password";

  void SetUp() override {
    ProxyTest::SetUp();
    ExtensionInfo line{"line-1", "company-1", "GB", "101", "101", "+442079460958", "", "", {}, {}};
    line.ha1_md5 = digest_ha1(DigestAlgorithm::md5, "101", "privox", kPassword);
    DirectoryUpdate update;
    update.extensions = {line};
    directory_.apply(update);
  }

  // Registers; the final answer.
  std::string register_flow(uint16_t port, uint64_t connection, int reg_id) {
    Peer from;
    EXPECT_TRUE(Peer::parse("198.51.100.30", port, TransportKind::tcp, from));
    from.connection = connection;
    const auto request = [&](int cseq, const std::string& credentials) {
      return fmt::format("REGISTER sip:127.0.0.1 SIP/2.0\r\n"
                         "Via: SIP/2.0/TCP 10.0.0.5:{0};branch=z9hG4bK-flow-{1}-{2}\r\n"
                         "Max-Forwards: 70\r\n"
                         "From: <sip:101@127.0.0.1>;tag=flow-{1}\r\n"
                         "To: <sip:101@127.0.0.1>\r\n"
                         "Call-ID: flow-{1}@10.0.0.5\r\n"
                         "CSeq: {2} REGISTER\r\n"
                         "Supported: outbound\r\n"
                         "{3}"
                         "Contact: <sip:101@10.0.0.5:{0};transport=tcp;ob>;reg-id={4};"
                         "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-00000000a1b2>\"\r\n"
                         "Content-Length: 0\r\n\r\n",
                         port, connection, cseq, credentials, reg_id);
    };
    feed(request(1, ""), from);
    const std::string challenge = sender_.last(from, "SIP/2.0 401");
    EXPECT_FALSE(challenge.empty()) << "the first REGISTER is challenged";
    const std::string credentials =
        test::digest_credentials("REGISTER", "sip:127.0.0.1", "101", kPassword, test::nonce_in(challenge));
    feed(request(2, fmt::format("Authorization: {}\r\n", credentials)), from);
    return sender_.last(from, "SIP/2.0");
  }

  // The line's contacts, in byte order.
  std::vector<std::string> contacts() {
    std::vector<std::string> out;
    for (const Binding& b : location_.lookup("line-1", clock_.now_us())) out.push_back(b.contact);
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(OutboundFlowTest, ANewFlowWithTheSameInstanceAndRegIdReplacesTheOldBindingWhateverItsContact) {
  const std::string fixture_phone = "sip:101@192.0.2.7:5062";  // bound by ProxyTest without Outbound
  ASSERT_EQ(register_flow(40001, 1, 1).rfind("SIP/2.0 200", 0), 0u);
  EXPECT_EQ(contacts(), (std::vector<std::string>{"sip:101@10.0.0.5:40001;transport=tcp;ob", fixture_phone}));

  // The NAT gave the reconnected phone another port: one binding for the flow, on the new connection.
  const std::string answer = register_flow(40002, 2, 1);
  ASSERT_EQ(answer.rfind("SIP/2.0 200", 0), 0u) << answer;
  EXPECT_EQ(contacts(), (std::vector<std::string>{"sip:101@10.0.0.5:40002;transport=tcp;ob", fixture_phone}));
  EXPECT_EQ(answer.find("40001"), std::string::npos) << "the 200 lists the replaced binding no more:\n" << answer;
  for (const Binding& b : location_.lookup("line-1", clock_.now_us()))
    if (b.contact.find("40002") != std::string::npos) EXPECT_EQ(b.peer.connection, 2u);

  // Another reg-id of the same instance is a second flow (RFC 5626 §4.2.1): both stay.
  ASSERT_EQ(register_flow(40003, 3, 2).rfind("SIP/2.0 200", 0), 0u);
  EXPECT_EQ(contacts(), (std::vector<std::string>{"sip:101@10.0.0.5:40002;transport=tcp;ob",
                                                  "sip:101@10.0.0.5:40003;transport=tcp;ob", fixture_phone}));
}

}  // namespace
}  // namespace privox::sip
