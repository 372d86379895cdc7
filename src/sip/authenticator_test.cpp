#include "sip/authenticator.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <array>
#include <deque>
#include <map>
#include <vector>

#include "sip/memory_directory.h"
#include "sip/source.h"
#include "sip/test_digest.h"

namespace privox::sip {
namespace {

constexpr std::string_view kAuthLogin = "k7f3q9x2m4ab";
constexpr std::string_view kAuthPassword = "Quokka-Zebra-Marmalade";

// Counts every look-up, so a test can hold known and unknown logins to the same work.
class CountingDirectory final : public Directory {
 public:
  explicit CountingDirectory(MemoryDirectory& inner) : inner_(inner) {}
  const ExtensionInfo* by_sip_user(std::string_view user) override { return ++calls, inner_.by_sip_user(user); }
  const ExtensionInfo* by_number(std::string_view c, std::string_view n) override { return ++calls, inner_.by_number(c, n); }
  const ExtensionInfo* by_did(std::string_view e164) override { return ++calls, inner_.by_did(e164); }
  const ExtensionInfo* by_id(std::string_view id) override { return ++calls, inner_.by_id(id); }
  const TrunkInfo* trunk_at(const Peer& from) override { return ++calls, inner_.trunk_at(from); }
  const TrunkInfo* outbound_trunk() override { return ++calls, inner_.outbound_trunk(); }
  std::optional<std::string> to_e164(std::string_view d, std::string_view c) override {
    return ++calls, inner_.to_e164(d, c);
  }
  int calls = 0;

 private:
  MemoryDirectory& inner_;
};

struct FailureLog final : AuthFailures {
  void on_auth_failure(const Peer& from, const AuthFailure& f) override {
    seen.push_back({from, std::string(f.login), f.known_login, std::string(f.reason)});
  }
  void on_auth_success(const Peer&, const ExtensionInfo& line) override { authenticated.push_back(line.id); }
  struct Seen {
    Peer from;
    std::string login;
    bool known;
    std::string reason;
  };
  std::vector<Seen> seen;
  std::vector<std::string> authenticated;  // the lines, in order (the guard widens their source's budget)
};

// A client's Authorization value for REGISTER sip:privox.example, MD5 or SHA-256.
std::string register_credentials(std::string_view login, std::string_view password, std::string_view nonce,
                                 std::string_view nc, DigestAlgorithm algorithm = DigestAlgorithm::md5) {
  return test::digest_credentials("REGISTER", "sip:privox.example", login, password, nonce, nc, algorithm);
}

using test::nonce_in;

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DirectoryUpdate update;
    update.replace_all = true;
    update.extensions.push_back({"line-1", "company-1", "GB", "101", std::string(kAuthLogin), "",
                                 digest_ha1(DigestAlgorithm::md5, kAuthLogin, "privox", kAuthPassword),
                                 digest_ha1(DigestAlgorithm::sha256, kAuthLogin, "privox", kAuthPassword), {}, {}});
    memory_.apply(update);
    ASSERT_TRUE(Peer::parse("198.51.100.7", 5060, TransportKind::udp, phone_));
    ASSERT_TRUE(Peer::parse("203.0.113.9", 5060, TransportKind::udp, elsewhere_));
    auth_.set_failures(&failures_);
  }

  // A REGISTER with the given Authorization value (none when empty), for the address of record
  // `aor_user`.
  const Message& request(const std::string& authorization, std::string_view aor_user = "101") {
    return parse(authorization, aor_user, message_);
  }
  const Message& parse(const std::string& authorization, std::string_view aor_user, Message& into) {
    std::string bytes = fmt::format(
        "REGISTER sip:privox.example SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-auth\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:{0}@privox.example>;tag=a1\r\n"
        "To: <sip:{0}@privox.example>\r\n"
        "Call-ID: auth-test\r\n"
        "CSeq: 1 REGISTER\r\n",
        aor_user);
    if (!authorization.empty()) bytes += "Authorization: " + authorization + "\r\n";
    bytes += "Content-Length: 0\r\n\r\n";
    storage_.push_back(std::move(bytes));
    ParseError error;
    EXPECT_TRUE(parse_message(storage_.back(), into, error)) << error.reason;
    return into;
  }
  // The challenges a first REGISTER for `aor_user` gets from `auth`.
  std::vector<std::string> challenges_for(Authenticator& auth, std::string_view aor_user, const Peer& to) {
    return auth.challenges(false, to, parse("", aor_user, challenge_message_), false);
  }
  // A nonce from a challenge; its directory look-up is not counted against the test's.
  std::string fresh_nonce(const Peer& to) {
    const int calls = directory_.calls;
    std::string nonce = nonce_in(challenges_for(auth_, "101", to).at(0));
    directory_.calls = calls;
    return nonce;
  }

