#include "sip/message.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace privox::sip {
namespace {

using Lines = std::vector<std::string>;

// Header lines joined with CRLF, the empty line, then the body.
std::string join(const Lines& lines, std::string_view body = {}) {
  std::string out;
  for (const std::string& line : lines) out += line + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

// Lines without those starting with `prefix`.
Lines drop(Lines lines, std::string_view prefix) {
  std::erase_if(lines, [prefix](const std::string& l) { return l.starts_with(prefix); });
  return lines;
}

// Lines with the first starting with `prefix` replaced.
Lines replace(Lines lines, std::string_view prefix, std::string line) {
  for (std::string& l : lines) {
    if (l.starts_with(prefix)) {
      l = std::move(line);
      break;
    }
  }
  return lines;
}

const std::string kSdp =
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.101\r\n"
    "t=0 0\r\n"
    "m=audio 49172 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n";

Lines invite_lines() {
  return {
      "INVITE sip:bob@biloxi.example.com SIP/2.0",
      "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds",
      "Max-Forwards: 70",
      "To: Bob <sip:bob@biloxi.example.com>",
      "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774",
      "Call-ID: a84b4c76e66710@pc33.atlanta.example.com",
      "CSeq: 314159 INVITE",
      "Contact: <sip:alice@pc33.atlanta.example.com>",
      "Content-Length: 0",
  };
}

Lines response_lines() {
  return {
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3",
      "Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2",
      "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds ;received=192.0.2.1",
      "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf",
      "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774",
      "Call-ID: a84b4c76e66710@pc33.atlanta.example.com",
      "CSeq: 314159 INVITE",
      "Contact: <sip:bob@192.0.2.4>",
      "Content-Length: 0",
  };
}

// Owns the text a Message points into.
struct Parsed {
  explicit Parsed(std::string bytes) : text(std::move(bytes)) { ok = parse_message(text, msg, error); }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;

  std::string text;
  Message msg;
  ParseError error;
  bool ok = false;
};

bool inside(std::string_view view, std::string_view buffer) {
  return view.empty() || (view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + buffer.size());
}

std::vector<std::string> values(const Message& m, Header id) {
  std::vector<std::string> out;
  m.for_each(id, [&out](std::string_view v) { out.emplace_back(v); });
  return out;
}

// ---- Valid messages ----

TEST(SipMessageTest, ParsesTypicalInviteWithoutCopying) {
  Lines lines = replace(invite_lines(), "Content-Length", "Content-Length: " + std::to_string(kSdp.size()));
  lines.insert(lines.end() - 1, "Content-Type: application/sdp");
  Parsed p(join(lines, kSdp));
  ASSERT_TRUE(p.ok) << p.error.reason;
  const Message& m = p.msg;
  EXPECT_TRUE(m.is_request());
  EXPECT_EQ(m.method(), Method::invite);
  EXPECT_EQ(m.method_text(), "INVITE");
  EXPECT_EQ(m.request_uri_text(), "sip:bob@biloxi.example.com");
  EXPECT_EQ(m.request_uri().scheme, "sip");
  EXPECT_EQ(m.request_uri().user, "bob");
  EXPECT_EQ(m.request_uri().host, "biloxi.example.com");
  EXPECT_EQ(m.request_uri().port, 0);
  EXPECT_EQ(m.top_via().transport, "UDP");
  EXPECT_EQ(m.top_via().host, "pc33.atlanta.example.com");
  EXPECT_EQ(m.top_via().branch(), "z9hG4bK776asdhds");
  EXPECT_EQ(m.from().display, "Alice");
  EXPECT_EQ(m.from().uri.user, "alice");
  EXPECT_EQ(m.from().tag(), "1928301774");
  EXPECT_EQ(m.to().display, "Bob");
  EXPECT_EQ(m.to().tag(), "");
  EXPECT_EQ(m.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(m.cseq().number, 314159u);
  EXPECT_EQ(m.cseq().method, Method::invite);
  EXPECT_EQ(m.max_forwards(), 70);
  EXPECT_EQ(m.body(), kSdp);
  EXPECT_EQ(m.bytes(), p.text);
  ASSERT_EQ(m.headers().size(), 9u);
  EXPECT_EQ(m.headers()[0].id, Header::via);
  EXPECT_EQ(m.headers()[7].id, Header::content_type);
  ASSERT_NE(m.first(Header::content_type), nullptr);
  EXPECT_EQ(m.first(Header::content_type)->value, "application/sdp");
  EXPECT_EQ(m.first(Header::route), nullptr);
  EXPECT_TRUE(inside(m.call_id(), p.text));
  EXPECT_TRUE(inside(m.body(), p.text));
  EXPECT_TRUE(inside(m.from().uri.host, p.text));
}

TEST(SipMessageTest, ParsesResponseWithSeveralVias) {
  Parsed p(join(response_lines()));
  ASSERT_TRUE(p.ok) << p.error.reason;
  const Message& m = p.msg;
  EXPECT_FALSE(m.is_request());
  EXPECT_EQ(m.status(), 200);
  EXPECT_EQ(m.reason(), "OK");
  EXPECT_EQ(m.method(), Method::invite);  // from CSeq
  EXPECT_EQ(m.method_text(), "INVITE");
  EXPECT_EQ(m.top_via().host, "server10.biloxi.example.com");
  EXPECT_EQ(m.top_via().param("received"), "192.0.2.3");
  EXPECT_EQ(m.to().tag(), "a6c85cf");
  EXPECT_EQ(values(m, Header::via).size(), 3u);
  EXPECT_EQ(m.max_forwards(), -1);
}

TEST(SipMessageTest, AcceptsEmptyAndUtf8ReasonPhrases) {
  Lines lines = response_lines();
  Parsed empty(join(replace(lines, "SIP/2.0 200", "SIP/2.0 100 ")));
  ASSERT_TRUE(empty.ok) << empty.error.reason;
  EXPECT_EQ(empty.msg.status(), 100);
  EXPECT_EQ(empty.msg.reason(), "");

  Parsed no_space(join(replace(lines, "SIP/2.0 200", "SIP/2.0 180")));
  ASSERT_TRUE(no_space.ok) << no_space.error.reason;
  EXPECT_EQ(no_space.msg.status(), 180);

  // RFC 4475 §3.1.1.12 (unreason): UTF-8 and unusual characters in the reason phrase.
  const std::string reason = "= 2**3 * 5**2 \xD0\xBD\xD0\xBE \xD1\x81\xD1\x82\xD0\xBE \xD0\xB4\xD0\xB5\xD0\xB2";
  Parsed utf8(join(replace(lines, "SIP/2.0 200", "SIP/2.0 200 " + reason)));
  ASSERT_TRUE(utf8.ok) << utf8.error.reason;
  EXPECT_EQ(utf8.msg.reason(), reason);
}

// RFC 4475 §3.1.1.1 (wsinv): folding, whitespace around ':', '/', ';' and '=', odd case.
TEST(SipMessageTest, ParsesRfc4475ShortTortuousInvite) {
  const std::string body =
      "v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\n"
      "m=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n";
  const std::string text =
      "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
      "TO :\r\n"
      " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
      "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n"
      "  ;\r\n"
      "  tag = 98asjd8\r\n"
      "MaX-fOrWaRdS: 0068\r\n"
      "Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
      "Content-Length   : " +
      std::to_string(body.size()) +
      "\r\n"
      "cseq: 0009\r\n"
      "  INVITE\r\n"
      "Via  : SIP  /   2.0\r\n"
      " /UDP\r\n"
      "    192.0.2.2;branch=390skdjuw\r\n"
      "s :\r\n"
      "NewFangledHeader:   newfangled value\r\n"
      " continued newfangled value\r\n"
      "UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
      "Content-Type: application/sdp\r\n"
      "Route:\r\n"
      " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
      "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
      "  branch  =   z9hG4bK9ikj8  ,\r\n"
      " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
      " z9hG4bK30239\r\n"
      "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"
      "      newvalue ;\r\n"
      "  secondparam ; q = 0.33\r\n"
      "\r\n" +
      body;
  Parsed p(text);
  ASSERT_TRUE(p.ok) << p.error.reason;
  const Message& m = p.msg;
  EXPECT_EQ(m.request_uri().params, "unknownparam");
  EXPECT_EQ(m.to().uri_text, "sip:vivekg@chair-dnrc.example.com");
  EXPECT_EQ(m.to().tag(), "1918181833n");
  EXPECT_EQ(m.from().display, "J Rosenberg \\\\\\\"");
  EXPECT_EQ(m.from().uri.user, "jdrosen");
  EXPECT_EQ(m.from().tag(), "98asjd8");
  EXPECT_EQ(m.max_forwards(), 68);
  EXPECT_EQ(m.cseq().number, 9u);
  EXPECT_EQ(m.cseq().method, Method::invite);
  EXPECT_EQ(m.top_via().host, "192.0.2.2");
  EXPECT_EQ(m.top_via().transport, "UDP");
  EXPECT_EQ(m.top_via().branch(), "390skdjuw");
  EXPECT_EQ(m.body(), body);

  ASSERT_NE(m.first(Header::subject), nullptr);
  EXPECT_EQ(m.first(Header::subject)->value, "");
  EXPECT_EQ(m.first(Header::subject)->name, "s");
  EXPECT_EQ(m.first(Header::max_forwards)->name, "MaX-fOrWaRdS");
  EXPECT_EQ(m.first(Header::other)->value, "newfangled value\r\n continued newfangled value");

  std::vector<Via> vias;
  m.for_each(Header::via, [&vias](std::string_view v) {
    std::optional<Via> via = parse_via(v);
    EXPECT_TRUE(via) << v;
    if (via) vias.push_back(*via);
  });
  ASSERT_EQ(vias.size(), 3u);
  EXPECT_EQ(vias[1].transport, "TCP");
  EXPECT_EQ(vias[1].host, "spindle.example.com");
  EXPECT_EQ(vias[1].branch(), "z9hG4bK9ikj8");
  EXPECT_EQ(vias[2].host, "192.168.255.111");
  EXPECT_EQ(vias[2].branch(), "z9hG4bK30239");

  const std::optional<NameAddr> route = parse_name_addr(m.first(Header::route)->value);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->uri.host, "services.example.com");
  EXPECT_EQ(route->uri.param("lr"), "");
  EXPECT_EQ(route->uri.param("unknownwith"), "value");
  EXPECT_FALSE(route->uri.param("missing"));

  const std::optional<NameAddr> contact = parse_name_addr(m.first(Header::contact)->value);
  ASSERT_TRUE(contact);
  EXPECT_EQ(contact->display, "Quoted string \\\"\\\"");
  EXPECT_EQ(contact->param("newparam"), "newvalue");
  EXPECT_EQ(contact->param("secondparam"), "");
  EXPECT_EQ(contact->param("Q"), "0.33");
}

TEST(SipMessageTest, RecognisesCompactHeaderForms) {
  Parsed p(join(
      {
          "INVITE sip:bob@biloxi.example.com SIP/2.0",
          "v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds",
          "t: <sip:bob@biloxi.example.com>",
          "f: <sip:alice@atlanta.example.com>;tag=88",
          "i: compact@pc33",
          "CSeq: 1 INVITE",
          "m: <sip:alice@pc33.atlanta.example.com>",
          "c: application/sdp",
          "k: 100rel",
          "s: hello",
          "o: presence",
          "e: gzip",
          "l: 4",
      },
      "abcd"));
  ASSERT_TRUE(p.ok) << p.error.reason;
  const Message& m = p.msg;
  EXPECT_EQ(m.from().tag(), "88");
  EXPECT_EQ(m.call_id(), "compact@pc33");
  EXPECT_EQ(m.body(), "abcd");
  const Header expected[] = {Header::via,
                             Header::to,
                             Header::from,
                             Header::call_id,
                             Header::cseq,
                             Header::contact,
                             Header::content_type,
                             Header::supported,
                             Header::subject,
                             Header::event,
                             Header::content_encoding,
                             Header::content_length};
  ASSERT_EQ(m.headers().size(), std::size(expected));
  for (size_t i = 0; i < std::size(expected); ++i) {
    EXPECT_EQ(m.headers()[i].id, expected[i]) << m.headers()[i].name;
  }
}

TEST(SipMessageTest, ClassifiesHeaderNamesCaseInsensitively) {
  const std::pair<std::string_view, Header> cases[] = {
      {"Via", Header::via},
      {"FROM", Header::from},
      {"to", Header::to},
      {"call-ID", Header::call_id},
      {"CSeq", Header::cseq},
      {"Contact", Header::contact},
      {"max-forwards", Header::max_forwards},
      {"Route", Header::route},
      {"Record-Route", Header::record_route},
      {"CONTENT-LENGTH", Header::content_length},
      {"Content-Type", Header::content_type},
      {"Expires", Header::expires},
      {"Min-Expires", Header::min_expires},
      {"Authorization", Header::authorization},
      {"Proxy-Authorization", Header::proxy_authorization},
      {"WWW-Authenticate", Header::www_authenticate},
      {"Proxy-Authenticate", Header::proxy_authenticate},
      {"User-Agent", Header::user_agent},
      {"Server", Header::server},
      {"Privacy", Header::privacy},
      {"P-Asserted-Identity", Header::p_asserted_identity},
      {"p-preferred-identity", Header::p_preferred_identity},
      {"Supported", Header::supported},
      {"Require", Header::require},
      {"Proxy-Require", Header::proxy_require},
      {"Allow", Header::allow},
      {"Retry-After", Header::retry_after},
      {"Subject", Header::subject},
      {"Event", Header::event},
      {"Content-Encoding", Header::content_encoding},
      {"V", Header::via},
      {"L", Header::content_length},
      {"x", Header::other},
      {"Vias", Header::other},
      {"Call_ID", Header::other},
      {"Contacts", Header::other},
      {"Content-Lengthy", Header::other},
      {"Allow-Events", Header::other},
      {"", Header::other},
  };
  for (const auto& [name, id] : cases) EXPECT_EQ(classify_header(name), id) << name;
}

TEST(SipMessageTest, ParsesIpv6InViaAndRequestUri) {
  Lines lines = invite_lines();
  lines = replace(lines, "INVITE", "INVITE sip:bob@[2001:db8::10]:5070;transport=tcp SIP/2.0");
  lines = replace(lines, "Via", "Via: SIP/2.0/TCP [2001:db8::9]:5060;branch=z9hG4bK1;received=2001:db8::9");
  Parsed p(join(lines));
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_TRUE(p.msg.request_uri().ipv6);
  EXPECT_EQ(p.msg.request_uri().host, "2001:db8::10");
  EXPECT_EQ(p.msg.request_uri().port, 5070);
  EXPECT_EQ(p.msg.request_uri().param("TRANSPORT"), "tcp");
  EXPECT_TRUE(p.msg.top_via().ipv6);
  EXPECT_EQ(p.msg.top_via().host, "2001:db8::9");
  EXPECT_EQ(p.msg.top_via().port, 5060);
  EXPECT_EQ(p.msg.top_via().param("received"), "2001:db8::9");
}

// RFC 4475 §3.1.1.3 (intmeth): unusual tokens in method and header names.
TEST(SipMessageTest, KeepsUnknownMethodsAndHeaders) {
  const std::string method = "!interesting-Method0123456789_*+`.%indeed'~";
  Lines lines = invite_lines();
  lines = replace(lines, "INVITE",
                  method +
                      " sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/"
                      ";;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0");
  lines = replace(lines, "CSeq", "CSeq: 139122385 " + method);
  lines.insert(lines.begin() + 1, "extensionHeader-!.%*+_`'~:\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB");
  Parsed p(join(lines));
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(p.msg.method(), Method::unknown);
  EXPECT_EQ(p.msg.method_text(), method);
  EXPECT_EQ(p.msg.cseq().method, Method::unknown);
  EXPECT_EQ(p.msg.request_uri().user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_EQ(p.msg.request_uri().password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  EXPECT_EQ(p.msg.headers()[0].id, Header::other);
  EXPECT_EQ(p.msg.headers()[0].name, "extensionHeader-!.%*+_`'~");
  EXPECT_EQ(to_string(p.msg.method()), "");
}

TEST(SipMessageTest, ExpandsViasInOneHeaderAndAcrossHeaders) {
  Lines lines =
      replace(response_lines(), "Via: SIP/2.0/UDP server10",
              "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5061;branch=z9hG4bK2");
  Parsed p(join(lines));
  ASSERT_TRUE(p.ok) << p.error.reason;
  const std::vector<std::string> vias = values(p.msg, Header::via);
  ASSERT_EQ(vias.size(), 4u);
  EXPECT_EQ(vias[0], "SIP/2.0/UDP a.example.com;branch=z9hG4bK1");
  EXPECT_EQ(vias[1], "SIP/2.0/TCP b.example.com:5061;branch=z9hG4bK2");
  EXPECT_TRUE(vias[2].find("bigbox3") != std::string::npos);
  EXPECT_EQ(p.msg.top_via().host, "a.example.com");

  int seen = 0;
  p.msg.for_each(Header::via, [&seen](std::string_view) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);  // stops when the callable returns false
}

TEST(SipMessageTest, TopViaEndsAtTheFirstCommaOutsideQuotes) {
  Lines lines = replace(invite_lines(), "Via",
                        "Via: SIP/2.0/UDP a.example.com;x=\"1, 2\";branch=z9hG4bK1 , SIP/2.0/TCP b.example.com");
  Parsed p(join(lines));
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(p.msg.top_via().host, "a.example.com");
  EXPECT_EQ(p.msg.top_via().branch(), "z9hG4bK1");
  EXPECT_EQ(p.msg.top_via().param("x"), "\"1, 2\"");
  EXPECT_EQ(values(p.msg, Header::via).size(), 2u);

  Parsed trailing_junk(join(replace(invite_lines(), "Via", "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 junk, x")));
  EXPECT_FALSE(trailing_junk.ok);
  EXPECT_EQ(trailing_junk.error.reason, "Malformed Via header");
}

// RFC 4475 §3.1.1.6 (longreq): long values everywhere.
TEST(SipMessageTest, ParsesLongValues) {
  const std::string long_token(4000, 'a');
  Lines lines = invite_lines();
  lines = replace(lines, "To", "To: \"" + std::string(2000, 'I') + "\" <sip:" + long_token + "@example.com>");
  lines = replace(lines, "Call-ID", "Call-ID: " + long_token + "@example.com");
  lines.insert(lines.begin() + 1, "X-Long: " + std::string(20000, 'x'));
  for (int i = 0; i < 40; ++i) {
    lines.insert(lines.begin() + 1,
                 "Via: SIP/2.0/UDP host" + std::to_string(i) + ".example.com;branch=z9hG4bK" + std::to_string(i));
  }
  Parsed p(join(lines));
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(p.msg.to().uri.user, long_token);
  EXPECT_EQ(p.msg.to().display.size(), 2000u);
  EXPECT_EQ(p.msg.first(Header::other)->value.size(), 20000u);
  EXPECT_EQ(values(p.msg, Header::via).size(), 41u);
  EXPECT_EQ(p.msg.top_via().host, "host39.example.com");
}

// RFC 4475 §3.1.1.11 (lwsdisp), §3.1.1.9 (semiuri), §3.1.1.8 (transports), §3.1.1.4 (escnull).
TEST(SipMessageTest, AcceptsRfc4475OddButValidForms) {
  Lines lines = invite_lines();
  lines = replace(lines, "From", "From: caller<sip:caller@example.com>;tag=323");
  lines = replace(lines, "INVITE", "INVITE sip:user;par=u%40example.net@example.com SIP/2.0");
  lines = replace(lines, "To", "To: sip:null-%00-null@example.com");
  lines.insert(lines.begin() + 2, "Via: SIP/2.0/SCTP t3.example.com;branch=z9hG4bKkdjuw");
  lines.insert(lines.begin() + 2, "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasdf");
  Parsed p(join(lines));
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(p.msg.from().display, "caller");
  EXPECT_EQ(p.msg.from().tag(), "323");
  EXPECT_EQ(p.msg.request_uri().user, "user;par=u%40example.net");
  EXPECT_EQ(p.msg.request_uri().host, "example.com");
  EXPECT_EQ(p.msg.to().uri.user, "null-%00-null");
  EXPECT_EQ(values(p.msg, Header::via).size(), 3u);
}

// RFC 4475 §3.1.1.? (unksm): a scheme privox does not know still parses, so a 416 can be sent.
TEST(SipMessageTest, ParsesUnknownUriSchemesOpaquely) {
  Lines lines = replace(invite_lines(), "INVITE", "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0");
  lines = replace(lines, "CSeq", "CSeq: 1 OPTIONS");
  lines = replace(lines, "To", "To: isbn:2983792873");
  Parsed p(join(lines));
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(p.msg.request_uri().scheme, "nobodyKnowsThisScheme");
  EXPECT_EQ(p.msg.request_uri().host, "");
  EXPECT_EQ(p.msg.to().uri.scheme, "isbn");
}

TEST(SipMessageTest, CutsDatagramBodyToContentLength) {
  // RFC 4475 §3.1.1.? (dblreq): a second request after Content-Length is not part of the first.
  const std::string first = join(replace(invite_lines(), "Content-Length", "Content-Length: 3"), "abc");
  Parsed p(first + "INVITE sip:x@y SIP/2.0\r\n\r\n");
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(p.msg.body(), "abc");
  EXPECT_EQ(p.msg.bytes(), first);
}

TEST(SipMessageTest, TakesRestOfDatagramAsBodyWithoutContentLength) {
  Parsed p(join(drop(invite_lines(), "Content-Length"), "rest of datagram"));
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(p.msg.body(), "rest of datagram");
  EXPECT_EQ(p.msg.first(Header::content_length), nullptr);
}

TEST(SipMessageTest, SkipsLeadingCrlf) {
  const std::string message = join(invite_lines());
  Parsed p("\r\n\r\n" + message);
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(p.msg.bytes(), message);
}

TEST(SipMessageTest, FoldedLinesAreWhitespaceForSubParsers) {
  Lines lines = invite_lines();
  lines = replace(lines, "CSeq", "CSeq: 7\r\n\tINVITE");
  lines = replace(lines, "From", "From:\r\n Alice\r\n <sip:alice@atlanta.example.com>\r\n ;tag=f1");
  lines = replace(lines, "Max-Forwards", "Max-Forwards:\r\n 69");
  lines = replace(lines, "Call-ID", "Call-ID:\r\n\tfolded@host ");
  Parsed p(join(lines));
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(p.msg.cseq().number, 7u);
  EXPECT_EQ(p.msg.from().display, "Alice");
  EXPECT_EQ(p.msg.from().tag(), "f1");
  EXPECT_EQ(p.msg.max_forwards(), 69);
  EXPECT_EQ(p.msg.call_id(), "folded@host");
}

TEST(SipMessageTest, AcceptsMaxForwardsBounds) {
  Parsed zero(join(replace(invite_lines(), "Max-Forwards", "Max-Forwards: 0")));
  ASSERT_TRUE(zero.ok) << zero.error.reason;
  EXPECT_EQ(zero.msg.max_forwards(), 0);
  Parsed top(join(replace(invite_lines(), "Max-Forwards", "Max-Forwards: 255")));
  ASSERT_TRUE(top.ok) << top.error.reason;
  EXPECT_EQ(top.msg.max_forwards(), 255);
  Parsed absent(join(drop(invite_lines(), "Max-Forwards")));
  ASSERT_TRUE(absent.ok) << absent.error.reason;
  EXPECT_EQ(absent.msg.max_forwards(), -1);
}

TEST(SipMessageTest, ReusedMessageKeepsNothingFromTheLastParse) {
  const std::string invite = join(invite_lines(), "");
  const std::string response = join(response_lines());
  Message m;
  ParseError error;
  ASSERT_TRUE(parse_message(invite, m, error));
  ASSERT_TRUE(parse_message(response, m, error));
  EXPECT_EQ(m.max_forwards(), -1);
  EXPECT_EQ(m.request_uri_text(), "");
  EXPECT_EQ(m.headers().size(), response_lines().size() - 1);
  EXPECT_FALSE(m.is_request());

  ASSERT_FALSE(parse_message("garbage\r\n\r\n", m, error));
  ASSERT_TRUE(parse_message(invite, m, error));
  EXPECT_TRUE(error.reason.empty());
  EXPECT_TRUE(m.is_request());
  EXPECT_EQ(m.status(), 0);
}

// ---- Invalid messages ----

TEST(SipMessageTest, RejectsMissingMandatoryHeaders) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"Via", "Missing Via header"},         {"From", "Missing From header"}, {"To", "Missing To header"},
      {"Call-ID", "Missing Call-ID header"}, {"CSeq", "Missing CSeq header"},
  };
  for (const auto& [header, reason] : cases) {
    Parsed p(join(drop(invite_lines(), std::string(header) + ":")));
    EXPECT_FALSE(p.ok) << header;
    EXPECT_EQ(p.error.reason, reason);
    EXPECT_FALSE(p.error.can_respond) << header;
  }
}

TEST(SipMessageTest, RejectsMalformedCSeq) {
  for (const char* cseq : {"CSeq: INVITE", "CSeq: 1", "CSeq: 1INVITE", "CSeq: -1 INVITE", "CSeq: 2147483648 INVITE",
                           "CSeq: 36893488147419103232 INVITE", "CSeq: 1 INVITE extra", "CSeq: 1 INV/ITE", "CSeq:"}) {
    Parsed p(join(replace(invite_lines(), "CSeq", cseq)));
    EXPECT_FALSE(p.ok) << cseq;
    EXPECT_EQ(p.error.reason, "Malformed CSeq") << cseq;
    EXPECT_FALSE(p.error.can_respond) << cseq;
  }
  Parsed max(join(replace(invite_lines(), "CSeq", "CSeq: 2147483647 INVITE")));
  ASSERT_TRUE(max.ok) << max.error.reason;
  EXPECT_EQ(max.msg.cseq().number, 2147483647u);
}

// RFC 4475 §3.1.2.17 and §3.1.2.18 (mismatch01, mismatch02).
TEST(SipMessageTest, RejectsCSeqMethodMismatch) {
  Parsed known(join(replace(invite_lines(), "CSeq", "CSeq: 1 OPTIONS")));
  EXPECT_FALSE(known.ok);
  EXPECT_EQ(known.error.reason, "CSeq method does not match request method");
  EXPECT_TRUE(known.error.can_respond);

  Lines lines = replace(invite_lines(), "INVITE", "NEWMETHOD sip:user@example.com SIP/2.0");
  Parsed unknown(join(replace(lines, "CSeq", "CSeq: 1 INVITE")));
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.error.reason, "CSeq method does not match request method");

