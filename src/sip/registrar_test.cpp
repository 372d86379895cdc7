// Where the registrar sends a binding's requests (issue 16, NAT): a Contact's own address, unless a
// phone behind NAT wrote a private one, when only the REGISTER's real source is used.
#include "sip/registrar.h"

#include <gtest/gtest.h>

#include "sip/message.h"

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

TEST(PeerTest, TellsAddressesOnlyTheirOwnNetworkReaches) {
  for (const char* host : {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1", "100.127.255.1",
                           "169.254.9.9", "127.0.0.1", "fc00::1", "fdff::1", "fe80::1", "::1"})
    EXPECT_TRUE(peer(host, 5060).local_only()) << host;
  for (const char* host : {"172.32.0.1", "172.15.0.1", "100.128.0.1", "192.169.0.1", "8.8.8.8", "203.0.113.9",
                           "2001:db8::1", "fec0::1"})
    EXPECT_FALSE(peer(host, 5060).local_only()) << host;
}

}  // namespace
}  // namespace privox::sip
