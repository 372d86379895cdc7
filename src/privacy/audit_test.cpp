#include "privacy/audit.h"
#include "privacy/audit_record.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/test_stores.h"

namespace privox::privacy {
namespace {

class AuditChainTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                    PRIVOX_TRY(chain_.append(s, {"cli:test", "member.show", "subject-" + std::to_string(i), "billing",
                                                 {{"fields_shown", {"name"}}}}));
                    return {};
                  }).ok());
      clock_.advance_us(1000);
    }
  }

  void sql(const std::string& statement) {
    ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                  PRIVOX_TRY(s.exec(statement));
                  return {};
                }).ok())
        << statement;
  }

  AuditVerifyReport verify() { return std::move(chain_.verify(*store_)).value(); }

  SecretKey master_ = SecretKey::random();
  Keyring keys_ = Keyring::from_master_for_test(master_);
  FakeClock clock_{1'790'000'000'000'000};
  AuditChain chain_{keys_, clock_};
};

TEST_P(AuditChainTest, IntactChainVerifies) {
  const AuditVerifyReport r = verify();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.entries, 5);
}

TEST_P(AuditChainTest, EmptyChainVerifies) {
  auto fresh = std::move(store::TestStore::create(GetParam())).value();
  auto empty = std::move(fresh->open()).value();
  ASSERT_TRUE(empty->migrate().ok());
  auto r = chain_.verify(*empty);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->entries, 0);
}

TEST_P(AuditChainTest, AlteredEntryIsNamed) {
  sql("UPDATE audit_log SET purpose = 'marketing' WHERE seq = 3");
  const AuditVerifyReport r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
  EXPECT_NE(r.problem.find("altered"), std::string::npos);
}

TEST_P(AuditChainTest, RemovedEntryIsNamed) {
  sql("DELETE FROM audit_log WHERE seq = 2");
  const AuditVerifyReport r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 2);
}

TEST_P(AuditChainTest, RemovedLastEntryIsDetectedThroughTheHead) {
  sql("DELETE FROM audit_log WHERE seq = 5");
  const AuditVerifyReport r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5);
}

TEST_P(AuditChainTest, ReorderedEntriesAreDetected) {
  // Swap the sequence numbers of entries 2 and 3, as someone reordering the log would.
  sql("UPDATE audit_log SET seq = 100 WHERE seq = 2");
  sql("UPDATE audit_log SET seq = 2 WHERE seq = 3");
  sql("UPDATE audit_log SET seq = 3 WHERE seq = 100");
  const AuditVerifyReport r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 2);
}

TEST_P(AuditChainTest, RecomputingHashesWithoutTheKeyDoesNotHelp) {
  // An attacker who rewrites an entry and its hash with an unkeyed hash still fails verification.
  sql("UPDATE audit_log SET actor = 'someone-else', hash = '00' WHERE seq = 5");
  sql("UPDATE audit_head SET hash = '00'");
  EXPECT_FALSE(verify().ok);
}

TEST_P(AuditChainTest, ChainFromAnotherMasterKeyFails) {
  const SecretKey other = SecretKey::random();
  const Keyring other_keys = Keyring::from_master_for_test(other);
  AuditChain stranger(other_keys, clock_);
  auto r = stranger.verify(*store_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_bad_seq, 1);
}

TEST_P(AuditChainTest, AppendsFromTwoConnectionsNeverFork) {
  auto other = std::move(test_store_->open()).value();
  std::vector<std::thread> writers;
  for (store::Store* s : {store_.get(), other.get()})
    writers.emplace_back([&, s] {
      for (int i = 0; i < 50; ++i)
        ASSERT_TRUE(store::with_transaction(*s, store::TxMode::write, [&](store::Session& tx) -> Status {
                      PRIVOX_TRY(chain_.append(tx, {"cli:test", "x", "", "", {}}));
                      return {};
                    }).ok());
    });
  for (auto& w : writers) w.join();
  const AuditVerifyReport r = verify();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.entries, 105);
}

AuditAnchor head_now(store::Store& store) {
  auto tx = std::move(store.begin(store::TxMode::read)).value();
  return std::move(AuditChain::head(*tx)).value();
}

TEST_P(AuditChainTest, AnchorIsTheHeadAndAnIntactChainHoldsIt) {
  const AuditAnchor anchor = head_now(*store_);
  EXPECT_EQ(anchor.length, 5);
  EXPECT_EQ(anchor.hash.size(), 64U);
  const AuditVerifyReport r = std::move(chain_.verify(*store_, anchor)).value();
  EXPECT_TRUE(r.ok) << r.problem;
  // Entries appended after the anchor was published do not disturb it.
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                PRIVOX_TRY(chain_.append(s, {"cli:test", "x", "", "", {}}));
                return {};
              }).ok());
  EXPECT_TRUE(std::move(chain_.verify(*store_, anchor)).value().ok);
}

TEST_P(AuditChainTest, TruncatedTailPassesAloneButNotAgainstTheAnchor) {
  const AuditAnchor anchor = head_now(*store_);
  // Cut the last two entries and rewind the head to what is left: a self-consistent chain.
  sql("DELETE FROM audit_log WHERE seq > 3");
  sql("UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_log WHERE seq = 3) WHERE id = 1");
  ASSERT_TRUE(verify().ok) << "the truncated chain should verify on its own, or the anchor proves nothing";
  const AuditVerifyReport r = std::move(chain_.verify(*store_, anchor)).value();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4);
  EXPECT_NE(r.problem.find("anchor was taken at 5"), std::string::npos) << r.problem;
}

TEST_P(AuditChainTest, TailRewrittenWithTheKeyIsCaughtAtTheAnchor) {
  const AuditAnchor anchor = head_now(*store_);
  // Someone holding the key cuts entries 4 and 5 and appends others in their place: the chain is
  // valid and as long as before, but entry 5 is no longer the anchored one.
  sql("DELETE FROM audit_log WHERE seq > 3");
  sql("UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_log WHERE seq = 3) WHERE id = 1");
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                  PRIVOX_TRY(chain_.append(s, {"cli:test", "innocent", "", "", {}}));
                  return {};
                }).ok());
  ASSERT_TRUE(verify().ok);
  const AuditVerifyReport r = std::move(chain_.verify(*store_, anchor)).value();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5);
  EXPECT_NE(r.problem.find("not the anchored one"), std::string::npos) << r.problem;
}

TEST(AuditAnchor, FormatsAndParsesBack) {
  const AuditAnchor a{42, std::string(64, 'a')};
  const auto back = parse_anchor(format_anchor(a));
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->length, 42);
  EXPECT_EQ(back->hash, a.hash);
  EXPECT_TRUE(parse_anchor("0:").ok());
  for (const char* bad : {"", "42", "x:" , "-1:", "42:abc", "42:", "0:ab", "4 2:aaaa"}) {
    const auto r = parse_anchor(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().field, "anchor");
  }
  EXPECT_FALSE(parse_anchor("42:" + std::string(64, 'A')).ok()) << "upper case is not what anchor prints";
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditChainTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::privacy