  Parsed lower(join(replace(invite_lines(), "CSeq", "CSeq: 1 invite")));
  EXPECT_FALSE(lower.ok);  // methods are case-sensitive
}

// RFC 4475 §3.1.2.2, §3.1.2.3, §3.1.2.4 (clerr, ncl, scalar02).
TEST(SipMessageTest, RejectsBadContentLength) {
  Parsed larger(join(replace(invite_lines(), "Content-Length", "Content-Length: 9999"), "short body"));
  EXPECT_FALSE(larger.ok);
  EXPECT_EQ(larger.error.reason, "Content-Length larger than body");
  EXPECT_TRUE(larger.error.can_respond);

  Parsed negative(join(replace(invite_lines(), "Content-Length", "Content-Length: -999"), "body"));
  EXPECT_FALSE(negative.ok);
  EXPECT_EQ(negative.error.reason, "Malformed Content-Length");

  Parsed huge(join(replace(invite_lines(), "Content-Length", "Content-Length: 18446744073709551618"), "body"));
  EXPECT_FALSE(huge.ok);
  EXPECT_EQ(huge.error.reason, "Content-Length larger than body");

  Parsed words(join(replace(invite_lines(), "Content-Length", "Content-Length: four"), "body"));
  EXPECT_FALSE(words.ok);
  EXPECT_EQ(words.error.reason, "Malformed Content-Length");
}

