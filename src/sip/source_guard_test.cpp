#include "sip/source_guard.h"

#include <gtest/gtest.h>

#include <vector>

#include "sip/memory_directory.h"

namespace privox::sip {
namespace {

constexpr int64_t kGuardSecond = 1'000'000;
constexpr int64_t kGuardMinute = 60 * kGuardSecond;

// A stand-in for the keyed hash: the source's bytes, so tests can predict it.
struct PlainSourceHasher final : SourceHasher {
  BanHash source(const SourceKey& key) const override {
    ++hashed;
    BanHash h{};
    const auto b = key.bytes();
    std::copy(b.begin(), b.end(), h.begin());
    return h;
  }
  std::string login_tag(std::string_view login) const override { return "tag" + std::to_string(login.size()); }
  mutable int hashed = 0;
};

struct RecordingBanSink final : BanSink {
  void ban(const BanNotice& notice) override { bans.push_back(notice); }
  std::vector<BanNotice> bans;
};

Peer guard_peer(const char* address, uint16_t port = 5060) {
  Peer p;
  EXPECT_TRUE(Peer::parse(address, port, TransportKind::udp, p)) << address;
  return p;
}

class SourceGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DirectoryUpdate update;
    update.replace_all = true;
    update.trunks.push_back({"trunk-1", "carrier", guard_peer("192.0.2.50", 5060), true});
    directory_.apply(update);
  }
  SourceGuard make(GuardLimits limits = {}) { return SourceGuard(std::move(limits), directory_, hasher_, &sink_, clock_); }
  void fail(SourceGuard& guard, const Peer& from, std::string_view login = "101") {
    guard.on_auth_failure(from, {"REGISTER", login, false, "wrong_response"});
  }

