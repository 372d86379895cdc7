// The one erasure path on both backends: a hold stops it with the hold's reason, every installed
// participant runs (a test's own one too, without any change to the erasure code), and afterwards
// nothing sealed under the member's key can be opened.
#include "erasure/erasure.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "app/registry.h"
#include "consent/consent.h"
#include "consent/optional_data.h"
#include "ledgers/legal_holds.h"
#include "ledgers/notice.h"
#include "store/test_stores.h"

namespace privox::erasure {
namespace {

// What the test participant saw, and how often it ran.
struct Seen {
  int calls = 0;
  privacy::ErasureSubject subject;
};
Seen g_seen;

Result<std::vector<privacy::ErasureItem>> test_participant(const privacy::ErasureSubject& subject,
                                                           const privacy::ErasureContext& context) {
  ++g_seen.calls;
  g_seen.subject = subject;
  // It works inside the erasure's transaction: the member's key still exists while it runs.
  auto key = privacy::subject_keys::load(context.tx, context.keys, subject.member_id);
  if (!key.ok()) return key.error();
  return std::vector<privacy::ErasureItem>{{.item = "test widgets", .outcome = "erased", .count = 2}};
}

class ErasureTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    auto company = accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    ASSERT_TRUE(company.ok()) << company.error().describe();
    auto member = accounts.add_member(*company,
                                      {{"name", "Ada Lovelace"},
                                       {"email", "ada@example.org"},
                                       {"phone", "020 7946 0958"},
                                       {"address", "1 High St"},
                                       {"birth_date", "1990-01-31"},
                                       {"payment_token", "tok_abcdef"}},
                                      "cli:test");
    ASSERT_TRUE(member.ok()) << member.error().describe();
    member_ = *member;
    accounts::Extensions extensions(*store_, keys_, clock_);
    auto line = extensions.add_extension({*company, "201", "line password 1", member_, std::nullopt}, "cli:test");
    ASSERT_TRUE(line.ok()) << line.error().describe();
    line_ = *line;
  }

  void TearDown() override { privacy::install_erasure_participants(app::erasure_participants()); }

  int64_t count(const std::string& sql) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query(sql)->at(0).i64(0);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::string member_, line_;
};

TEST_P(ErasureTest, AHoldRefusesErasureWithItsReasonAndChangesNothing) {
  ledgers::LegalHolds holds(*store_, keys_, clock_);
  auto hold = holds.place(member_, "Smith v Acme", "HC-114", "cli:test");
  ASSERT_TRUE(hold.ok()) << hold.error().describe();
  auto refused = erase_member(*store_, keys_, clock_, member_, "cli:test", "operator");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::conflict);
  EXPECT_EQ(refused.error().field, "legal_hold");
  EXPECT_NE(refused.error().message.find("Smith v Acme (ref. HC-114)"), std::string::npos) << refused.error().message;
  EXPECT_EQ(count("SELECT count(*) FROM subject_keys WHERE subject_id = '" + member_ + "'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM members WHERE status = 'erased'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM extensions WHERE member_id = '" + member_ + "'"), 1);

  ASSERT_TRUE(holds.release(*hold, "cli:test").ok());
  EXPECT_TRUE(erase_member(*store_, keys_, clock_, member_, "cli:test", "operator").ok());
}

TEST_P(ErasureTest, AParticipantAddedByATestRunsWithTheSubjectAndReportsItsItems) {
  std::vector<privacy::ErasureParticipantSpec> participants = app::erasure_participants();
  participants.push_back({"test", test_participant});
  privacy::install_erasure_participants(participants);
  g_seen = {};

  auto outcome = erase_member(*store_, keys_, clock_, member_, "cli:test", "operator");
  ASSERT_TRUE(outcome.ok()) << outcome.error().describe();
  EXPECT_EQ(g_seen.calls, 1);
  EXPECT_EQ(g_seen.subject.member_id, member_);
  EXPECT_EQ(g_seen.subject.lines, std::vector<std::string>{line_});
  bool reported = false;
  for (const privacy::ErasureItem& item : outcome->items)
    if (item.item == "test widgets") reported = item.outcome == "erased" && item.count == 2;
  EXPECT_TRUE(reported) << to_json(*outcome).dump();

  // A second erasure finds the member erased and runs nothing.
  auto again = erase_member(*store_, keys_, clock_, member_, "cli:test", "operator");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_erased);
  EXPECT_EQ(g_seen.calls, 1);
}