// RFC 4475 §3.1.2.16 (badvers).
TEST(SipMessageTest, RejectsUnsupportedSipVersionWith505) {
  Parsed p(join(replace(invite_lines(), "INVITE", "INVITE sip:bob@biloxi.example.com SIP/7.0")));
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error.reason, "Unsupported SIP version");
  EXPECT_EQ(p.error.status, 505);
  EXPECT_TRUE(p.error.can_respond);

  Parsed response(join(replace(response_lines(), "SIP/2.0 200", "SIP/3.0 200 OK")));
  EXPECT_FALSE(response.ok);
  EXPECT_EQ(response.error.reason, "Unsupported SIP version");
  EXPECT_FALSE(response.error.can_respond);

  Parsed lower(join(replace(invite_lines(), "INVITE", "INVITE sip:bob@biloxi.example.com sip/2.0")));
  EXPECT_TRUE(lower.ok) << lower.error.reason;  // the version is case-insensitive (RFC 3261 §7.1)
}

TEST(SipMessageTest, RejectsMalformedStartLines) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"garbage", "Malformed request line"},
      {"INVITE sip:bob@biloxi.example.com", "Malformed request line"},
      {"INVITE  sip:bob@biloxi.example.com SIP/2.0", "Malformed request line"},  // lwsstart
      {"INVITE sip:bob@biloxi.example.com  SIP/2.0", "Malformed request line"},
      {"INVITE sip:bob@biloxi.example.com SIP/2.0 ", "Malformed request line"},     // trws
      {"INVITE sip:bob@biloxi.example.com; lr SIP/2.0", "Malformed request line"},  // lwsruri
      {" INVITE sip:bob@biloxi.example.com SIP/2.0", "Malformed request line"},
      {"INV(ITE sip:bob@biloxi.example.com SIP/2.0", "Malformed request line"},
      {"INVITE <sip:bob@biloxi.example.com> SIP/2.0", "Malformed Request-URI"},                      // ltgtruri
      {"INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0", "Malformed Request-URI"},  // escruri
      {"INVITE sip:bob@biloxi.example.com:99999 SIP/2.0", "Malformed Request-URI"},
      {"INVITE bob SIP/2.0", "Malformed Request-URI"},
      {"INVITE sip:bob@biloxi.example.com SIP/2.0x", "Malformed request line"},
      {"INVITE sip:bob@biloxi.example.com HTTP/1.1", "Malformed request line"},
  };
  for (const auto& [start, reason] : cases) {
    Parsed p(join(replace(invite_lines(), "INVITE", std::string(start))));
    EXPECT_FALSE(p.ok) << start;
    EXPECT_EQ(p.error.reason, reason) << start;
  }
}

