#include "sip/digest.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <array>
#include <atomic>
#include <cctype>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace privox::sip {
namespace {

// The project's test main calls sodium_init(); a standalone build with gtest_main does not. A
// second call is a no-op.
class SodiumEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
};
[[maybe_unused]] ::testing::Environment* const kSodium = ::testing::AddGlobalTestEnvironment(new SodiumEnvironment);

constexpr int64_t kT0 = 1'780'000'000'000'000;  // 2026-05-28, in µs
constexpr int64_t kSecond = 1'000'000;

std::array<uint8_t, 32> test_key(uint8_t seed) {
  std::array<uint8_t, 32> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed + i);
  return key;
}

// A client's side of the exchange, through OpenSSL's one-shot EVP_Digest rather than the
// incremental code under test.
std::string client_hash(DigestAlgorithm algorithm, const std::string& text) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const EVP_MD* md = algorithm == DigestAlgorithm::md5 ? EVP_md5() : EVP_sha256();
  EXPECT_EQ(1, EVP_Digest(text.data(), text.size(), out, &len, md, nullptr));
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kDigits[out[i] >> 4];
    hex += kDigits[out[i] & 0xf];
  }
  return hex;
}

std::string client_authorization(DigestAlgorithm algorithm, const std::string& user, const std::string& password,
                                 const std::string& nonce, const std::string& nc, const std::string& method,
                                 const std::string& uri) {
  const std::string cnonce = "0a4f113b";
  const std::string ha1 = client_hash(algorithm, user + ":privox:" + password);
  const std::string ha2 = client_hash(algorithm, method + ":" + uri);
  const std::string response = client_hash(algorithm, ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2);
  return "Digest username=\"" + user + "\", realm=\"privox\", nonce=\"" + nonce + "\", uri=\"" + uri +
         "\", response=\"" + response + "\", algorithm=" + std::string(to_string(algorithm)) + ", cnonce=\"" + cnonce +
         "\", qop=auth, nc=" + nc;
}

bool points_into(std::string_view view, std::string_view buffer) {
  return view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + buffer.size();
}

// ---- RFC test vectors ----------------------------------------------------------------------

// RFC 7616 §3.9.1, the Authorization header of its SHA-256 example, as folded there.
constexpr std::string_view kRfc7616Sha256 =
    "Digest username=\"Mufasa\",\r\n"
    "       realm=\"http-auth@example.org\",\r\n"
    "       uri=\"/dir/index.html\",\r\n"
    "       algorithm=SHA-256,\r\n"
    "       nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n"
    "       nc=00000001,\r\n"
    "       cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n"
    "       qop=auth,\r\n"
    "       response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\",\r\n"
    "       opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

constexpr std::string_view kRfc7616Md5 =
    "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", algorithm=MD5, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
    "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
    "response=\"8ca523f5e9506fed4657c9700eebdbec\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