TEST_P(ErasureTest, AFailingParticipantRollsEverythingBack) {
  std::vector<privacy::ErasureParticipantSpec> participants = app::erasure_participants();
  participants.push_back({"broken", [](const privacy::ErasureSubject&, const privacy::ErasureContext&)
                                        -> Result<std::vector<privacy::ErasureItem>> {
                            return make_error(ErrorCode::internal, "the widget store is down");
                          }});
  privacy::install_erasure_participants(participants);
  auto failed = erase_member(*store_, keys_, clock_, member_, "cli:test", "operator");
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("widget store"), std::string::npos);
  EXPECT_EQ(count("SELECT count(*) FROM subject_keys WHERE subject_id = '" + member_ + "'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM members WHERE status = 'erased'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM extensions WHERE member_id = '" + member_ + "'"), 1);
}

TEST_P(ErasureTest, AfterwardsNothingSealedUnderTheMembersKeyOpens) {
  // The member's sealed data in several subsystems: their record, optional data.
  consent::ConsentLedger ledger(*store_, keys_, clock_);
  ASSERT_TRUE(ledger
                  .record({member_, consent::ConsentPurpose::contacts_sync, true, consent::ConsentMethod::form, "api",
                           ledgers::notice_version()},
                          "cli:test")
                  .ok());
  consent::OptionalData optional(*store_, keys_, clock_);
  ASSERT_TRUE(optional.put(member_, consent::OptionalKind::contacts, nlohmann::json::array({"Bob +447700900123"}),
                           "cli:test")
                  .ok());
  Bytes name_sealed;
  {
    auto tx = store_->begin(store::TxMode::read);
    ASSERT_TRUE(tx.ok());
    name_sealed = (*tx)->query("SELECT name_enc FROM members WHERE id = ?", {member_})->at(0).blob(0);
    auto key = privacy::subject_keys::load(**tx, keys_, member_);
    ASSERT_TRUE(key.ok());
    ASSERT_TRUE(privacy::open_field(*key, member_, "name", name_sealed).ok()) << "control: it opens before";
  }

  auto outcome = erase_member(*store_, keys_, clock_, member_, "cli:test", "operator");
  ASSERT_TRUE(outcome.ok()) << outcome.error().describe();
  auto tx = store_->begin(store::TxMode::read);
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(privacy::subject_keys::load(**tx, keys_, member_).error().code, ErrorCode::erased);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM optional_data WHERE member_id = ?", {member_})->at(0).i64(0), 0);
  // The ciphertext is still where a backup would hold it, and no key the store holds opens it.
  EXPECT_EQ((*tx)->query("SELECT name_enc FROM members WHERE id = ?", {member_})->at(0).blob(0), name_sealed);
  auto wrapped = privacy::subject_keys::read_wrapped(**tx, {member_});
  ASSERT_TRUE(wrapped.ok());
  EXPECT_TRUE(wrapped->empty());
  EXPECT_EQ(accounts::open_member_fields(**tx, keys_, member_, accounts::member_fields()).error().code,
            ErrorCode::erased);
  // The line is the company's: unassigned, its key kept.
  EXPECT_TRUE(privacy::subject_keys::load(**tx, keys_, line_).ok());
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM extensions WHERE member_id IS NOT NULL")->at(0).i64(0), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ErasureTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::erasure