// RFC 4475 §3.1.2.19 (bigcode) and other broken status lines.
TEST(SipMessageTest, RejectsMalformedStatusLines) {
  for (const char* line :
       {"SIP/2.0 4294967301 better not break the receiver", "SIP/2.0 99 Too Small", "SIP/2.0 700 Too Big",
        "SIP/2.0 2x0 OK", "SIP/2.0", "SIP/2.0  200 OK", "SIP/2.0 200OK", "SIP/2.0x 200 OK"}) {
    Parsed p(join(replace(response_lines(), "SIP/2.0 200", line)));
    EXPECT_FALSE(p.ok) << line;
    EXPECT_FALSE(p.error.can_respond) << line;
    EXPECT_FALSE(p.error.reason.empty());
  }
}

TEST(SipMessageTest, RejectsNulAndControlCharacters) {
  const std::string invite = join(invite_lines());
  const std::pair<size_t, char> cases[] = {
      {3, '\0'},                                // start line
      {invite.find("Max-Forwards") + 2, '\0'},  // header name
      {invite.find("z9hG4bK") + 3, '\0'},       // header value
      {invite.find("Call-ID") + 10, '\x01'},    // other control in a value
      {invite.find("Call-ID") + 10, '\x7f'},    // DEL
      {invite.find("CSeq") + 7, '\n'},          // bare LF
      {invite.find("CSeq") + 7, '\r'},          // bare CR
      {6, '\t'},                                // HT is not a request line separator
  };
  for (const auto& [pos, c] : cases) {
    std::string text = invite;
    text[pos] = c;
    Parsed p(text);
    EXPECT_FALSE(p.ok) << "byte " << int(c) << " at " << pos;
  }
  std::string header_name = invite;
  header_name[header_name.find("Max-Forwards") + 2] = '\0';
  Parsed p(header_name);
  EXPECT_EQ(p.error.reason, "Malformed header line");
  std::string start_line = invite;
  start_line[3] = '\0';
  Parsed s(start_line);
  EXPECT_EQ(s.error.reason, "Invalid character in start line");
}

// RFC 4475 §3.1.1.3 (intmeth): a quoted-pair may escape BEL, NUL and DEL; a bare one is invalid.
TEST(SipMessageTest, AcceptsControlCharactersOnlyWhenEscapedInQuotes) {
  std::string to = "To: \"BEL:\\\x07 NUL:\\";
  to += '\0';
  to += " DEL:\\\x7f\" <sip:bob@biloxi.example.com>";
  Parsed p(join(replace(invite_lines(), "To", to)));
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(p.msg.to().display.size(), 20u);
  EXPECT_EQ(p.msg.to().display[18], '\\');
  EXPECT_EQ(p.msg.to().display[19], '\x7f');
  EXPECT_EQ(frame_stream(p.text).kind, Frame::message);

  std::string unescaped = "To: \"NUL:";
  unescaped += '\0';
  unescaped += "\" <sip:bob@biloxi.example.com>";
  Parsed bare(join(replace(invite_lines(), "To", unescaped)));
  EXPECT_FALSE(bare.ok);
  EXPECT_EQ(bare.error.reason, "Invalid character in header");
  EXPECT_EQ(frame_stream(bare.text).kind, Frame::invalid);

  std::string outside = "Subject: a\\";
  outside += '\x07';
  Lines lines = invite_lines();
  lines.insert(lines.begin() + 1, outside);
  Parsed unquoted(join(lines));
  EXPECT_FALSE(unquoted.ok);
  EXPECT_EQ(unquoted.error.reason, "Invalid character in header");
}

