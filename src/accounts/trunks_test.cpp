#include "accounts/trunks.h"

#include <gtest/gtest.h>

#include "store/test_stores.h"

namespace privox::accounts {
namespace {

TEST(TrunkAddressTest, HostsAreIpLiteralsOrDnsNamesInNormalForm) {
  auto name = parse_trunk_address("SIP.Carrier.Example.:5060");
  ASSERT_TRUE(name.ok()) << name.error().describe();
  EXPECT_EQ(name->host, "sip.carrier.example");
  EXPECT_EQ(name->port, 5060);
  EXPECT_EQ(parse_trunk_address("203.0.113.5:5061")->host, "203.0.113.5");
  EXPECT_EQ(parse_trunk_address("[2001:DB8:0:0::1]:5060")->host, "2001:db8::1");
  EXPECT_EQ(parse_trunk_address("localhost:1")->port, 1);
  EXPECT_EQ(parse_trunk_address("carrier:65535")->port, 65535);
  EXPECT_EQ(format_trunk_address(*parse_trunk_address("[2001:db8::1]:5060")), "[2001:db8::1]:5060");
  EXPECT_EQ(format_trunk_address(*parse_trunk_address("203.0.113.5:5060")), "203.0.113.5:5060");
  EXPECT_EQ(*normalise_host("[::1]"), "::1");
  EXPECT_EQ(*normalise_host("::FFFF:192.0.2.1"), "::ffff:192.0.2.1");

  for (const char* bad : {"", "carrier", "carrier:", ":5060", "carrier:0", "carrier:65536", "carrier:50x",
                          "carrier:-1", "2001:db8::1:5060", "[2001:db8::1]", "[2001:db8::1]5060", "[nonsense]:5060",
                          "[192.0.2.1]:5060", "bad_host:5060", "-bad.example:5060", "bad-.example:5060",
                          "a..b:5060", "1.2.3.256:5060", "10.0.0:5060", "caf\xc3\xa9.example:5060",
                          "fe80::1%eth0:5060", "host name:5060"}) {
    auto parsed = parse_trunk_address(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().field, "address") << bad;
  }
  EXPECT_FALSE(parse_trunk_address(std::string(64, 'a') + ".example:5060").ok());  // a label is at most 63
  EXPECT_TRUE(parse_trunk_address(std::string(63, 'a') + ".example:5060").ok());
}

class TrunksTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    trunks_ = std::make_unique<Trunks>(*store_, keys_, clock_);
  }

  int64_t count(const std::string& sql) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query(sql)->at(0).i64(0);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  // The id of the trunk find_trunk_by_address gives, or its error's description.
  std::string id_at(std::string_view host, uint16_t port) {
    auto found = trunks_->find_trunk_by_address(host, port);
    return found.ok() ? found->id : found.error().describe();
  }

  std::unique_ptr<Trunks> trunks_;
};

TEST_P(TrunksTest, TrunksAreFoundByTheAddressRequestsComeFrom) {
  auto carrier = trunks_->add_trunk("carrier-a", "203.0.113.5:5060", true, "cli:test");
  ASSERT_TRUE(carrier.ok()) << carrier.error().describe();
  auto backup = trunks_->add_trunk("backup", "[2001:db8::5]:5080", false, "cli:test");
  ASSERT_TRUE(backup.ok()) << backup.error().describe();
  auto named = trunks_->add_trunk("by-name", "SIP.Carrier.Example:5060", false, "cli:test");
  ASSERT_TRUE(named.ok()) << named.error().describe();

  auto found = trunks_->find_trunk_by_address("203.0.113.5", 5060);
  ASSERT_TRUE(found.ok()) << found.error().describe();
  EXPECT_EQ(found->id, *carrier);
  EXPECT_EQ(found->name, "carrier-a");
  EXPECT_TRUE(found->trusted);
  EXPECT_EQ(found->created_at_us, clock_.now_us());
  EXPECT_EQ(trunks_->find_trunk_by_address("2001:DB8:0::5", 5080)->id, *backup);
  EXPECT_FALSE(trunks_->find_trunk_by_address("2001:db8::5", 5080)->trusted);
  EXPECT_EQ(trunks_->find_trunk_by_address("sip.carrier.example", 5060)->id, *named);
  EXPECT_EQ(trunks_->find_trunk_by_address("203.0.113.6", 5060).error().code, ErrorCode::not_found);
  EXPECT_EQ(trunks_->find_trunk_by_address("2001:db8::6", 5080).error().code, ErrorCode::not_found);
  EXPECT_EQ(trunks_->find_trunk_by_address("not a host", 5060).error().field, "address");

  auto all = trunks_->list_trunks();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ(all->at(0).name, "backup");
  EXPECT_EQ(all->at(1).name, "by-name");
  EXPECT_EQ(all->at(2).name, "carrier-a");
  EXPECT_EQ(format_trunk_address(all->at(0).address), "[2001:db8::5]:5080");
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'trunk.add'"), 3);
}

