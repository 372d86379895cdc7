#include "accounts/directory_log.h"

#include <gtest/gtest.h>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "accounts/trunks.h"
#include "erasure/erasure.h"
#include "store/test_stores.h"

namespace privox::accounts {
namespace {

// Every provisioning change the SIP directory must learn of lands in the log, in the transaction
// that makes it, on both backends.
class DirectoryLogTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    company_ = *Accounts(*store_, keys_, clock_).add_company({"Acme Ltd", "eea", ""}, "cli:test");
  }

  DirectoryChanges after(int64_t seq, size_t limit = 100) {
    auto tx = store_->begin(store::TxMode::read);
    auto read = directory_changes_after(**tx, seq, limit);
    EXPECT_TRUE(read.ok()) << read.error().describe();
    return read.ok() ? *read : DirectoryChanges{};
  }
  int64_t head() {
    auto tx = store_->begin(store::TxMode::read);
    return *directory_log_head(**tx);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::string company_;
};

TEST_P(DirectoryLogTest, EveryChangeToALineOrTrunkIsLoggedInOrder) {
  EXPECT_EQ(head(), 0);
  Extensions extensions(*store_, keys_, clock_);
  Accounts accounts(*store_, keys_, clock_);
  const std::string ada = *accounts.add_member(company_,
                                               {{"name", "Ada Lovelace"}, {"email", "ada@example.org"},
                                                {"phone", "020 7946 0958"}, {"address", "1 High St"},
                                                {"birth_date", "1990-01-31"}, {"payment_token", "tok_abcdef"},
                                                {"card_brand", "visa"}, {"card_last4", "4242"}},
                                               "cli:test");
  const std::string line = *extensions.add_extension({company_, "101", "correct-horse-7", ada, std::nullopt}, "cli:test");
  ASSERT_TRUE(extensions.reset_password(line, "another-secret-5", "cli:test").ok());
  const std::string trunk = *Trunks(*store_, keys_, clock_).add_trunk("carrier", "192.0.2.50:5060", true, "cli:test");
  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, ada, "cli:test", "test").ok());

  const DirectoryChanges all = after(0);
  EXPECT_FALSE(all.gap);
  ASSERT_EQ(all.changes.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {line, "added"}, {line, "password_reset"}, {trunk, "added"}, {line, "member_unassigned"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(all.changes[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(all.changes[i].item_id, expected[i].first);
    EXPECT_EQ(all.changes[i].change, expected[i].second);
  }
  EXPECT_EQ(all.changes[2].kind, DirectoryItem::trunk);
  EXPECT_EQ(head(), 4);

  const DirectoryChanges later = after(2, 1);
  ASSERT_EQ(later.changes.size(), 1u) << "at most the limit";
  EXPECT_EQ(later.changes[0].seq, 3);
  EXPECT_TRUE(after(4).changes.empty());
  EXPECT_FALSE(after(4).gap);
}

TEST_P(DirectoryLogTest, AChangeThatRollsBackLeavesNoEntry) {
  Extensions extensions(*store_, keys_, clock_);
  ASSERT_TRUE(extensions.add_extension({company_, "101", "correct-horse-7", std::nullopt, std::nullopt}, "t").ok());
  auto again = extensions.add_extension({company_, "101", "correct-horse-8", std::nullopt, std::nullopt}, "t");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(head(), 1);
  EXPECT_EQ(after(0).changes.size(), 1u);
}

TEST_P(DirectoryLogTest, AReaderTooFarBehindOrAheadIsToldToLoadEverything) {
  Extensions extensions(*store_, keys_, clock_);
  for (const char* number : {"101", "102", "103"})
    ASSERT_TRUE(extensions.add_extension({company_, number, "correct-horse-7", std::nullopt, std::nullopt}, "t").ok());
  // The oldest entries are pruned as the log grows past kDirectoryLogKept; here, by hand.
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [](store::Session& s) -> Status {
                PRIVOX_TRY(s.exec("DELETE FROM directory_changes WHERE seq <= 2"));
                return {};
              }).ok());
  EXPECT_TRUE(after(0).gap) << "entries 1 and 2 are gone";
  EXPECT_TRUE(after(1).gap);
  EXPECT_FALSE(after(2).gap);
  EXPECT_TRUE(after(9).gap) << "a reader ahead of the counter follows another store";
}

INSTANTIATE_TEST_SUITE_P(Backends, DirectoryLogTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::accounts