TEST(SipMessageTest, RejectsTooManyHeaders) {
  Lines lines = invite_lines();
  while (lines.size() - 1 < Message::kMaxHeaders) lines.insert(lines.end() - 1, "X-Filler: x");
  Parsed exact(join(lines));
  ASSERT_TRUE(exact.ok) << exact.error.reason;
  EXPECT_EQ(exact.msg.headers().size(), Message::kMaxHeaders);

  lines.insert(lines.end() - 1, "X-Filler: one too many");
  Parsed over(join(lines));
  EXPECT_FALSE(over.ok);
  EXPECT_EQ(over.error.reason, "Too many headers");
  EXPECT_FALSE(over.error.can_respond);
  EXPECT_EQ(over.msg.headers().size(), Message::kMaxHeaders);
}

// RFC 4475 §3.1.2.6 (quotbal).
TEST(SipMessageTest, RejectsUnterminatedQuote) {
  Parsed p(join(replace(invite_lines(), "To", "To: \"Mr. J. User <sip:j.user@example.com>")));
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error.reason, "Malformed To header");
  EXPECT_FALSE(p.error.can_respond);
}

TEST(SipMessageTest, RejectsUnbalancedAngleBrackets) {
  for (const char* from : {"From: Alice <sip:alice@atlanta.example.com;tag=1", "From: sip:alice@atlanta.example.com>",
                           "From: Alice sip:alice@atlanta.example.com>;tag=1", "From: <<sip:alice@a.example.com>"}) {
    Parsed p(join(replace(invite_lines(), "From", from)));
    EXPECT_FALSE(p.ok) << from;
    EXPECT_EQ(p.error.reason, "Malformed From header") << from;
  }
}

// RFC 4475 §3.1.2.4 (scalar02) and friends.
TEST(SipMessageTest, RejectsInvalidMaxForwards) {
  for (const char* mf : {"Max-Forwards: 300", "Max-Forwards: 256", "Max-Forwards: -1", "Max-Forwards: seventy",
                         "Max-Forwards: 7 0", "Max-Forwards:", "Max-Forwards: 99999999999999999999999"}) {
    Parsed p(join(replace(invite_lines(), "Max-Forwards", mf)));
    EXPECT_FALSE(p.ok) << mf;
    EXPECT_EQ(p.error.reason, "Invalid Max-Forwards") << mf;
    EXPECT_TRUE(p.error.can_respond) << mf;
  }
}

// RFC 4475 §3.1.2.? (multi01): several values in single-valued headers.
TEST(SipMessageTest, RejectsDuplicateSingleValuedHeaders) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"Call-ID: other@host", "Duplicate Call-ID header"},
      {"From: sip:caller@example.net;tag=2923420123", "Duplicate From header"},
      {"To: sip:other@example.net", "Duplicate To header"},
      {"CSeq: 2 INVITE", "Duplicate CSeq header"},
      {"Max-Forwards: 15", "Duplicate Max-Forwards header"},
      {"l: 0", "Duplicate Content-Length header"},
  };
  for (const auto& [extra, reason] : cases) {
    Lines lines = invite_lines();
    lines.push_back(std::string(extra));
    Parsed p(join(lines));
    EXPECT_FALSE(p.ok) << extra;
    EXPECT_EQ(p.error.reason, reason);
    EXPECT_TRUE(p.error.can_respond) << extra;  // the first of each is still usable
  }
  Parsed two_in_one(join(replace(invite_lines(), "To", "To: sip:a@example.com, sip:b@example.com")));
  EXPECT_FALSE(two_in_one.ok);
  EXPECT_EQ(two_in_one.error.reason, "Malformed To header");
}

TEST(SipMessageTest, RejectsMalformedViaHeaders) {
  for (const char* via :
       {"Via: SIP/2.0/UDP 192.0.2.15;;,;,,",  // badinv01
        "Via: SIP/2.0/UDP", "Via: SIP/2.0 pc33.example.com", "Via: SIP/3.0/UDP pc33.example.com",
        "Via: HTTP/2.0/UDP pc33.example.com", "Via: SIP/2.0/UDPpc33.example.com", "Via: SIP/2.0/UDP pc33.example.com:0",
        "Via: SIP/2.0/UDP [2001:db8::1:5060", "Via: SIP/2.0/UDP pc33.example.com;branch=a b", "Via:", "Via: , ,"}) {
    Parsed p(join(replace(invite_lines(), "Via", via)));
    EXPECT_FALSE(p.ok) << via;
    EXPECT_EQ(p.error.reason, "Malformed Via header") << via;
    EXPECT_FALSE(p.error.can_respond) << via;
  }
}

// RFC 4475 §3.1.2.15 (baddn), §3.1.2.14 (badaspec), §3.1.2.13 (regbadct).
TEST(SipMessageTest, RejectsMalformedAddresses) {
  Parsed baddn(join(replace(invite_lines(), "From", "From: Bell, Alexander <sip:a.g.bell@example.com>;tag=43")));
  EXPECT_FALSE(baddn.ok);
  EXPECT_EQ(baddn.error.reason, "Malformed From header");

  Parsed badaspec(join(replace(invite_lines(), "To", "To: \"Watson, Thomas\" < sip:t.watson@example.org >")));
  EXPECT_FALSE(badaspec.ok);
  EXPECT_EQ(badaspec.error.reason, "Malformed To header");

  Parsed regbadct(
      join(replace(invite_lines(), "Contact", "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E")));
  EXPECT_FALSE(regbadct.ok);
  EXPECT_EQ(regbadct.error.reason, "Malformed Contact header");

  Parsed bad_call_id(join(replace(invite_lines(), "Call-ID", "Call-ID: has space@host")));
  EXPECT_FALSE(bad_call_id.ok);
  EXPECT_EQ(bad_call_id.error.reason, "Malformed Call-ID header");
  EXPECT_FALSE(bad_call_id.error.can_respond);

  Parsed wildcard_from(join(replace(invite_lines(), "From", "From: *")));
  EXPECT_FALSE(wildcard_from.ok);
  EXPECT_EQ(wildcard_from.error.reason, "Malformed From header");
}

TEST(SipMessageTest, RejectsBrokenHeaderLines) {
  for (const char* line : {"No colon here", " Leading: space", ": no name", "Bad{name}: x", "Name With Space: x"}) {
    Lines lines = invite_lines();
    lines.insert(lines.begin() + 1, line);
    Parsed p(join(lines));
    EXPECT_FALSE(p.ok) << line;
    EXPECT_EQ(p.error.reason, "Malformed header line") << line;
    EXPECT_TRUE(p.error.can_respond) << line;  // the line is skipped; the mandatory headers are fine
  }
}

TEST(SipMessageTest, RejectsMessagesThatEndInsideTheHeaders) {
  std::string text = join(invite_lines());
  text.resize(text.size() - 2);  // no empty line
  Parsed no_empty_line(text);
  EXPECT_FALSE(no_empty_line.ok);
  EXPECT_EQ(no_empty_line.error.reason, "Message ends before the empty line after the headers");
  EXPECT_TRUE(no_empty_line.error.can_respond);

  Parsed start_only("INVITE sip:bob@biloxi.example.com SIP/2.0");
  EXPECT_FALSE(start_only.ok);
  EXPECT_FALSE(start_only.error.can_respond);

  Parsed empty("\r\n\r\n");
  EXPECT_FALSE(empty.ok);
  EXPECT_EQ(empty.error.reason, "Empty message");
}

TEST(SipMessageTest, NeverAnswersResponsesOrAck) {
  Lines bad_response = response_lines();
  bad_response.push_back("Max-Forwards: 300");
  Parsed r(join(bad_response));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.reason, "Invalid Max-Forwards");
  EXPECT_FALSE(r.error.can_respond);

  Lines ack = replace(invite_lines(), "INVITE", "ACK sip:bob@biloxi.example.com SIP/2.0");
  ack = replace(ack, "CSeq", "CSeq: 314159 ACK");
  Parsed good_ack(join(ack));
  ASSERT_TRUE(good_ack.ok) << good_ack.error.reason;
  EXPECT_EQ(good_ack.msg.method(), Method::ack);
  Parsed bad_ack(join(replace(ack, "Max-Forwards", "Max-Forwards: 300")));
  EXPECT_FALSE(bad_ack.ok);
  EXPECT_FALSE(bad_ack.error.can_respond);
}

