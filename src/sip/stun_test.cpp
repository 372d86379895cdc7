#include "sip/stun.h"

#include <gtest/gtest.h>

#include <string>

namespace privox::sip {
namespace {

const std::string kTransaction = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c";

std::string binding_request(const std::string& attributes = {}) {
  std::string out = {'\x00', '\x01', static_cast<char>(attributes.size() >> 8), static_cast<char>(attributes.size() & 0xff),
                     '\x21', '\x12', '\xa4', '\x42'};
  return out + kTransaction + attributes;
}

// A keep-alive (RFC 5626 §4.4.2) is answered with where it came from, as RFC 5389's example
// vectors encode it (§15.2: port XOR 0x2112, address XOR the magic cookie).
TEST(StunTest, ABindingRequestIsAnsweredWithItsSourceAddress) {
  const Peer from = Peer::from_ipv4(0xc0000201, 32853);  // 192.0.2.1, as RFC 5769 §2.2
  const auto answer = stun_binding_response(binding_request(), from);
  ASSERT_TRUE(answer);
  const std::string expected = std::string("\x01\x01\x00\x0c\x21\x12\xa4\x42", 8) + kTransaction +
                               std::string("\x00\x20\x00\x08\x00\x01\xa1\x47\xe1\x12\xa6\x43", 12);
  EXPECT_EQ(*answer, expected);
  EXPECT_TRUE(looks_like_stun(binding_request()));
  EXPECT_FALSE(looks_like_stun("REGISTER sip:x SIP/2.0\r\n"));
}

TEST(StunTest, AnIpv6SourceIsXoredWithTheTransactionIdToo) {
  Peer from;
  ASSERT_TRUE(Peer::parse("2001:db8:1234:5678:11:2233:4455:6677", 32853, TransportKind::udp, from));
  const auto answer = stun_binding_response(binding_request(), from);
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->size(), 20u + 4 + 20);
  // RFC 5769 §2.3's XOR-MAPPED-ADDRESS for this address and port, with this test's transaction id.
  for (size_t i = 0; i < 16; ++i) {
    const uint8_t mask = i < 4 ? std::string("\x21\x12\xa4\x42", 4)[i] : kTransaction[i - 4];
    EXPECT_EQ(static_cast<uint8_t>((*answer)[28 + i] ^ mask), from.address[i]) << i;
  }
}

TEST(StunTest, OptionalAttributesAreAllowedAndAnythingElseGetsNoAnswer) {
  const Peer from = Peer::from_ipv4(0xc0000201, 5060);
  const std::string software = std::string("\x80\x22\x00\x07", 4) + "baresip" + std::string(1, '\0');
  const std::string fingerprint = std::string("\x80\x28\x00\x04\x12\x34\x56\x78", 8);
  EXPECT_TRUE(stun_binding_response(binding_request(software + fingerprint), from));
  // A USERNAME (comprehension-required, for authentication privox does not do), a FINGERPRINT not
  // last, a length that overruns, a response instead of a request, a wrong cookie, a short header.
  EXPECT_FALSE(stun_binding_response(binding_request(std::string("\x00\x06\x00\x04", 4) + "user"), from));
  EXPECT_FALSE(stun_binding_response(binding_request(fingerprint + software), from));
  EXPECT_FALSE(stun_binding_response(binding_request(std::string("\x80\x22\x00\x40", 4) + "abcd"), from));
  std::string response = binding_request();
  response[1] = '\x01', response[0] = '\x01';
  EXPECT_FALSE(stun_binding_response(response, from));
  std::string wrong_cookie = binding_request();
  wrong_cookie[4] = '\x22';
  EXPECT_FALSE(stun_binding_response(wrong_cookie, from));
  EXPECT_FALSE(stun_binding_response(binding_request().substr(0, 19), from));
  EXPECT_FALSE(stun_binding_response(binding_request() + "x", from)) << "length must match the datagram";
}

}  // namespace
}  // namespace privox::sip