  FakeClock clock_{1'780'000'000'000'000};
  std::array<uint8_t, 32> key_{7};
  NonceService nonces_{key_, clock_};
  MemoryDirectory memory_;
  CountingDirectory directory_{memory_};
  Authenticator auth_{directory_, nonces_, "privox"};
  FailureLog failures_;
  Peer phone_, elsewhere_;
  std::deque<std::string> storage_;
  Message message_, challenge_message_;
};

// The flows a test says a softphone's WebSocket was opened with.
struct Flows final : FlowCredentials {
  const FlowCredential* credential_of(const Peer& peer) const override {
    const auto it = by_connection.find(peer.connection);
    return it == by_connection.end() ? nullptr : &it->second;
  }
  std::map<uint64_t, FlowCredential> by_connection;
};

// Over a softphone's WebSocket only the flow's own login and password authenticate: not the line's
// device password, not another line's login, and nothing at all on a WebSocket no portal session
// opened.
TEST_F(AuthenticatorTest, AWebSocketAuthenticatesOnlyWithItsFlowsPassword) {
  constexpr std::string_view kFlowPassword = "session-derived-Xy7";
  Flows flows;
  flows.by_connection[7] = {std::string(kAuthLogin), digest_ha1(DigestAlgorithm::md5, kAuthLogin, "privox", kFlowPassword),
                            digest_ha1(DigestAlgorithm::sha256, kAuthLogin, "privox", kFlowPassword)};
  auth_.set_flow_credentials(&flows);
  Peer browser;
  ASSERT_TRUE(Peer::parse("198.51.100.7", 50123, TransportKind::wss, browser));
  browser.connection = 7;

  std::string nonce = fresh_nonce(browser);
  EXPECT_EQ(auth_.authenticate(request(register_credentials(kAuthLogin, kAuthPassword, nonce, "00000001")), false, browser)
                .extension,
            nullptr)
      << "the device password is refused over a WebSocket";
  nonce = fresh_nonce(browser);
  const AuthOutcome ok =
      auth_.authenticate(request(register_credentials(kAuthLogin, kFlowPassword, nonce, "00000001")), false, browser);
  ASSERT_NE(ok.extension, nullptr);
  EXPECT_EQ(ok.extension->id, "line-1");

  nonce = fresh_nonce(phone_);
  EXPECT_EQ(auth_.authenticate(request(register_credentials(kAuthLogin, kFlowPassword, nonce, "00000001")), false, phone_)
                .extension,
            nullptr)
      << "the softphone's password is nothing outside its WebSocket";
  Peer stranger = browser;
  stranger.connection = 8;  // a WebSocket without a flow credential
  nonce = fresh_nonce(stranger);
  EXPECT_EQ(auth_.authenticate(request(register_credentials(kAuthLogin, kFlowPassword, nonce, "00000001")), false, stranger)
                .extension,
            nullptr);
  ASSERT_EQ(failures_.seen.size(), 3u);
  EXPECT_EQ(failures_.seen[0].reason, "wrong_response");
}

TEST_F(AuthenticatorTest, TheRightPasswordAuthenticatesOnce) {
  const std::string nonce = fresh_nonce(phone_);
  const AuthOutcome ok = auth_.authenticate(request(register_credentials(kAuthLogin, kAuthPassword, nonce, "00000001")),
                                            false, phone_);
  ASSERT_NE(ok.extension, nullptr);
  EXPECT_EQ(ok.extension->id, "line-1");
  // The same count again is a replay: stale, so the phone retries with a fresh nonce unasked.
  const AuthOutcome again =
      auth_.authenticate(request(register_credentials(kAuthLogin, kAuthPassword, nonce, "00000001")), false, phone_);
  EXPECT_EQ(again.extension, nullptr);
  EXPECT_TRUE(again.stale);
  EXPECT_TRUE(failures_.seen.empty()) << "a replay with the right password is no guess";
  EXPECT_EQ(failures_.authenticated, std::vector<std::string>{"line-1"}) << "told once: the replay is not a success";
  // No credentials at all is the first half of every exchange, not a failure.
  EXPECT_EQ(auth_.authenticate(request(""), false, phone_).extension, nullptr);
  EXPECT_TRUE(failures_.seen.empty());
}

// Issue 10: an unknown login costs the same work and gets the same answer as a known one with a
// wrong password: one directory look-up, a digest, a burned nonce, a reported failure.
TEST_F(AuthenticatorTest, UnknownLoginsCostAndAnswerTheSameAsWrongPasswords) {
  const std::string n1 = fresh_nonce(phone_), n2 = fresh_nonce(phone_);
  directory_.calls = 0;
  const AuthOutcome known =
      auth_.authenticate(request(register_credentials(kAuthLogin, "Wrong-password-1", n1, "00000001")), false, phone_);
  const int known_calls = directory_.calls;
  directory_.calls = 0;
  const AuthOutcome unknown =
      auth_.authenticate(request(register_credentials("zz9z9z9z9z9z", "Wrong-password-1", n2, "00000001")), false, phone_);
  EXPECT_EQ(directory_.calls, known_calls);
  EXPECT_EQ(known_calls, 1);
  EXPECT_EQ(known.extension, unknown.extension);
  EXPECT_EQ(known.stale, unknown.stale);
  EXPECT_FALSE(known.stale);
  ASSERT_EQ(failures_.seen.size(), 2u);
  EXPECT_EQ(failures_.seen[0].reason, failures_.seen[1].reason);
  EXPECT_TRUE(failures_.seen[0].known);
  EXPECT_FALSE(failures_.seen[1].known);
  EXPECT_TRUE(failures_.seen[1].from.same_address(phone_));
  // Both nonces are burned alike.
  EXPECT_EQ(nonces_.check(n1, 2, SourceKey::of(phone_).bytes()), NonceCheck::burned);
  EXPECT_EQ(nonces_.check(n2, 2, SourceKey::of(phone_).bytes()), NonceCheck::burned);
}

// Issue 10: one nonce answered 35,000 guesses a second. Now a wrong guess burns it, and the right
// password on it afterwards is refused as a failure, not answered stale (which would confirm it).
TEST_F(AuthenticatorTest, ANonceCarriesOneGuess) {
  const std::string nonce = fresh_nonce(phone_);
  EXPECT_EQ(auth_.authenticate(request(register_credentials(kAuthLogin, "guess-number-1", nonce, "00000001")), false,
                               phone_)
                .extension,
            nullptr);
  const AuthOutcome right =
      auth_.authenticate(request(register_credentials(kAuthLogin, kAuthPassword, nonce, "00000002")), false, phone_);
  EXPECT_EQ(right.extension, nullptr);
  EXPECT_FALSE(right.stale);
  ASSERT_EQ(failures_.seen.size(), 2u);
  EXPECT_EQ(failures_.seen[0].reason, "wrong_response");
  EXPECT_EQ(failures_.seen[1].reason, "nonce_reused");
  // A fresh challenge, and the right password works.
  const std::string fresh = fresh_nonce(phone_);
  EXPECT_NE(auth_.authenticate(request(register_credentials(kAuthLogin, kAuthPassword, fresh, "00000001")), false,
                               phone_)
                .extension,
            nullptr);
}

TEST_F(AuthenticatorTest, ANonceWorksOnlyFromTheSourceItWasIssuedTo) {
  const std::string nonce = fresh_nonce(phone_);
  const AuthOutcome moved =
      auth_.authenticate(request(register_credentials(kAuthLogin, kAuthPassword, nonce, "00000001")), false, elsewhere_);
  EXPECT_EQ(moved.extension, nullptr);
  EXPECT_FALSE(moved.stale);
  // A wrong guess from elsewhere does not burn the phone's nonce.
  auth_.authenticate(request(register_credentials(kAuthLogin, "guess-number-2", nonce, "00000001")), false, elsewhere_);
  EXPECT_NE(auth_.authenticate(request(register_credentials(kAuthLogin, kAuthPassword, nonce, "00000001")), false,
                               phone_)
                .extension,
            nullptr);
  // The phone's port may change (NAT): the source is the address.
  Peer rebound = phone_;
  rebound.port = 40000;
  EXPECT_NE(auth_.authenticate(request(register_credentials(kAuthLogin, kAuthPassword, nonce, "00000002")), false,
                               rebound)
                .extension,
            nullptr);
}

// Issue 12: a trusted trunk is recognised by its address from any port, so a phone behind the
// carrier's address must not register on the trunk's trust: a carrier never registers to privox.
// The authenticator asks for credentials whatever the source, and never asks whether it is a trunk.
TEST_F(AuthenticatorTest, ARegisterFromATrustedTrunksAddressStillNeedsItsDigest) {
  DirectoryUpdate trunk;
  trunk.trunks.push_back({"trunk-1", "carrier", phone_, true});
  memory_.apply(trunk);
  Peer behind_carrier = phone_;
  behind_carrier.port = 40000;
  ASSERT_NE(memory_.trunk_at(behind_carrier), nullptr);
  ASSERT_TRUE(memory_.trunk_at(behind_carrier)->trusted);

  directory_.calls = 0;
  for (const Peer& from : {phone_, behind_carrier}) {
    const AuthOutcome bare = auth_.authenticate(request(""), false, from);
    EXPECT_EQ(bare.extension, nullptr) << "no credentials: challenged, as from anywhere else";
    EXPECT_FALSE(bare.stale);
  }
  EXPECT_EQ(directory_.calls, 0) << "a trunk's trust is not the authenticator's to give";
  const AuthOutcome wrong = auth_.authenticate(
      request(register_credentials(kAuthLogin, "Wrong-password-1", fresh_nonce(behind_carrier), "00000001")), false,
      behind_carrier);
  EXPECT_EQ(wrong.extension, nullptr);
  ASSERT_EQ(failures_.seen.size(), 1u);
  EXPECT_EQ(directory_.calls, 1) << "the login's look-up, no trunk's";
  // With the right password the phone behind the carrier registers as itself.
  const AuthOutcome right = auth_.authenticate(
      request(register_credentials(kAuthLogin, kAuthPassword, fresh_nonce(behind_carrier), "00000001")), false,
      behind_carrier);
  ASSERT_NE(right.extension, nullptr);
  EXPECT_EQ(right.extension->id, "line-1");
}

// Issue 13: a line (or its company) set to SHA-256 gets a SHA-256 challenge alone, whatever the
// node offers, and an MD5 response for it is refused even with the right password; lines that
// follow the default, and logins that name no line, get the node's challenges alike.
TEST_F(AuthenticatorTest, ALineSetToSha256IsChallengedAndAcceptedWithSha256Only) {
  constexpr std::string_view kStrictLogin = "s7rqh2w9n4cd";
  DirectoryUpdate update;
  ExtensionInfo strict{"line-2", "company-1", "GB", "102", std::string(kStrictLogin), "",
                       digest_ha1(DigestAlgorithm::md5, kStrictLogin, "privox", kAuthPassword),
                       digest_ha1(DigestAlgorithm::sha256, kStrictLogin, "privox", kAuthPassword),
                       {DigestAlgorithm::sha256}, {}};
  update.extensions.push_back(strict);
  memory_.apply(update);
  Authenticator md5_node{directory_, nonces_, "privox", {DigestAlgorithm::md5}};
  md5_node.set_failures(&failures_);

  const std::vector<std::string> for_strict = challenges_for(md5_node, kStrictLogin, phone_);
  ASSERT_EQ(for_strict.size(), 1u);
  EXPECT_NE(for_strict[0].find("algorithm=SHA-256"), std::string::npos) << for_strict[0];
  const std::vector<std::string> for_default = challenges_for(md5_node, kAuthLogin, phone_);
  const std::vector<std::string> for_unknown = challenges_for(md5_node, "zz9z9z9z9z9z", phone_);
  ASSERT_EQ(for_default.size(), 1u);
  ASSERT_EQ(for_unknown.size(), 1u);
  EXPECT_NE(for_default[0].find("algorithm=MD5"), std::string::npos) << for_default[0];
  EXPECT_EQ(for_unknown[0].substr(0, for_unknown[0].find("nonce=")),
            for_default[0].substr(0, for_default[0].find("nonce=")))
      << "an unknown login's challenge is a default line's";
  EXPECT_EQ(for_unknown[0].substr(for_unknown[0].find("\", algorithm")),
            for_default[0].substr(for_default[0].find("\", algorithm")));

  // The right password in MD5 is refused for the SHA-256 line, as a failure.
  const AuthOutcome md5 = md5_node.authenticate(
      request(register_credentials(kStrictLogin, kAuthPassword, nonce_in(for_strict[0]), "00000001"), kStrictLogin),
      false, phone_);
  EXPECT_EQ(md5.extension, nullptr);
  ASSERT_EQ(failures_.seen.size(), 1u);
  EXPECT_EQ(failures_.seen[0].reason, "wrong_algorithm");
  const std::string nonce = nonce_in(challenges_for(md5_node, kStrictLogin, phone_).at(0));
  const AuthOutcome sha256 = md5_node.authenticate(
      request(register_credentials(kStrictLogin, kAuthPassword, nonce, "00000001", DigestAlgorithm::sha256),
              kStrictLogin),
      false, phone_);
  ASSERT_NE(sha256.extension, nullptr);
  EXPECT_EQ(sha256.extension->id, "line-2");
  // A line that follows the default still answers in MD5.
  const AuthOutcome plain = md5_node.authenticate(
      request(register_credentials(kAuthLogin, kAuthPassword, nonce_in(for_default[0]), "00000001")), false, phone_);
  ASSERT_NE(plain.extension, nullptr);
  EXPECT_EQ(plain.extension->id, "line-1");
}

}  // namespace
}  // namespace privox::sip