TEST(SipMessageTest, FailedParseStillHoldsWhatA400Needs) {
  Lines lines = replace(invite_lines(), "Max-Forwards", "Max-Forwards: 300");
  Parsed p(join(lines));
  ASSERT_FALSE(p.ok);
  ASSERT_TRUE(p.error.can_respond);
  EXPECT_EQ(p.msg.top_via().branch(), "z9hG4bK776asdhds");
  EXPECT_EQ(p.msg.from().tag(), "1928301774");
  EXPECT_EQ(p.msg.to().uri.user, "bob");
  EXPECT_EQ(p.msg.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(p.msg.cseq().number, 314159u);
  EXPECT_EQ(values(p.msg, Header::via).size(), 1u);
}

// ---- Sub-parsers ----

TEST(SipForEachValueTest, SplitsOnlyTopLevelCommas) {
  std::vector<std::string> out;
  auto collect = [&out](std::string_view v) {
    out.emplace_back(v);
    return true;
  };
  EXPECT_TRUE(for_each_value(R"("Doe, John" <sip:a@b;x=1,2>, <sip:c@d> , ,sip:e@f,)", collect));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], R"("Doe, John" <sip:a@b;x=1,2>)");
  EXPECT_EQ(out[1], "<sip:c@d>");
  EXPECT_EQ(out[2], "sip:e@f");

  out.clear();
  EXPECT_TRUE(for_each_value(R"("a \", b" <x>, y)", collect));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], R"("a \", b" <x>)");

  out.clear();
  EXPECT_TRUE(for_each_value("\"unterminated, quote", collect));  // the rest is one element
  ASSERT_EQ(out.size(), 1u);

  out.clear();
  EXPECT_TRUE(for_each_value("a,\r\n b", collect));  // folding is whitespace
  EXPECT_EQ(out, (std::vector<std::string>{"a", "b"}));

  out.clear();
  EXPECT_TRUE(for_each_value("", collect));
  EXPECT_TRUE(for_each_value(" , ,", collect));
  EXPECT_TRUE(out.empty());

  int calls = 0;
  EXPECT_FALSE(for_each_value("a, b, c", [&calls](std::string_view) { return ++calls < 2; }));
  EXPECT_EQ(calls, 2);
  calls = 0;
  EXPECT_TRUE(for_each_value("a, b, c", [&calls](std::string_view) { ++calls; }));
  EXPECT_EQ(calls, 3);
}

TEST(SipMessageTest, ForEachSplitsOnlyListHeaders) {
  Lines lines = invite_lines();
  lines.insert(lines.end() - 1, "Authorization: Digest username=\"alice\", realm=\"atlanta.example.com\", nonce=\"x\"");
  lines.insert(lines.end() - 1, "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>");
  lines.insert(lines.end() - 1, "Route: <sip:p3.example.com;lr>");
  lines.insert(lines.end() - 1, "Date: Sat, 13 Nov 2010 23:29:00 GMT");
  lines.insert(lines.end() - 1, "Supported: replaces, 100rel,timer");
  Parsed p(join(lines));
  ASSERT_TRUE(p.ok) << p.error.reason;
  EXPECT_EQ(values(p.msg, Header::authorization).size(), 1u);
  EXPECT_EQ(
      values(p.msg, Header::route),
      (std::vector<std::string>{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>", "<sip:p3.example.com;lr>"}));
  EXPECT_EQ(values(p.msg, Header::other), (std::vector<std::string>{"Sat, 13 Nov 2010 23:29:00 GMT"}));
  EXPECT_EQ(values(p.msg, Header::supported), (std::vector<std::string>{"replaces", "100rel", "timer"}));
  EXPECT_TRUE(values(p.msg, Header::record_route).empty());
}

TEST(SipUriTest, SplitsSipUriIntoParts) {
  const std::optional<Uri> u = parse_uri(
      "sips:alice:secret@atlanta.example.com:5061;transport=tcp;LR;maddr=239.255.255.1?subject=project%20x&priority="
      "urgent");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "sips");
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->password, "secret");
  EXPECT_EQ(u->host, "atlanta.example.com");
  EXPECT_EQ(u->port, 5061);
  EXPECT_FALSE(u->ipv6);
  EXPECT_EQ(u->params, "transport=tcp;LR;maddr=239.255.255.1");
  EXPECT_EQ(u->headers, "subject=project%20x&priority=urgent");
  EXPECT_EQ(u->param("Transport"), "tcp");
  EXPECT_EQ(u->param("lr"), "");
  EXPECT_EQ(u->param("maddr"), "239.255.255.1");
  EXPECT_FALSE(u->param("ttl"));
  EXPECT_FALSE(u->param("transport=tcp"));

  const std::optional<Uri> bare = parse_uri("SIP:example.com");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->scheme, "SIP");
  EXPECT_EQ(bare->user, "");
  EXPECT_EQ(bare->host, "example.com");
  EXPECT_EQ(bare->port, 0);

  const std::optional<Uri> v4 = parse_uri("sip:+1-212-555-1212:1234@192.0.2.4:65535;user=phone");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->user, "+1-212-555-1212");
  EXPECT_EQ(v4->password, "1234");
  EXPECT_EQ(v4->host, "192.0.2.4");
  EXPECT_EQ(v4->port, 65535);
  EXPECT_EQ(v4->param("user"), "phone");
}

TEST(SipUriTest, ParsesIpv6References) {
  const std::optional<Uri> full = parse_uri("sip:bob@[2001:db8:0:0:0:0:0:1]:5060;transport=udp");
  ASSERT_TRUE(full);
  EXPECT_TRUE(full->ipv6);
  EXPECT_EQ(full->host, "2001:db8:0:0:0:0:0:1");
  EXPECT_EQ(full->port, 5060);

  for (const char* ok :
       {"sip:[::1]", "sip:[::]", "sip:[2001:db8::]", "sip:[::ffff:192.0.2.1]:5060", "sip:user@[fe80::1:2:3:4]"}) {
    const std::optional<Uri> u = parse_uri(ok);
    ASSERT_TRUE(u) << ok;
    EXPECT_TRUE(u->ipv6) << ok;
  }
  for (const char* bad : {"sip:[]", "sip:[2001:db8::1", "sip:[2001:db8::1]x", "sip:[1:2:3:4:5:6:7:8:9]",
                          "sip:[1::2::3]", "sip:[12345::1]", "sip:[::1]:", "sip:[g::1]", "sip:[1:2:3:4:5:6:7]",
                          "sip:[::300.1.1.1]", "sip:[1:]", "sip:2001:db8::1"}) {
    EXPECT_FALSE(parse_uri(bad)) << bad;
  }
}

TEST(SipUriTest, ParsesTelUris) {
  const std::optional<Uri> global = parse_uri("tel:+1-201-555-0123");
  ASSERT_TRUE(global);
  EXPECT_EQ(global->scheme, "tel");
  EXPECT_EQ(global->user, "+1-201-555-0123");
  EXPECT_EQ(global->host, "");

  const std::optional<Uri> local = parse_uri("tel:7042;phone-context=example.com");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->user, "7042");
  EXPECT_EQ(local->param("phone-context"), "example.com");

  EXPECT_FALSE(parse_uri("tel:"));
  EXPECT_FALSE(parse_uri("tel:;phone-context=x"));
  EXPECT_FALSE(parse_uri("tel:+1 201"));
  EXPECT_FALSE(parse_uri("tel:+1201;"));
}

TEST(SipUriTest, RejectsMalformedUris) {
  for (const char* bad : {"",
                          "sip:",
                          "sip:@example.com",
                          "sip:user@",
                          "sip:user@host:",
                          "sip:user@host:0",
                          "sip:user@host:65536",
                          "sip:user@host:abc",
                          "sip:user@host;",
                          "sip:user@host;;lr",
                          "sip:user@host;=x",
                          "sip:user@host?",
                          "sip:us er@host",
                          "sip:user@ho st",
                          "sip:user@host>",
                          "sip:user@host,",
                          "<sip:user@host>",
                          "1sip:host",
                          ":host",
                          "sip:user@host@other",
                          "sip:us\"er@host",
                          "x-scheme:",
                          "x-scheme:has space",
                          "x-scheme:<bad>"}) {
    EXPECT_FALSE(parse_uri(bad)) << bad;
  }
}

