#include "voicemail/notices.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "common/ids.h"
#include "erasure/erasure.h"
#include "store/test_stores.h"
#include "voicemail/options.h"
#include "voicemail/store.h"

namespace privox::voicemail {
namespace {

constexpr int64_t kOutboxStart = 1'795'000'000'000'000;

// The outbox as StoreSink fills it and the notifier (notify/voicemail_notices.h) works it, on both
// backends.
class NoticeOutboxTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    company_ = *accounts.add_company({"Outbox Ltd", "eea", ""}, "cli:test");
    auto member = accounts.add_member(company_,
                                      {{"name", "Grace Hopper"}, {"email", "grace@example.org"},
                                       {"phone", "020 7946 0959"}, {"address", "2 High St"},
                                       {"birth_date", "1986-12-09"}, {"payment_token", "tok_ghijkl"}},
                                      "cli:test");
    ASSERT_TRUE(member.ok()) << member.error().describe();
    member_ = *member;
    box_ = *accounts::Extensions(*store_, keys_, clock_)
                .add_extension({company_, "301", "correct-horse-8", member_, std::nullopt}, "cli:test");
  }

  std::string store_message(bool withheld = false) {
    NewMessage m{.id = new_id(clock_.now_us()), .company_id = company_, .box_id = box_, .box_number = "301",
                 .caller = "+442071230000", .caller_withheld = withheld, .call_record_id = "",
                 .received_at_us = clock_.now_us(), .duration_ms = 3000, .end_reason = "silence",
                 .audio = "OggS-outbox-test"};
    std::string id = m.id;
    StoreSink sink(*store_, keys_, clock_);
    sink.deposit(std::move(m));
    EXPECT_TRUE(sink.flush().ok());
    clock_.advance_us(1000);
    return id;
  }

  std::vector<PendingNotice> due(int64_t at_us) {
    auto tx = store_->begin(store::TxMode::read);
    auto rows = due_notices(**tx, at_us, 100);
    EXPECT_TRUE(rows.ok()) << rows.error().describe();
    return rows.ok() ? *rows : std::vector<PendingNotice>{};
  }

  void choose(EmailNotice notice) {
    ASSERT_TRUE(set_email_notice(*store_, keys_, clock_, {}, box_, notice, "cli:test").ok());
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{kOutboxStart};
  std::string company_, member_, box_;
};

TEST_P(NoticeOutboxTest, ANoticeIsOwedOnlyForMessagesStoredWhileTheMemberChoseOne) {
  store_message();
  choose(EmailNotice::off);
  store_message();
  EXPECT_TRUE(due(clock_.now_us()).empty());
  choose(EmailNotice::audio);
  const std::string owed = store_message();
  choose(EmailNotice::off);
  store_message();
  const std::vector<PendingNotice> pending = due(clock_.now_us());
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].message_id, owed);
  EXPECT_EQ(pending[0].box_id, box_);
  EXPECT_EQ(pending[0].company_id, company_);
  EXPECT_EQ(pending[0].attempts, 0);
}

TEST_P(NoticeOutboxTest, AnAttemptIsCountedOnceAndMakesTheNoticeDueLater) {
  choose(EmailNotice::notice);
  const std::string id = store_message();
  const int64_t now = clock_.now_us();
  {
    auto tx = store_->begin(store::TxMode::write);
    auto first = begin_notice_attempt(**tx, id, now, now + 60'000'000);
    ASSERT_TRUE(first.ok()) << first.error().describe();
    EXPECT_TRUE(*first);
    auto second = begin_notice_attempt(**tx, id, now, now + 60'000'000);
    ASSERT_TRUE(second.ok());
    EXPECT_FALSE(*second) << "no longer due: another pass has it";
    ASSERT_TRUE((*tx)->commit().ok());
  }
  EXPECT_TRUE(due(now + 59'000'000).empty());
  const std::vector<PendingNotice> later = due(now + 60'000'000);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].attempts, 1);
  {
    auto tx = store_->begin(store::TxMode::write);
    ASSERT_TRUE(finish_notice(**tx, id).ok());
    ASSERT_TRUE(finish_notice(**tx, id).ok()) << "finishing one that is gone is no error";
    ASSERT_TRUE((*tx)->commit().ok());
  }
  EXPECT_TRUE(due(now + 3'600'000'000).empty());
}

TEST_P(NoticeOutboxTest, OpeningForEmailIsAuditedAndKeepsAWithheldCallerWithheld) {
  const std::string id = store_message(true);
  auto notice = open_for_email(*store_, keys_, clock_, box_, id, false, 1, "serve:test");
  ASSERT_TRUE(notice.ok()) << notice.error().describe();
  EXPECT_EQ(notice->info.caller, "withheld");
  EXPECT_TRUE(notice->audio.empty());
  auto audio = open_for_email(*store_, keys_, clock_, box_, id, true, 2, "serve:test");
  ASSERT_TRUE(audio.ok()) << audio.error().describe();
  EXPECT_EQ(audio->audio, "OggS-outbox-test");
  auto elsewhere = open_for_email(*store_, keys_, clock_, "01890000-0000-7000-8000-000000000000", id, true, 1, "x");
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.error().code, ErrorCode::not_found);
  auto tx = store_->begin(store::TxMode::read);
  auto rows = (*tx)->query("SELECT subject_id, detail FROM audit_log WHERE action = 'voicemail.email' ORDER BY seq");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].text(0), box_);
  EXPECT_EQ(nlohmann::json::parse((*rows)[1].text(1)), nlohmann::json({{"message", id}, {"audio", true}, {"attempt", 2}}));
}

TEST_P(NoticeOutboxTest, ErasingTheMemberRemovesTheNoticesStillOwed) {
  choose(EmailNotice::notice);
  store_message();
  store_message();
  ASSERT_EQ(due(clock_.now_us()).size(), 2u);
  auto erased = erasure::erase_member(*store_, keys_, clock_, member_, "cli:test", "test");
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  EXPECT_TRUE(due(clock_.now_us()).empty());
  bool reported = false;
  for (const privacy::ErasureItem& item : erased->items)
    if (item.item == "voicemail email notices not yet sent") reported = item.outcome == "erased" && item.count == 2;
  EXPECT_TRUE(reported) << "the erasure report names them";
}

INSTANTIATE_TEST_SUITE_P(Backends, NoticeOutboxTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::voicemail