  FakeClock clock_{1'700'000'000 * kGuardSecond};
  MemoryDirectory directory_;
  PlainSourceHasher hasher_;
  RecordingBanSink sink_;
};

TEST(SourceKeyTest, IPv4AloneIPv6ByItsSlash64MappedIsIPv4) {
  EXPECT_EQ(SourceKey::of(guard_peer("192.0.2.7")), SourceKey::of(guard_peer("192.0.2.7", 9999)));  // the port is not the source
  EXPECT_NE(SourceKey::of(guard_peer("192.0.2.7")), SourceKey::of(guard_peer("192.0.2.8")));
  EXPECT_EQ(SourceKey::of(guard_peer("2001:db8:1:2::7")), SourceKey::of(guard_peer("2001:db8:1:2:ffff::1")));
  EXPECT_NE(SourceKey::of(guard_peer("2001:db8:1:2::7")), SourceKey::of(guard_peer("2001:db8:1:3::7")));
  EXPECT_EQ(SourceKey::of(guard_peer("::ffff:192.0.2.7")), SourceKey::of(guard_peer("192.0.2.7")));
  EXPECT_EQ(SourceKey::of(guard_peer("192.0.2.7")).text(), "192.0.2.7");
  EXPECT_EQ(SourceKey::of(guard_peer("2001:db8:1:2::7")).text(), "2001:db8:1:2::/64");
  EXPECT_EQ(SourceKey::parse("192.0.2.7"), SourceKey::of(guard_peer("192.0.2.7")));
  EXPECT_FALSE(SourceKey::parse("example.com"));
}

TEST(SourceRangeTest, ParsesAddressesAndPrefixes) {
  const auto ranges = parse_source_ranges(" 192.0.2.0/24, 10.1.2.3 ,2001:db8::/32");
  ASSERT_TRUE(ranges);
  ASSERT_EQ(ranges->size(), 3u);
  EXPECT_TRUE((*ranges)[0].contains(*SourceKey::parse("192.0.2.200")));
  EXPECT_FALSE((*ranges)[0].contains(*SourceKey::parse("192.0.3.1")));
  EXPECT_TRUE((*ranges)[1].contains(*SourceKey::parse("10.1.2.3")));
  EXPECT_FALSE((*ranges)[1].contains(*SourceKey::parse("10.1.2.4")));
  EXPECT_TRUE((*ranges)[2].contains(*SourceKey::parse("2001:db8:ffff::1")));
  EXPECT_FALSE((*ranges)[2].contains(*SourceKey::parse("2001:db9::1")));
  EXPECT_FALSE((*ranges)[2].contains(*SourceKey::parse("192.0.2.1")));
  EXPECT_TRUE(parse_source_ranges("") && parse_source_ranges("")->empty());
  for (const char* bad : {"192.0.2.0/33", "192.0.2.0/", "192.0.2.0/x", "host.example", "192.0.2.1,,", "::/129"})
    EXPECT_FALSE(parse_source_ranges(bad)) << bad;
}

// Kamailio pike's default: 16 requests in 2 s; the 17th is dropped, and so is everything after it
// while the source keeps sending.
TEST_F(SourceGuardTest, RateLimitsRequestsPerSourceNotResponses) {
  SourceGuard guard = make();
  const Peer flooder = guard_peer("198.51.100.9"), other = guard_peer("198.51.100.10");
  const int64_t t = clock_.now_us();
  for (int64_t i = 0; i < 16; ++i) EXPECT_TRUE(guard.admit(flooder, true, t + i * 1000)) << i;
  EXPECT_FALSE(guard.admit(flooder, true, t + 17'000));
  EXPECT_TRUE(guard.admit(flooder, false, t + 17'000)) << "responses are not rate-limited";
  EXPECT_TRUE(guard.admit(other, true, t + 17'000)) << "another source has its own budget";
  EXPECT_TRUE(guard.admit(guard_peer("198.51.100.9", 7000), false, t + 18'000));
  // A flood that goes on stays refused (dropped requests count)...
  for (int64_t i = 0; i < 100; ++i) EXPECT_FALSE(guard.admit(flooder, true, t + 2 * kGuardSecond + i * 10'000));
  EXPECT_EQ(guard.stats().rate_drops, 101u);
  // ...and once it stops for two windows, the source starts afresh.
  EXPECT_TRUE(guard.admit(flooder, true, t + 8 * kGuardSecond));
}

// A softphone's WebSocket has the budget of its own flow: two browsers and a desk phone behind
// one address are three budgets, not one. A ban of the address still silences them all.
TEST_F(SourceGuardTest, EachWebSocketFlowHasItsOwnBudgetButSharesItsAddressBan) {
  SourceGuard guard = make();
  auto flow = [](uint64_t connection) {
    Peer p;
    EXPECT_TRUE(Peer::parse("198.51.100.20", static_cast<uint16_t>(40000 + connection), TransportKind::wss, p));
    p.connection = connection;
    return p;
  };
  const Peer first = flow(1), second = flow(2), desk = guard_peer("198.51.100.20");
  const int64_t t = clock_.now_us();
  for (int64_t i = 0; i < 16; ++i) {
    ASSERT_TRUE(guard.admit(first, true, t + i * 1000)) << i;
    ASSERT_TRUE(guard.admit(second, true, t + i * 1000)) << i;
    ASSERT_TRUE(guard.admit(desk, true, t + i * 1000)) << i;
  }
  EXPECT_FALSE(guard.admit(first, true, t + 17'000)) << "one flow's 17th request in 2 s is over its budget";
  EXPECT_FALSE(guard.admit(desk, true, t + 17'000)) << "so is the address's own";
  EXPECT_EQ(guard.stats().rate_drops, 2u);
  // A flow seen no more is forgotten; a new one starts afresh.
  guard.sweep(t + 10 * kGuardSecond);
  EXPECT_TRUE(guard.admit(flow(3), true, t + 10 * kGuardSecond));

  for (int i = 0; i < 5; ++i) fail(guard, desk);
  EXPECT_FALSE(guard.admit(flow(4), true, t + 11 * kGuardSecond)) << "a banned address's flows are dropped";
  EXPECT_TRUE(guard.banned(flow(4), t + 11 * kGuardSecond));
}

// An office's desk phones share one NAT address. Each line that authenticated from it widens the
// address's budget by one line's, so the office's phones are not a flood; nothing else widens it.
TEST_F(SourceGuardTest, EachLineThatAuthenticatedFromAnAddressWidensItsBudget) {
  SourceGuard guard = make();
  const Peer office = guard_peer("198.51.100.30", 5060), stranger = guard_peer("203.0.113.30");
  auto line = [](const char* id) {
    ExtensionInfo l;
    l.id = id;
    return l;
  };
  guard.on_auth_success(guard_peer("198.51.100.30", 5062), line("line-a"));
  guard.on_auth_success(guard_peer("198.51.100.30", 5064), line("line-b"));
  guard.on_auth_success(guard_peer("198.51.100.30", 5066), line("line-c"));
  guard.on_auth_success(office, line("line-a"));  // a refresh, not a fourth line
  EXPECT_EQ(guard.credited_lines(office), 3u);
  int64_t t = clock_.now_us();
  for (int64_t i = 0; i < 48; ++i) {
    ASSERT_TRUE(guard.admit(office, true, t + i * 1000)) << "three lines, three budgets: request " << i;
    if (i < 16) ASSERT_TRUE(guard.admit(stranger, true, t + i * 1000)) << i;
  }
  EXPECT_FALSE(guard.admit(office, true, t + 49'000)) << "the 49th request in 2 s is over three lines' budget";
  EXPECT_FALSE(guard.admit(stranger, true, t + 49'000)) << "an address no line authenticated from has one budget";

  // A WebSocket flow has its own budget, and a trunk or trusted range none: neither earns credit.
  Peer browser;
  ASSERT_TRUE(Peer::parse("203.0.113.30", 40001, TransportKind::wss, browser));
  browser.connection = 9;
  guard.on_auth_success(browser, line("line-w"));
  guard.on_auth_success(guard_peer("192.0.2.50", 5060), line("line-t"));
  EXPECT_EQ(guard.credited_lines(stranger), 0u);
  EXPECT_EQ(guard.credited_lines(guard_peer("192.0.2.50")), 0u);

  // The credit outlives idleness (the office's phones are quiet between calls) but not its hour.
  t += int64_t{30} * 60 * kGuardSecond;
  guard.sweep(t);
  EXPECT_EQ(guard.credited_lines(office), 3u) << "an idle office keeps its lines' budget";
  t += int64_t{40} * 60 * kGuardSecond;
  guard.sweep(t);
  EXPECT_EQ(guard.credited_lines(office), 0u) << "lines that did not authenticate for over an hour lapse";
  guard.sweep(t + 10 * kGuardSecond);
  EXPECT_EQ(guard.sources(), 0u) << "and the address is forgotten once idle";
}

TEST_F(SourceGuardTest, ASteadyPhoneUnderTheLimitIsNeverDropped) {
  SourceGuard guard = make();
  const Peer phone = guard_peer("203.0.113.5");
  int64_t t = clock_.now_us();
  for (int i = 0; i < 2000; ++i, t += 150'000) ASSERT_TRUE(guard.admit(phone, true, t)) << i;  // ~6.7/s
}

TEST_F(SourceGuardTest, TrunksAndTrustedRangesAreExempt) {
  GuardLimits limits;
  limits.trusted = *parse_source_ranges("10.0.0.0/8");
  SourceGuard guard = make(limits);
  const int64_t t = clock_.now_us();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(guard.admit(guard_peer("192.0.2.50", 5060), true, t + i));  // the trunk
    ASSERT_TRUE(guard.admit(guard_peer("192.0.2.50", 5099), true, t + i));  // the trunk from another port
    ASSERT_TRUE(guard.admit(guard_peer("10.20.30.40"), true, t + i));
  }
  for (int i = 0; i < 20; ++i) fail(guard, guard_peer("10.20.30.40"));
  EXPECT_TRUE(sink_.bans.empty());
  // The address next to the trunk's is not the trunk.
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(guard.admit(guard_peer("192.0.2.51", 5060), true, t + i));
  EXPECT_FALSE(guard.admit(guard_peer("192.0.2.51", 5060), true, t + 20));
}

// fail2ban's defaults: 5 failures within 10 minutes ban the source for 10 minutes.
TEST_F(SourceGuardTest, FiveFailuresInTenMinutesBanTheSourceNotTheExtension) {
  SourceGuard guard = make();
  const Peer attacker = guard_peer("198.51.100.66"), phone = guard_peer("203.0.113.5");
  for (int i = 0; i < 4; ++i) {
    fail(guard, attacker);
    clock_.advance_us(kGuardMinute);
  }
  EXPECT_TRUE(sink_.bans.empty());
  EXPECT_TRUE(guard.admit(attacker, true, clock_.now_us()));
  fail(guard, attacker);
  ASSERT_EQ(sink_.bans.size(), 1u);
  EXPECT_EQ(sink_.bans[0].hash, hasher_.source(SourceKey::of(attacker)));
  EXPECT_EQ(sink_.bans[0].ban_us, 10 * kGuardMinute);
  EXPECT_EQ(sink_.bans[0].reason, "auth_failures");
  const int64_t banned_at = clock_.now_us();
  EXPECT_FALSE(guard.admit(attacker, true, banned_at + 1));
  EXPECT_FALSE(guard.admit(guard_peer("198.51.100.66", 40000), false, banned_at + 1)) << "every port, responses too";
  EXPECT_TRUE(guard.banned(attacker, banned_at + 1));
  // The extension the attacker tried is not locked: its phone, elsewhere, goes on.
  EXPECT_TRUE(guard.admit(phone, true, banned_at + 1));
  EXPECT_TRUE(guard.admit(attacker, true, banned_at + 10 * kGuardMinute + 1)) << "the ban ends";
}

TEST_F(SourceGuardTest, FailuresOutsideTheWindowDoNotAddUp) {
  SourceGuard guard = make();
  const Peer phone = guard_peer("203.0.113.5");
  for (int i = 0; i < 20; ++i) {
    fail(guard, phone);
    clock_.advance_us(3 * kGuardMinute);  // 4 in any 10 minutes
    guard.sweep(clock_.now_us());
  }
  EXPECT_TRUE(sink_.bans.empty());
}

TEST_F(SourceGuardTest, BansFromTheStoreApplyByHashAndLiftsEndTheNodesOwnBans) {
  SourceGuard guard = make();
  const Peer elsewhere = guard_peer("198.51.100.1"), here = guard_peer("198.51.100.2");
  const int64_t t = clock_.now_us();
  EXPECT_TRUE(guard.admit(elsewhere, true, t));
  EXPECT_EQ(hasher_.hashed, 0) << "no keyed hash while nobody is banned";

  // Another node banned `elsewhere`: the loader brings its hash.
  BanUpdate update;
  update.bans.push_back({hasher_.source(SourceKey::of(elsewhere)), t, t + 10 * kGuardMinute, 0});
  guard.apply(update, t);
  EXPECT_FALSE(guard.admit(elsewhere, true, t + 1));
  EXPECT_TRUE(guard.admit(here, true, t + 1));

  // This node bans `here` itself; the store answers with a longer repeat, then an operator lifts it.
  for (int i = 0; i < 5; ++i) fail(guard, here);
  ASSERT_EQ(sink_.bans.size(), 1u);
  const BanHash here_hash = sink_.bans[0].hash;
  BanUpdate repeat;
  repeat.bans.push_back({here_hash, clock_.now_us(), clock_.now_us() + 40 * kGuardMinute, 0});
  guard.apply(repeat, clock_.now_us());
  EXPECT_FALSE(guard.admit(here, true, clock_.now_us() + 30 * kGuardMinute)) << "the store's longer repeat holds";
  clock_.advance_us(kGuardMinute);
  BanUpdate lift;
  lift.bans.push_back({here_hash, t, clock_.now_us(), clock_.now_us()});
  lift.bans.push_back({hasher_.source(SourceKey::of(elsewhere)), t, clock_.now_us(), clock_.now_us()});
  guard.apply(lift, clock_.now_us());
  EXPECT_TRUE(guard.admit(here, true, clock_.now_us() + 1));
  EXPECT_TRUE(guard.admit(elsewhere, true, clock_.now_us() + 1));
  // Its failures were forgotten with the lift: one more is not a ban.
  fail(guard, here);
  EXPECT_EQ(sink_.bans.size(), 1u);
}

TEST_F(SourceGuardTest, ALiftOlderThanANewBanDoesNotEndIt) {
  SourceGuard guard = make();
  const Peer source = guard_peer("198.51.100.3");
  const int64_t lifted_at = clock_.now_us();
  clock_.advance_us(kGuardSecond);
  for (int i = 0; i < 5; ++i) fail(guard, source);
  ASSERT_EQ(sink_.bans.size(), 1u);
  BanUpdate old_lift;
  old_lift.bans.push_back({sink_.bans[0].hash, lifted_at - kGuardMinute, lifted_at, lifted_at});
  guard.apply(old_lift, clock_.now_us());
  EXPECT_FALSE(guard.admit(source, true, clock_.now_us() + 1));
}

TEST_F(SourceGuardTest, ReplaceAllForgetsBansNoLongerHeld) {
  SourceGuard guard = make();
  const Peer a = guard_peer("198.51.100.4"), b = guard_peer("198.51.100.5");
  const int64_t t = clock_.now_us();
  BanUpdate first;
  first.replace_all = true;
  first.bans.push_back({hasher_.source(SourceKey::of(a)), t, t + kGuardMinute, 0});
  guard.apply(first, t);
  EXPECT_FALSE(guard.admit(a, true, t + 1));
  BanUpdate second;
  second.replace_all = true;
  second.bans.push_back({hasher_.source(SourceKey::of(b)), t, t + kGuardMinute, 0});
  guard.apply(second, t + 2);
  EXPECT_TRUE(guard.admit(a, true, t + 3));
  EXPECT_FALSE(guard.admit(b, true, t + 3));
}

TEST_F(SourceGuardTest, ScannersAreRecognisedByUserAgent) {
  for (const char* ua : {"friendly-scanner", "Friendly-Scanner", "sipvicious 0.3.3", "sipcli/v1.8",
                         "VaxSIPUserAgent/3.1", "  SIPVicious", "iWar", "sundayddr"})
    EXPECT_TRUE(SourceGuard::is_scanner(ua)) << ua;
  for (const char* ua : {"", "Yealink SIP-T46S 66.86.0.15", "sipsak 0.9.8", "baresip v1.0.0", "Linphone/5.0",
                         "PolycomVVX-VVX_410", "my friendly-scanner", "sipp"})
    EXPECT_FALSE(SourceGuard::is_scanner(ua)) << ua;
}

TEST_F(SourceGuardTest, IdleSourcesAreForgottenAndTheTableIsBounded) {
  GuardLimits limits;
  limits.max_sources = 100;
  SourceGuard guard = make(limits);
  int64_t t = clock_.now_us();
  for (uint32_t i = 0; i < 100; ++i) ASSERT_TRUE(guard.admit(Peer::from_ipv4(0xC6336400 + i, 5060), true, t));
  EXPECT_EQ(guard.sources(), 100u);
  // Full: a new source is let through untracked rather than refused.
  EXPECT_TRUE(guard.admit(Peer::from_ipv4(0xC6336500, 5060), true, t));
  EXPECT_EQ(guard.stats().untracked, 1u);
  t += 10 * kGuardSecond;
  guard.sweep(t);
  EXPECT_EQ(guard.sources(), 0u);
}

}  // namespace
}  // namespace privox::sip