TEST(SipNameAddrTest, ParsesEveryForm) {
  const std::optional<NameAddr> quoted = parse_name_addr(R"("A. G. \"Bell\"" <sip:agb@bell-telephone.com> ;tag=a48s)");
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->display, R"(A. G. \"Bell\")");
  EXPECT_EQ(quoted->uri_text, "sip:agb@bell-telephone.com");
  EXPECT_EQ(quoted->uri.host, "bell-telephone.com");
  EXPECT_EQ(quoted->params, "tag=a48s");
  EXPECT_EQ(quoted->tag(), "a48s");
  EXPECT_FALSE(quoted->wildcard);

  const std::optional<NameAddr> unquoted = parse_name_addr("Anonymous Caller <sip:c8oqz84zk7z@privacy.org>;tag=hyh8");
  ASSERT_TRUE(unquoted);
  EXPECT_EQ(unquoted->display, "Anonymous Caller");
  EXPECT_EQ(unquoted->tag(), "hyh8");

  const std::optional<NameAddr> spec = parse_name_addr("sip:+12125551212@server.phone2net.com;tag=887s");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->display, "");
  EXPECT_EQ(spec->uri_text, "sip:+12125551212@server.phone2net.com");
  EXPECT_EQ(spec->uri.params, "");  // in an addr-spec, ';' starts header params
  EXPECT_EQ(spec->tag(), "887s");

  const std::optional<NameAddr> with_uri_params =
      parse_name_addr("<sip:alice@pc33.example.com;transport=tcp>;expires=3600;+sip.instance=\"<urn:uuid:f81d>\"");
  ASSERT_TRUE(with_uri_params);
  EXPECT_EQ(with_uri_params->uri.param("transport"), "tcp");
  EXPECT_EQ(with_uri_params->param("expires"), "3600");
  EXPECT_EQ(with_uri_params->param("+sip.instance"), "\"<urn:uuid:f81d>\"");
  EXPECT_EQ(with_uri_params->tag(), "");

  const std::optional<NameAddr> star = parse_name_addr(" * ");
  ASSERT_TRUE(star);
  EXPECT_TRUE(star->wildcard);

  const std::optional<NameAddr> utf8 = parse_name_addr("\"\xC3\x89mile\" <tel:+33123456789>");
  ASSERT_TRUE(utf8);
  EXPECT_EQ(utf8->display, "\xC3\x89mile");
  EXPECT_EQ(utf8->uri.user, "+33123456789");

  const std::optional<NameAddr> empty_display = parse_name_addr("\"\" <sip:a@b>");
  ASSERT_TRUE(empty_display);
  EXPECT_EQ(empty_display->display, "");
}

TEST(SipNameAddrTest, RejectsMalformedValues) {
  for (const char* bad : {"",
                          "   ",
                          "\"unterminated <sip:a@b>",
                          "\"quoted\" sip:a@b",
                          "<sip:a@b",
                          "sip:a@b>",
                          "<sip:a@b> junk",
                          "<sip:a@b>;",
                          "<sip:a@b>;tag=",
                          "<sip:a@b>;tag=a b",
                          "<sip:a@b>;=x",
                          "< sip:a@b>",
                          "<sip:a@b >",
                          "<>",
                          "<not a uri>",
                          "Bell, A <sip:a@b>",
                          "sip:a@b?subject=x",
                          "sip:a@b, sip:c@d",
                          "\"x\\",
                          "<sip:a@b>;tag=\"open",
                          "**"}) {
    EXPECT_FALSE(parse_name_addr(bad)) << bad;
  }
  EXPECT_TRUE(parse_name_addr("<sip:a@b>;tag=x;lr;q=0.5"));
  EXPECT_TRUE(parse_name_addr("<sip:a@b> ;\r\n tag = x"));
}

TEST(SipViaTest, ParsesEveryPart) {
  const std::optional<Via> v =
      parse_via("SIP / 2.0 / TLS  proxy.example.com : 5061 ; branch=z9hG4bKnashds7 ;rport; received=192.0.2.1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->transport, "TLS");
  EXPECT_EQ(v->host, "proxy.example.com");
  EXPECT_EQ(v->port, 5061);
  EXPECT_FALSE(v->ipv6);
  EXPECT_EQ(v->branch(), "z9hG4bKnashds7");
  EXPECT_EQ(v->param("RPORT"), "");
  EXPECT_EQ(v->param("received"), "192.0.2.1");
  EXPECT_FALSE(v->param("maddr"));

  const std::optional<Via> bare = parse_via("sip/2.0/udp host");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->transport, "udp");
  EXPECT_EQ(bare->port, 0);
  EXPECT_EQ(bare->params, "");
  EXPECT_EQ(bare->branch(), "");

  const std::optional<Via> v6 = parse_via("SIP/2.0/UDP [::1];branch=z9hG4bK1;received=\"quoted\"");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->param("received"), "\"quoted\"");
}

TEST(SipViaTest, RejectsMalformedValues) {
  for (const char* bad :
       {"", "SIP/2.0/UDP", "SIP/2.0/UDP ", "SIP/2.0/ host", "SIP//UDP host", "SIP/2.1/UDP host", "SIPS/2.0/UDP host",
        "SIP/2.0/UDP host:", "SIP/2.0/UDP host:65536", "SIP/2.0/UDP host;", "SIP/2.0/UDP host;;branch=x",
        "SIP/2.0/UDP host extra", "SIP/2.0/UDP [::1", "SIP/2.0/UDP [zz::1]", "SIP/2.0/UDP host;branch=\"open",
        "SIP/2.0/UDP host,other", "SIP/2.0/UDP h@st"}) {
    EXPECT_FALSE(parse_via(bad)) << bad;
  }
}

TEST(SipMethodTest, ParsesMethodsCaseSensitively) {
  const Method all[] = {Method::invite,    Method::ack,     Method::bye,   Method::cancel, Method::register_,
                        Method::options,   Method::message, Method::info,  Method::prack,  Method::update,
                        Method::subscribe, Method::notify,  Method::refer, Method::publish};
  for (const Method m : all) {
    EXPECT_FALSE(to_string(m).empty());
    EXPECT_EQ(parse_method(to_string(m)), m) << to_string(m);
  }
  EXPECT_EQ(parse_method("invite"), Method::unknown);
  EXPECT_EQ(parse_method("INVITEX"), Method::unknown);
  EXPECT_EQ(parse_method(""), Method::unknown);
  EXPECT_EQ(to_string(Method::unknown), "");
}

// ---- TCP framing ----

TEST(SipFrameTest, WaitsForTheWholeMessage) {
  const std::string message = join(replace(invite_lines(), "Content-Length", "Content-Length: 5"), "hello");
  for (size_t n = 0; n < message.size(); ++n) {
    const Frame f = frame_stream(std::string_view(message).substr(0, n));
    ASSERT_EQ(f.kind, Frame::incomplete) << "at " << n << ": " << f.reason;
  }
  const Frame f = frame_stream(message);
  EXPECT_EQ(f.kind, Frame::message);
  EXPECT_EQ(f.length, message.size());
}

TEST(SipFrameTest, SplitsPipelinedMessages) {
  const std::string first = join(replace(invite_lines(), "Content-Length", "Content-Length: 3"), "abc");
  const std::string second = join(response_lines());
  const std::string stream = first + second + "INVITE sip:partial";
  const Frame f1 = frame_stream(stream);
  ASSERT_EQ(f1.kind, Frame::message);
  ASSERT_EQ(f1.length, first.size());
  const std::string_view rest = std::string_view(stream).substr(f1.length);
  const Frame f2 = frame_stream(rest);
  ASSERT_EQ(f2.kind, Frame::message);
  ASSERT_EQ(f2.length, second.size());
  EXPECT_EQ(frame_stream(rest.substr(f2.length)).kind, Frame::incomplete);

  Message m;
  ParseError error;
  ASSERT_TRUE(parse_message(std::string_view(stream).substr(0, f1.length), m, error)) << error.reason;
  EXPECT_EQ(m.body(), "abc");
  ASSERT_TRUE(parse_message(rest.substr(0, f2.length), m, error)) << error.reason;
  EXPECT_EQ(m.status(), 200);
}

TEST(SipFrameTest, ReportsKeepalives) {
  const std::string message = join(invite_lines());
  Frame ping = frame_stream("\r\n\r\n" + message);
  EXPECT_EQ(ping.kind, Frame::keepalive);
  EXPECT_EQ(ping.length, 4u);
  Frame pong = frame_stream("\r\n" + message);
  EXPECT_EQ(pong.kind, Frame::keepalive);
  EXPECT_EQ(pong.length, 2u);
  EXPECT_EQ(frame_stream("\r\n").kind, Frame::keepalive);
  EXPECT_EQ(frame_stream("\r\n").length, 2u);
  EXPECT_EQ(frame_stream("\r").kind, Frame::incomplete);
  EXPECT_EQ(frame_stream("\r\n\r").kind, Frame::incomplete);  // may be a ping split in two
  EXPECT_EQ(frame_stream("").kind, Frame::incomplete);
  EXPECT_EQ(frame_stream("\n").kind, Frame::invalid);
  EXPECT_EQ(frame_stream("\rX").kind, Frame::invalid);

  // Keep-alives, then the message.
  std::string stream = "\r\n\r\n\r\n\r\n" + message;
  std::string_view rest = stream;
  int keepalives = 0;
  for (Frame f = frame_stream(rest); f.kind == Frame::keepalive; f = frame_stream(rest)) {
    ++keepalives;
    rest.remove_prefix(f.length);
  }
  EXPECT_EQ(keepalives, 2);
  EXPECT_EQ(frame_stream(rest).kind, Frame::message);
}