// Issue 12: carriers send from several ports, so a request is the trunk's by its IP address alone.
TEST_P(TrunksTest, ARequestFromATrunksAddressOnAnyPortIsTheTrunks) {
  auto carrier = trunks_->add_trunk("carrier-a", "203.0.113.5:5060", true, "cli:test");
  ASSERT_TRUE(carrier.ok()) << carrier.error().describe();
  auto v6 = trunks_->add_trunk("carrier-v6", "[2001:db8::5]:5080", true, "cli:test");
  ASSERT_TRUE(v6.ok()) << v6.error().describe();

  auto other_port = trunks_->find_trunk_by_address("203.0.113.5", 5061);
  ASSERT_TRUE(other_port.ok()) << other_port.error().describe();
  EXPECT_EQ(other_port->id, *carrier);
  EXPECT_TRUE(other_port->trusted);
  EXPECT_EQ(other_port->address.port, 5060) << "the configured port, where privox sends, is kept";
  EXPECT_EQ(id_at("[2001:db8:0::5]", 40000), *v6);
  EXPECT_EQ(trunks_->find_trunk_by_address("203.0.113.50", 5060).error().code, ErrorCode::not_found);

  // Trunks sharing an address: the one whose port also matches, else the first by name.
  auto zulu = trunks_->add_trunk("zulu", "198.51.100.1:5070", false, "cli:test");
  auto mike = trunks_->add_trunk("mike", "198.51.100.1:5080", true, "cli:test");
  ASSERT_TRUE(zulu.ok() && mike.ok());
  EXPECT_EQ(id_at("198.51.100.1", 5070), *zulu);
  EXPECT_EQ(id_at("198.51.100.1", 5080), *mike);
  EXPECT_EQ(id_at("198.51.100.1", 5060), *mike);
  EXPECT_EQ(id_at("198.51.100.1", 41000), *mike);
}

TEST_P(TrunksTest, NamesAndAddressesAreUniqueAndRefusalsStoreNothing) {
  ASSERT_TRUE(trunks_->add_trunk("carrier-a", "203.0.113.5:5060", false, "t").ok());
  const int64_t audit_before = count("SELECT count(*) FROM audit_log");
  auto same_name = trunks_->add_trunk(" carrier-a ", "203.0.113.9:5060", false, "t");
  ASSERT_FALSE(same_name.ok());
  EXPECT_EQ(same_name.error().code, ErrorCode::conflict);
  EXPECT_EQ(same_name.error().field, "name");
  auto same_address = trunks_->add_trunk("carrier-b", "203.0.113.5:5060", true, "t");
  ASSERT_FALSE(same_address.ok());
  EXPECT_EQ(same_address.error().code, ErrorCode::conflict);
  EXPECT_EQ(same_address.error().field, "address");
  EXPECT_EQ(trunks_->add_trunk("", "203.0.113.9:5060", false, "t").error().field, "name");
  EXPECT_EQ(trunks_->add_trunk(std::string(65, 'n'), "203.0.113.9:5060", false, "t").error().field, "name");
  EXPECT_EQ(trunks_->add_trunk("card 4111 1111 1111 1111", "203.0.113.9:5060", false, "t").error().field, "name");
  EXPECT_EQ(trunks_->add_trunk("carrier-c", "203.0.113.9", false, "t").error().field, "address");
  // Trust is by source address, which a DNS name cannot be compared with.
  EXPECT_EQ(trunks_->add_trunk("carrier-c", "sip.carrier.example:5060", true, "t").error().field, "address");
  EXPECT_EQ(count("SELECT count(*) FROM trunks"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log"), audit_before);
  // Another port on the same host is another trunk.
  EXPECT_TRUE(trunks_->add_trunk("carrier-b", "203.0.113.5:5061", false, "t").ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, TrunksTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::accounts