TEST(DigestTest, Rfc7616Sha256Vector) {
  const std::string ha1 = digest_ha1(DigestAlgorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(ha1, "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");

  const auto creds = parse_digest_credentials(kRfc7616Sha256);
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->username, "Mufasa");
  EXPECT_EQ(creds->realm, "http-auth@example.org");
  EXPECT_EQ(creds->uri, "/dir/index.html");
  EXPECT_EQ(creds->algorithm, DigestAlgorithm::sha256);
  EXPECT_EQ(creds->algorithm_text, "SHA-256");
  EXPECT_EQ(creds->nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
  EXPECT_EQ(creds->nc, 1u);
  EXPECT_EQ(creds->nc_text, "00000001");
  EXPECT_EQ(creds->cnonce, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
  EXPECT_EQ(creds->qop, "auth");
  EXPECT_EQ(creds->opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  EXPECT_EQ(creds->unescaped, nullptr);  // nothing escaped: nothing copied

  EXPECT_TRUE(verify_digest(*creds, "GET", ha1));
  EXPECT_FALSE(verify_digest(*creds, "POST", ha1));
}

TEST(DigestTest, Rfc7616Md5Vector) {
  const std::string ha1 = digest_ha1(DigestAlgorithm::md5, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(ha1, "3d78807defe7de2157e2b0b6573a855f");
  const auto creds = parse_digest_credentials(kRfc7616Md5);
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->algorithm, DigestAlgorithm::md5);
  EXPECT_TRUE(verify_digest(*creds, "GET", ha1));
  // The SHA-256 HA1 has the wrong length for MD5 credentials.
  EXPECT_FALSE(verify_digest(*creds, "GET",
                             digest_ha1(DigestAlgorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life")));
}

// RFC 2617 §3.5: no algorithm parameter, so MD5.
constexpr std::string_view kRfc2617 =
    "Digest username=\"Mufasa\",\r\n"
    "                 realm=\"testrealm@host.com\",\r\n"
    "                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n"
    "                 uri=\"/dir/index.html\",\r\n"
    "                 qop=auth,\r\n"
    "                 nc=00000001,\r\n"
    "                 cnonce=\"0a4f113b\",\r\n"
    "                 response=\"6629fae49393a05397450978507c4ef1\",\r\n"
    "                 opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

TEST(DigestTest, Rfc2617ClassicMd5Example) {
  const auto creds = parse_digest_credentials(kRfc2617);
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->algorithm, DigestAlgorithm::md5);
  EXPECT_TRUE(creds->algorithm_text.empty());
  const std::string ha1 = digest_ha1(DigestAlgorithm::md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
  EXPECT_EQ(ha1, "939e7578ed9e3c518a452acee763bce9");
  EXPECT_TRUE(verify_digest(*creds, "GET", ha1));
}

TEST(DigestTest, WrongPasswordFails) {
  const auto creds = parse_digest_credentials(kRfc2617);
  ASSERT_TRUE(creds.has_value());
  EXPECT_FALSE(
      verify_digest(*creds, "GET", digest_ha1(DigestAlgorithm::md5, "Mufasa", "testrealm@host.com", "Circle of Life")));
  const auto sha = parse_digest_credentials(kRfc7616Sha256);
  ASSERT_TRUE(sha.has_value());
  EXPECT_FALSE(verify_digest(*sha, "GET",
                             digest_ha1(DigestAlgorithm::sha256, "Mufasa", "http-auth@example.org", "Circle Of Life")));
}

TEST(DigestTest, TamperedFieldsFail) {
  const std::string ha1 = digest_ha1(DigestAlgorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  const auto good = parse_digest_credentials(kRfc7616Sha256);
  ASSERT_TRUE(good.has_value());
  ASSERT_TRUE(verify_digest(*good, "GET", ha1));
  auto c = *good;
  c.uri = "/dir/other.html";
  EXPECT_FALSE(verify_digest(c, "GET", ha1));
  c = *good;
  c.nc_text = "00000002";
  EXPECT_FALSE(verify_digest(c, "GET", ha1));
  c = *good;
  c.cnonce = "x";
  EXPECT_FALSE(verify_digest(c, "GET", ha1));
  c = *good;
  c.qop = "auth-int";  // not offered
  EXPECT_FALSE(verify_digest(c, "GET", ha1));
  // Every digit of the response counts, the last one too.
  std::string last_changed(good->response);
  last_changed.back() = last_changed.back() == '0' ? '1' : '0';
  c = *good;
  c.response = last_changed;
  EXPECT_FALSE(verify_digest(c, "GET", ha1));
  c = *good;
  c.response = c.response.substr(0, 63);
  EXPECT_FALSE(verify_digest(c, "GET", ha1));
  // Uppercase hex in the response is the same number.
  std::string upper(good->response);
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  c = *good;
  c.response = upper;
  EXPECT_TRUE(verify_digest(c, "GET", ha1));
  const std::string not_hex = "z" + upper.substr(1);
  c.response = not_hex;
  EXPECT_FALSE(verify_digest(c, "GET", ha1));
}

// RFC 2069 §2.4's example (the response as corrected in its errata): no qop, MD5.
TEST(DigestTest, Rfc2069WithoutQopOnlyForMd5) {
  const auto creds = parse_digest_credentials(
      "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
      "response=\"1949323746fe6a43ef61f9606e7febea\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", "
      "nc=00000009, cnonce=\"ignored\"");
  ASSERT_TRUE(creds.has_value());
  EXPECT_TRUE(creds->qop.empty());
  // Without qop the count proves nothing, so it is dropped: the nonce is good for one request.
  EXPECT_EQ(creds->nc, 0u);
  EXPECT_TRUE(creds->nc_text.empty());
  EXPECT_TRUE(creds->cnonce.empty());
  EXPECT_TRUE(
      verify_digest(*creds, "GET", digest_ha1(DigestAlgorithm::md5, "Mufasa", "testrealm@host.com", "CircleOfLife")));

  // The same computation with SHA-256 is refused although the arithmetic is right.
  const auto sha = parse_digest_credentials(
      "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", algorithm=SHA-256, "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
      "response=\"e71f89d8267982ee1cd4dfb3637698eaf2f55848fe056aee7be175262aab5d2a\"");
  ASSERT_TRUE(sha.has_value());
  EXPECT_FALSE(verify_digest(*sha, "GET",
                             digest_ha1(DigestAlgorithm::sha256, "Mufasa", "testrealm@host.com", "Circle Of Life")));
}

TEST(DigestTest, UnknownAlgorithmParsesButNeverVerifies) {
  // The RFC 2617 credentials, whose response is right for MD5, relabelled.
  for (std::string_view name : {"MD5-sess", "SHA-512-256", "SHA-256-sess", "md6"}) {
    std::string header(kRfc2617);
    header += ", algorithm=";
    header += name;
    const auto creds = parse_digest_credentials(header);
    ASSERT_TRUE(creds.has_value()) << name;
    EXPECT_EQ(creds->algorithm, DigestAlgorithm::unknown) << name;
    EXPECT_EQ(creds->algorithm_text, name);
    EXPECT_FALSE(verify_digest(*creds, "GET", "939e7578ed9e3c518a452acee763bce9")) << name;
  }
  EXPECT_EQ(digest_ha1(DigestAlgorithm::unknown, "a", "b", "c"), "");
  EXPECT_EQ(parse_digest_algorithm("sha-256"), DigestAlgorithm::sha256);
  EXPECT_EQ(parse_digest_algorithm("Md5"), DigestAlgorithm::md5);
  EXPECT_EQ(parse_digest_algorithm("SHA256"), DigestAlgorithm::unknown);
}

TEST(DigestTest, DummyHa1FailsLikeAWrongPassword) {
  const std::string_view md5 = dummy_ha1(DigestAlgorithm::md5);
  const std::string_view sha = dummy_ha1(DigestAlgorithm::sha256);
  EXPECT_EQ(md5.size(), 32u);
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_EQ(md5.find_first_not_of("0123456789abcdef"), std::string_view::npos);
  EXPECT_EQ(sha.find_first_not_of("0123456789abcdef"), std::string_view::npos);
  EXPECT_EQ(md5, dummy_ha1(DigestAlgorithm::md5));  // fixed for the process
  EXPECT_EQ(sha, dummy_ha1(DigestAlgorithm::sha256));
  EXPECT_NE(md5, sha.substr(0, 32));
  EXPECT_EQ(dummy_ha1(DigestAlgorithm::unknown), "");

  // The credentials verify with the real HA1 and fail on the dummy's identical path.
  const auto creds = parse_digest_credentials(kRfc7616Sha256);
  ASSERT_TRUE(creds.has_value());
  EXPECT_TRUE(verify_digest(*creds, "GET",
                            digest_ha1(DigestAlgorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life")));
  EXPECT_FALSE(verify_digest(*creds, "GET", dummy_ha1(creds->algorithm)));
  const auto md5_creds = parse_digest_credentials(kRfc7616Md5);
  ASSERT_TRUE(md5_creds.has_value());
  EXPECT_FALSE(verify_digest(*md5_creds, "GET", dummy_ha1(md5_creds->algorithm)));
}

// ---- parsing -------------------------------------------------------------------------------

// What a SIP phone sends on a REGISTER: an escaped quote and backslash in the user name, a folded
// line between parameters and one inside a quoted value, compact spacing, unknown parameters.
constexpr std::string_view kSipHeader =
    "Digest username=\"bob\\\"the\\\\builder\",realm=\"privox\" ,\r\n"
    "\tnonce=\"AAAAAAAAAAA-nonce_value\", uri=\"sip:privox.example;transport=tls\",\r\n"
    " response=\"c35e6fab459754c6c22fd260c01fcaf7678f6eada080053455221d67dc4892c1\", ALGORITHM=sha-256,\r\n"
    "  cnonce=\"8d1a\r\n f\", x-vendor=\"Grandstream \\\"GXP\\\"\", qop=\"auth\", NC=0000000a, userhash=false";

TEST(DigestTest, ParsesARealWorldSipHeader) {
  const auto creds = parse_digest_credentials(kSipHeader);
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->username, "bob\"the\\builder");
  EXPECT_EQ(creds->realm, "privox");
  EXPECT_EQ(creds->nonce, "AAAAAAAAAAA-nonce_value");
  EXPECT_EQ(creds->uri, "sip:privox.example;transport=tls");
  EXPECT_EQ(creds->algorithm, DigestAlgorithm::sha256);
  EXPECT_EQ(creds->algorithm_text, "sha-256");
  EXPECT_EQ(creds->cnonce, "8d1a f");  // a fold inside quotes is one SP
  EXPECT_EQ(creds->qop, "auth");
  EXPECT_EQ(creds->nc_text, "0000000a");
  EXPECT_EQ(creds->nc, 10u);
  EXPECT_TRUE(creds->opaque.empty());

  // Values without escapes are views into the header; the others are decoded copies.
  EXPECT_TRUE(points_into(creds->realm, kSipHeader));
  EXPECT_TRUE(points_into(creds->nonce, kSipHeader));
  EXPECT_TRUE(points_into(creds->uri, kSipHeader));
  EXPECT_TRUE(points_into(creds->response, kSipHeader));
  EXPECT_FALSE(points_into(creds->username, kSipHeader));
  EXPECT_FALSE(points_into(creds->cnonce, kSipHeader));
  EXPECT_NE(creds->unescaped, nullptr);

  const std::string ha1 = digest_ha1(DigestAlgorithm::sha256, "bob\"the\\builder", "privox", "s3cret pass");
  EXPECT_TRUE(verify_digest(*creds, "REGISTER", ha1));
  EXPECT_FALSE(verify_digest(*creds, "INVITE", ha1));
}

TEST(DigestTest, CopiesOutliveTheOriginal) {
  std::optional<DigestCredentials> copy;
  {
    const auto creds = parse_digest_credentials(kSipHeader);
    ASSERT_TRUE(creds.has_value());
    copy = *creds;
  }
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->username, "bob\"the\\builder");
  EXPECT_EQ(copy->cnonce, "8d1a f");
  DigestCredentials moved = std::move(*copy);
  copy.reset();
  EXPECT_EQ(moved.username, "bob\"the\\builder");
}

TEST(DigestTest, AcceptsTheLenientButValidForms) {
  const std::string tail = "realm=\"r\", nonce=\"n\", uri=\"sip:a@b\", response=\"00000000000000000000000000000000\"";
  for (const std::string& header : {
           "Digest username=\"u\", " + tail,
           "digest username=\"u\", " + tail,                           // scheme case
           "DIGEST   USERNAME = \"u\" , " + tail,                      // spaces around = and ,
           "Digest\r\n username=\"u\",, ," + tail + ",",               // fold after scheme, empty elements
           "Digest username=u, " + tail,                               // token instead of quoted-string
           "Digest foo=bar, username=\"u\", baz=\"q\\\"x\", " + tail,  // unknown parameters
           "  Digest username=\"u\", " + tail + "  ",
           "Digest username=\"\", " + tail,  // empty but present
       }) {
    const auto creds = parse_digest_credentials(header);
    ASSERT_TRUE(creds.has_value()) << header;
    EXPECT_EQ(creds->realm, "r") << header;
    EXPECT_EQ(creds->uri, "sip:a@b") << header;
  }
}

TEST(DigestTest, RejectsMalformedCredentials) {
  const std::string ok =
      "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:a@b\", response=\"00\", qop=auth, nc=00000001, "
      "cnonce=\"c\"";
  ASSERT_TRUE(parse_digest_credentials(ok).has_value());
  const std::string tail = "realm=\"r\", nonce=\"n\", uri=\"sip:a@b\", response=\"00\"";
  const std::vector<std::string> malformed = {
      std::string(""),
      std::string("Digest"),
      std::string("Digest "),
      std::string("Basic dXNlcjpwYXNz"),
      "Digestusername=\"u\", " + tail,  // no space after the scheme
      "Digests username=\"u\", " + tail,
      "Digest realm=\"r\", nonce=\"n\", uri=\"u\", response=\"00\"",  // no username
      "Digest username=\"u\", nonce=\"n\", uri=\"u\", response=\"00\"",
      "Digest username=\"u\", realm=\"r\", uri=\"u\", response=\"00\"",
      "Digest username=\"u\", realm=\"r\", nonce=\"n\", response=\"00\"",
      "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"u\"",
      "Digest username=\"u\", username=\"v\", " + tail,  // duplicated
      "Digest username=\"u\", Realm=\"x\", " + tail,     // duplicated, other case
      "Digest username=\"u\", " + tail + ", algorithm=MD5, algorithm=MD5",
      "Digest username=\"u, " + tail,                                                // unterminated quote
      "Digest username=\"u\" realm=\"r\", nonce=\"n\", uri=\"u\", response=\"00\"",  // no comma
      "Digest username=\"u\"x, " + tail,
      "Digest username, " + tail,
      "Digest username=, " + tail,
      "Digest =\"u\", " + tail,
      "Digest username=\"u\", " + tail + ", qop=auth, cnonce=\"c\"",        // qop without nc
      "Digest username=\"u\", " + tail + ", qop=auth, nc=00000001",         // qop without cnonce
      "Digest username=\"u\", " + tail + ", qop=auth, nc=1, cnonce=\"c\"",  // nc not 8 digits
      "Digest username=\"u\", " + tail + ", qop=auth, nc=0000000g, cnonce=\"c\"",
      "Digest username=\"u\", " + tail + ", qop=auth, nc=000000001, cnonce=\"c\"",
      "Digest username=\"u\", " + tail + ", qop=\"\", nc=00000001, cnonce=\"c\"",
      "Digest username=\"u\r\nx\", " + tail,  // a line break that is not a fold
      "Digest username=\"u\nx\", " + tail,
      "Digest username=\"u\\\r\n x\", " + tail,              // escaped line break
      "Digest username=\"u\\",                               // escape at the end
      "Digest username=\"u\\\x01\", " + tail,                // escaped control character
      std::string("Digest username=\"u\0x\", ", 23) + tail,  // NUL
      "Digest username=\"u\x7f\", " + tail,
      "Digest username=\"u\"\r\n, " + tail,  // CRLF not followed by whitespace
      "Digest username=\"u\", " + tail + "\r\n",
      "Digest username=\"u\", " + tail + ", x=y z",
  };
  for (const std::string& header : malformed) {
    EXPECT_FALSE(parse_digest_credentials(header).has_value()) << header;
  }
}

TEST(DigestTest, GarbageNeverCrashesTheParser) {
  // Every prefix of a valid header, and many deterministic mutations of it; run under ASan/UBSan.
  const std::string base(kSipHeader);
  size_t shortest = 0, with_qop = 0;
  for (size_t n = 0; n <= base.size(); ++n) {
    const auto creds = parse_digest_credentials(std::string_view(base).substr(0, n));
    if (!creds) continue;
    if (shortest == 0) shortest = n;
    if (!creds->qop.empty()) ++with_qop;
  }
  // The first to parse ends with the last required parameter, response (as RFC 2069 credentials);
  // with qop, those ending at "NC=0000000a", then ",", ", ", and "userhash=f" ... "userhash=false".
  EXPECT_EQ(shortest, base.find("\", ALGORITHM") + 1);
  EXPECT_EQ(with_qop, 8u);

  std::mt19937 rng(12345);
  static constexpr char kChars[] = "\"\\,= \t\r\nDigestusernamqopc0aA\x7f\x80\xff";
  const std::string alphabet = std::string(kChars, sizeof kChars);  // the final NUL included
  size_t accepted = 0;
  for (int round = 0; round < 200'000; ++round) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (at < s.size()) s[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), alphabet[rng() % alphabet.size()]);
          break;
        default:
          if (at < s.size()) s.erase(at, 1 + rng() % 8);
          break;
      }
    }
    if (auto creds = parse_digest_credentials(s)) {
      ++accepted;
      // Whatever parsed is safe to verify.
      (void)verify_digest(*creds, "REGISTER", dummy_ha1(DigestAlgorithm::sha256));
    }
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_LT(accepted, 200'000u);
}

// ---- challenges ----------------------------------------------------------------------------

TEST(DigestTest, ChallengeFormat) {
  EXPECT_EQ(digest_challenge("privox", "abc", DigestAlgorithm::sha256, false),
            "Digest realm=\"privox\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth\"");
  EXPECT_EQ(digest_challenge("privox", "abc", DigestAlgorithm::md5, true),
            "Digest realm=\"privox\", nonce=\"abc\", algorithm=MD5, qop=\"auth\", stale=true");
  // Quotes and backslashes are escaped, control characters cannot break the header.
  EXPECT_EQ(digest_challenge("a\"b\\c\r\nX-Evil: 1", "n", DigestAlgorithm::md5, false),
            "Digest realm=\"a\\\"b\\\\cX-Evil: 1\", nonce=\"n\", algorithm=MD5, qop=\"auth\"");
  EXPECT_EQ(digest_challenge("privox", "n", DigestAlgorithm::unknown, false), "");
  // RFC 8760: SHA-256 offered before MD5.
  ASSERT_EQ(kChallengeAlgorithms.size(), 2u);
  EXPECT_EQ(kChallengeAlgorithms[0], DigestAlgorithm::sha256);
  EXPECT_EQ(kChallengeAlgorithms[1], DigestAlgorithm::md5);
}

// The registrar's whole exchange, the client side computed independently.
TEST(DigestTest, ChallengeResponseRoundTrip) {
  FakeClock clock(kT0);
  const auto key = test_key(1);
  NonceService nonces(key, clock);
  const std::string nonce = nonces.issue();
  for (DigestAlgorithm algorithm : kChallengeAlgorithms) {
    const std::string challenge = digest_challenge("privox", nonce, algorithm, false);
    EXPECT_NE(challenge.find("nonce=\"" + nonce + "\""), std::string::npos);
    const std::string ha1 = digest_ha1(algorithm, "alice", "privox", "hunter2");

    const std::string header =
        client_authorization(algorithm, "alice", "hunter2", nonce, "00000001", "REGISTER", "sip:privox.example");
    const auto creds = parse_digest_credentials(header);
    ASSERT_TRUE(creds.has_value()) << header;
    EXPECT_TRUE(verify_digest(*creds, "REGISTER", ha1)) << header;
    EXPECT_FALSE(verify_digest(*creds, "REGISTER", digest_ha1(algorithm, "alice", "privox", "hunter3")));
  }
  // Both algorithms share the nonce; its counts are shared too.
  EXPECT_EQ(nonces.check(nonce, 1), NonceCheck::ok);
  EXPECT_EQ(nonces.check(nonce, 1), NonceCheck::replayed);
  EXPECT_EQ(nonces.check(nonce, 2), NonceCheck::ok);
}

// ---- nonces --------------------------------------------------------------------------------

TEST(NonceServiceTest, NoncesAreUniqueUrlSafeAndSelfChecking) {
  FakeClock clock(kT0);
  NonceService nonces(test_key(1), clock);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string n = nonces.issue();
    ASSERT_EQ(n.size(), NonceService::kNonceLength);
    EXPECT_EQ(n.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
        << n;
    EXPECT_TRUE(seen.insert(n).second);
  }
  // Another node with the same key accepts it without any shared state.
  NonceService other_node(test_key(1), clock);
  EXPECT_EQ(other_node.check(*seen.begin(), 1), NonceCheck::ok);
}

TEST(NonceServiceTest, ExpiresAfterItsLifetime) {
  FakeClock clock(kT0);
  NonceService nonces(test_key(1), clock, 300 * kSecond);
  const std::string n = nonces.issue();
  EXPECT_EQ(nonces.check(n, 1), NonceCheck::ok);
  clock.advance_us(300 * kSecond);
  EXPECT_EQ(nonces.check(n, 2), NonceCheck::ok);  // the last microsecond of its life
  clock.advance_us(1);
  EXPECT_EQ(nonces.check(n, 3), NonceCheck::stale);
  // An unused nonce expires the same way, and a nonce from a clock far ahead is not accepted.
  const std::string unused = nonces.issue();
  clock.advance_us(301 * kSecond);
  EXPECT_EQ(nonces.check(unused, 1), NonceCheck::stale);
  const std::string fresh = nonces.issue();
  clock.advance_us(-NonceService::kMaxClockSkewUs);
  EXPECT_EQ(nonces.check(fresh, 1), NonceCheck::ok);
  const std::string future = nonces.issue();
  clock.advance_us(-NonceService::kMaxClockSkewUs - 1);
  EXPECT_EQ(nonces.check(future, 1), NonceCheck::stale);
}

TEST(NonceServiceTest, ExpiredEntriesLeaveTheTable) {
  FakeClock clock(kT0);
  NonceService nonces(test_key(1), clock, 60 * kSecond);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(nonces.check(nonces.issue(), 1), NonceCheck::ok);
  EXPECT_EQ(nonces.tracked_for_test(), 10u);
  clock.advance_us(61 * kSecond);
  EXPECT_EQ(nonces.check(nonces.issue(), 1), NonceCheck::ok);
  EXPECT_EQ(nonces.tracked_for_test(), 1u);
}

TEST(NonceServiceTest, ForgedNoncesAreInvalid) {
  FakeClock clock(kT0);
  NonceService nonces(test_key(1), clock);
  const std::string n = nonces.issue();
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // Every other character at every position: a changed byte, or non-zero padding bits at the end.
  for (size_t i = 0; i < n.size(); ++i) {
    for (char c : kAlphabet) {
      if (c == n[i]) continue;
      std::string forged = n;
      forged[i] = c;
      ASSERT_EQ(nonces.check(forged, 1), NonceCheck::invalid) << i << " " << c;
    }
  }
  for (const std::string& garbage :
       {std::string(), std::string("abc"), n.substr(1), n + "A", std::string(54, 'A'), std::string(54, '='),
        n.substr(0, 53) + "=", n.substr(0, 53) + "+", std::string(54, '\0'),
        std::string("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v")}) {
    EXPECT_EQ(nonces.check(garbage, 1), NonceCheck::invalid) << garbage;
  }
  EXPECT_EQ(nonces.check(n, 1), NonceCheck::ok);  // the original is untouched by all this
}

TEST(NonceServiceTest, NonceFromAnotherKeyIsInvalid) {
  FakeClock clock(kT0);
  NonceService ours(test_key(1), clock);
  NonceService theirs(test_key(2), clock);
  EXPECT_EQ(ours.check(theirs.issue(), 1), NonceCheck::invalid);
  EXPECT_EQ(theirs.check(ours.issue(), 1), NonceCheck::invalid);
}

TEST(NonceServiceTest, CountsMustRise) {
  FakeClock clock(kT0);
  NonceService nonces(test_key(1), clock);
  const std::string n = nonces.issue();
  EXPECT_EQ(nonces.check(n, 1), NonceCheck::ok);
  EXPECT_EQ(nonces.check(n, 1), NonceCheck::replayed);
  EXPECT_EQ(nonces.check(n, 2), NonceCheck::ok);
  EXPECT_EQ(nonces.check(n, 1), NonceCheck::replayed);
  EXPECT_EQ(nonces.check(n, 7), NonceCheck::ok);  // gaps are fine (RFC 7616 §3.4.5)
  EXPECT_EQ(nonces.check(n, 5), NonceCheck::replayed);
  EXPECT_EQ(nonces.check(n, 0xffffffff), NonceCheck::ok);
  EXPECT_EQ(nonces.check(n, 0xffffffff), NonceCheck::replayed);
  // Another nonce has its own count; a client without qop (nc 0) gets one request per nonce.
  const std::string m = nonces.issue();
  EXPECT_EQ(nonces.check(m, 0), NonceCheck::ok);
  EXPECT_EQ(nonces.check(m, 0), NonceCheck::replayed);
}

TEST(NonceServiceTest, EvictedNoncesAreStaleNeverAccepted) {
  FakeClock clock(kT0);
  NonceService nonces(test_key(1), clock, 300 * kSecond, /*max_tracked=*/2);
  const std::string n1 = nonces.issue();
  const std::string twin = nonces.issue();  // issued in the same microsecond as n1, never used yet
  clock.advance_us(1);
  const std::string n2 = nonces.issue();
  clock.advance_us(1);
  const std::string n3 = nonces.issue();
  const std::string later = [&] {
    clock.advance_us(1);
    return nonces.issue();
  }();

  EXPECT_EQ(nonces.check(n1, 1), NonceCheck::ok);
  EXPECT_EQ(nonces.check(n2, 1), NonceCheck::ok);
  EXPECT_EQ(nonces.check(n3, 1), NonceCheck::ok);  // evicts n1
  EXPECT_EQ(nonces.tracked_for_test(), 2u);
  // n1's count is forgotten, so n1 must not be accepted again, even with a count that would rise.
  EXPECT_EQ(nonces.check(n1, 1), NonceCheck::stale);
  EXPECT_EQ(nonces.check(n1, 2), NonceCheck::stale);
  // A nonce as old as the evicted one cannot be told from it: stale too.
  EXPECT_EQ(nonces.check(twin, 1), NonceCheck::stale);
  // Those still tracked keep their counts; newer nonces are accepted (evicting n2).
  EXPECT_EQ(nonces.check(n3, 1), NonceCheck::replayed);
  EXPECT_EQ(nonces.check(later, 1), NonceCheck::ok);
  EXPECT_EQ(nonces.check(n2, 2), NonceCheck::stale);
  EXPECT_EQ(nonces.tracked_for_test(), 2u);
}

TEST(NonceServiceTest, ConcurrentChecksAcceptEachCountOnce) {
  FakeClock clock(kT0);
  NonceService nonces(test_key(1), clock);
  const std::string n = nonces.issue();
  constexpr uint32_t kCounts = 2000;
  std::vector<std::atomic<int>> accepted(kCounts + 1);
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (uint32_t nc = 1; nc <= kCounts; ++nc) {
        if (nonces.check(n, nc) == NonceCheck::ok) accepted[nc].fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  int total = 0;
  for (uint32_t nc = 1; nc <= kCounts; ++nc) {
    ASSERT_LE(accepted[nc].load(), 1) << nc;
    total += accepted[nc].load();
  }
  EXPECT_GE(total, 1);
  EXPECT_EQ(nonces.check(n, kCounts), NonceCheck::replayed);
}

// Issue 10: one nonce once answered 35,000 guesses a second. A nonce that carried a wrong response
// is burned: from then on no response opens it, the right one included, so every guess costs a
// fresh challenge (and is counted, sip/source_guard.h).
TEST(NonceServiceTest, AWrongResponseBurnsTheNonce) {
  FakeClock clock(kT0);
  NonceService nonces(test_key(1), clock);
  const std::array<uint8_t, 3> source = {4, 1, 2};
  const std::string n = nonces.issue(source);
  nonces.burn(n, source);
  EXPECT_EQ(nonces.check(n, 1, source), NonceCheck::burned);
  EXPECT_EQ(nonces.check(n, 2, source), NonceCheck::burned);
  EXPECT_EQ(to_string(NonceCheck::burned), "burned");
  // A nonce already accepted burns too.
  const std::string m = nonces.issue(source);
  EXPECT_EQ(nonces.check(m, 1, source), NonceCheck::ok);
  nonces.burn(m, source);
  EXPECT_EQ(nonces.check(m, 2, source), NonceCheck::burned);
  // Burning what is not ours, or from elsewhere, does nothing; nor does it fill the table.
  const size_t tracked = nonces.tracked_for_test();
  nonces.burn("not a nonce", source);
  const std::string other = nonces.issue(source);
  nonces.burn(other, std::array<uint8_t, 3>{4, 9, 9});
  EXPECT_EQ(nonces.tracked_for_test(), tracked);
  EXPECT_EQ(nonces.check(other, 1, source), NonceCheck::ok);
}

// A nonce is bound to the source it was issued to: from anywhere else it is not ours, so it can
// neither be spent nor burned there.
TEST(NonceServiceTest, NoncesAreBoundToTheirSource) {
  FakeClock clock(kT0);
  NonceService nonces(test_key(1), clock);
  const std::array<uint8_t, 3> here = {4, 1, 2}, there = {4, 1, 3};
  const std::string n = nonces.issue(here);
  EXPECT_EQ(nonces.check(n, 1, there), NonceCheck::invalid);
  EXPECT_EQ(nonces.check(n, 1), NonceCheck::invalid);
  nonces.burn(n, there);
  EXPECT_EQ(nonces.check(n, 1, here), NonceCheck::ok);
  // Another node with the same key checks it from the same source.
  NonceService other_node(test_key(1), clock);
  EXPECT_EQ(other_node.check(n, 2, here), NonceCheck::ok);
  EXPECT_EQ(other_node.check(n, 3, there), NonceCheck::invalid);
}

}  // namespace
}  // namespace privox::sip