TEST(SipFrameTest, RequiresContentLengthOnStreams) {
  const Frame f = frame_stream(join(drop(invite_lines(), "Content-Length")));
  EXPECT_EQ(f.kind, Frame::invalid);
  EXPECT_EQ(f.reason, "Missing Content-Length header");

  const Frame compact = frame_stream(join(replace(invite_lines(), "Content-Length", "l : 2"), "hi"));
  EXPECT_EQ(compact.kind, Frame::message);

  const Frame folded = frame_stream(join(replace(invite_lines(), "Content-Length", "content-LENGTH:\r\n 2"), "hi"));
  EXPECT_EQ(folded.kind, Frame::message);

  const Frame bad = frame_stream(join(replace(invite_lines(), "Content-Length", "Content-Length: -1")));
  EXPECT_EQ(bad.kind, Frame::invalid);
  EXPECT_EQ(bad.reason, "Malformed Content-Length");

  Lines twice = invite_lines();
  twice.push_back("l: 4");
  const Frame conflicting = frame_stream(join(twice, "abcd"));
  EXPECT_EQ(conflicting.kind, Frame::invalid);
  EXPECT_EQ(conflicting.reason, "Conflicting Content-Length headers");
}

TEST(SipFrameTest, RejectsGarbageAndOversizedMessages) {
  EXPECT_EQ(frame_stream(std::string("\x16\x03\x01\x02\x00", 5)).kind, Frame::invalid);  // a TLS ClientHello
  EXPECT_EQ(frame_stream("GET / HTTP/1.1\r\nHost: x\r\n\r\n").kind, Frame::invalid);
  const char with_nul[] = "INVITE sip:a@b SIP/2.0\r\nVia: \0x\r\n";
  EXPECT_EQ(frame_stream(std::string_view(with_nul, sizeof with_nul - 1)).kind, Frame::invalid);
  EXPECT_EQ(frame_stream(std::string("INV\0ITE", 7)).kind, Frame::invalid);

  const std::string message =
      join(replace(invite_lines(), "Content-Length", "Content-Length: 100"), std::string(100, 'b'));
  const size_t header_bytes = message.size() - 100;
  EXPECT_EQ(frame_stream(message, message.size()).kind, Frame::message);
  const Frame body_too_big = frame_stream(message, message.size() - 1);
  EXPECT_EQ(body_too_big.kind, Frame::invalid);
  EXPECT_EQ(body_too_big.reason, "Message too large");
  // A header block that cannot end within the limit is refused before the rest arrives.
  const Frame headers_too_big = frame_stream(std::string_view(message).substr(0, header_bytes - 10), header_bytes - 20);
  EXPECT_EQ(headers_too_big.kind, Frame::invalid);
  EXPECT_EQ(frame_stream(std::string_view(message).substr(0, header_bytes - 30), header_bytes - 20).kind,
            Frame::incomplete);
  const Frame huge_length =
      frame_stream(join(replace(invite_lines(), "Content-Length", "Content-Length: 99999999999999999999")));
  EXPECT_EQ(huge_length.kind, Frame::invalid);
  EXPECT_EQ(huge_length.reason, "Message too large");
}

// Issue 10: slow-drip input was framed from the start on every read, which is quadratic. The
// incremental framer gives frame_stream's answers and looks at each byte a bounded number of times.
TEST(SipFrameTest, IncrementalFramingAgreesWithFrameStreamAndStaysLinear) {
  std::string big_header(8000, 'x');
  Lines lines = replace(invite_lines(), "Content-Length", "Content-Length: 4000");
  lines.insert(lines.begin() + 2, "Subject: " + big_header);
  const std::string message = join(lines, std::string(4000, 'b'));
  const std::string second = join(response_lines());
  const std::string stream = "\r\n\r\n" + message + "\r\n" + second + "INVITE sip:partial";

  // Byte by byte, as the slowest peer sends it: every answer is frame_stream's on the same bytes.
  StreamFramer framer(65535);
  std::string_view rest(stream);
  std::vector<Frame> frames;
  for (size_t have = 1; have <= rest.size();) {
    const std::string_view seen = rest.substr(0, have);
    const Frame f = framer.next(seen);
    const Frame expected = frame_stream(seen);
    ASSERT_EQ(f.kind, expected.kind) << "after " << have << " bytes";
    if (f.kind == Frame::incomplete) {
      ++have;
      continue;
    }
    ASSERT_NE(f.kind, Frame::invalid) << f.reason;
    EXPECT_EQ(f.length, expected.length);
    frames.push_back(f);
    rest.remove_prefix(f.length);
    have = 1;
  }
  std::vector<size_t> messages;
  for (const Frame& f : frames)
    if (f.kind == Frame::message) messages.push_back(f.length);
  EXPECT_EQ(messages, (std::vector<size_t>{message.size(), second.size()}));
  EXPECT_EQ(rest, "INVITE sip:partial");
  // frame_stream after every byte would look at about n²/2 = 72 million bytes here.
  EXPECT_LT(framer.examined_for_test(), 6 * stream.size()) << "framing must stay linear";

  // In uneven reads the messages are the same (keep-alives may split differently: "\r\n\r\n" in
  // one read is a ping, in two reads two pongs, for frame_stream too).
  StreamFramer chunked(65535);
  std::string_view in(stream);
  std::vector<size_t> chunked_messages;
  size_t have = 0, step = 1;
  for (int reads = 0; chunked_messages.size() < messages.size(); ++reads) {
    ASSERT_LT(reads, 100'000) << "stuck after " << chunked_messages.size() << " messages";
    have = std::min(in.size(), have + step);
    step = step * 7 % 113 + 1;
    for (Frame f = chunked.next(in.substr(0, have)); f.kind != Frame::incomplete; f = chunked.next(in.substr(0, have))) {
      ASSERT_NE(f.kind, Frame::invalid) << f.reason;
      if (f.kind == Frame::message) chunked_messages.push_back(f.length);
      in.remove_prefix(f.length);
      have -= f.length;
    }
  }
  EXPECT_EQ(chunked_messages, messages);
}

TEST(SipFrameTest, IncrementalFramingRefusesGarbageAtOnceAndBigHeadersAtTheLimit) {
  StreamFramer framer(1024);
  EXPECT_EQ(framer.next("GARBAGE ").kind, Frame::incomplete);
  const Frame garbage = framer.next("GARBAGE \x01\r\n");
  EXPECT_EQ(garbage.kind, Frame::invalid);

  StreamFramer small(1024);
  std::string headers = "OPTIONS sip:a@b SIP/2.0\r\n";
  while (headers.size() < 1100) headers += "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  Frame f;
  size_t have = 0;
  for (have = 1; have <= headers.size(); ++have) {
    f = small.next(std::string_view(headers).substr(0, have));
    if (f.kind != Frame::incomplete) break;
  }
  EXPECT_EQ(f.kind, Frame::invalid);
  EXPECT_EQ(f.reason, "Message too large");
  EXPECT_EQ(have, 1024u) << "refused when the limit is reached, not later";
}

}  // namespace
}  // namespace privox::sip

namespace privox::sip {
namespace {

TEST(SipUriHeaderTest, DecodesAReplacesAndRefusesWhatCouldInjectAHeader) {
  const auto uri = parse_uri("sip:202@192.0.2.1?Replaces=consult-1%40192.0.2.7%3Bto-tag%3Dt2%3Bfrom-tag%3Df1&Foo=bar");
  ASSERT_TRUE(uri.has_value());
  const auto replaces = uri_header(uri->headers, "replaces");
  ASSERT_TRUE(replaces.has_value());
  EXPECT_EQ(*replaces, "consult-1@192.0.2.7;to-tag=t2;from-tag=f1");
  EXPECT_EQ(uri_header(uri->headers, "Foo"), std::optional<std::string>("bar")) << "any named header";
  EXPECT_EQ(uri_header("Foo=bar", "Replaces"), std::optional<std::string>("")) << "absent: empty";
  EXPECT_EQ(uri_header("", "Replaces"), std::optional<std::string>(""));
  EXPECT_FALSE(uri_header("Replaces=a%0D%0AVia:%20x", "Replaces").has_value()) << "CR LF would start a header";
  EXPECT_FALSE(uri_header("Replaces=a%20b", "Replaces").has_value()) << "a space is not in a Replaces value";
  EXPECT_FALSE(uri_header("Replaces=a%4", "Replaces").has_value()) << "a cut escape";
  EXPECT_FALSE(uri_header("Replaces=a%zz", "Replaces").has_value()) << "not hex";
  EXPECT_FALSE(uri_header("Replaces=", "Replaces").has_value()) << "empty value";
  EXPECT_FALSE(uri_header("Replaces=" + std::string(600, 'a'), "Replaces").has_value()) << "too long";
}

}  // namespace
}  // namespace privox::sip
