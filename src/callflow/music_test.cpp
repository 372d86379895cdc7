#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "accounts/accounts.h"
#include "accounts/directory_log.h"
#include "callflow/music.h"
#include "common/ids.h"
#include "media/prompt.h"
#include "retention/closures.h"
#include "retention/retention.h"
#include "store/test_stores.h"

namespace privox::callflow {
namespace {

constexpr int64_t kMusicStart = 1'795'000'000'000'000;
// Debian's asterisk-moh-opsound-wav, the node-wide default (73 s, 16-bit mono at 8 kHz).
constexpr const char* kMusicMohWav = "/usr/share/asterisk/moh/manolo_camp-morning_coffee.wav";

std::vector<uint8_t> read_music_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> silence_wav(int64_t ms) {
  const std::vector<int16_t> samples(static_cast<size_t>(ms * 8), 0);
  const std::string wav = pcm16_wav(samples);
  return {wav.begin(), wav.end()};
}

// Music on hold for two companies, on both backends.
class MusicTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    music_ = std::make_unique<CompanyMusic>(*store_, keys_, clock_);
    accounts::Accounts accounts(*store_, keys_, clock_);
    company_ = *accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    other_company_ = *accounts.add_company({"Beta LLC", "us", ""}, "cli:test");
  }

  int64_t count(const std::string& sql, const store::Params& params = {}) {
    auto tx = store_->begin(store::TxMode::read);
    auto rows = (*tx)->query(sql, params);
    EXPECT_TRUE(rows.ok()) << rows.error().describe();
    return rows.ok() ? rows->at(0).i64(0) : -1;
  }

  accounts::DirectoryChange last_change() {
    auto tx = store_->begin(store::TxMode::read);
    auto head = accounts::directory_log_head(**tx);
    EXPECT_TRUE(head.ok());
    auto changes = accounts::directory_changes_after(**tx, *head - 1, 1);
    EXPECT_TRUE(changes.ok() && changes->changes.size() == 1);
    return changes.ok() && !changes->changes.empty() ? changes->changes[0] : accounts::DirectoryChange{};
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{kMusicStart};
  std::unique_ptr<CompanyMusic> music_;
  std::string company_, other_company_;
};

TEST_P(MusicTest, AnUploadIsKeptAsPcmAndReplacedAndCleared) {
  auto none = music_->find(company_);
  ASSERT_TRUE(none.ok()) << none.error().describe();
  EXPECT_FALSE(none->has_value());

  auto duration = music_->set(company_, read_music_file(kMusicMohWav), "cli:test");
  ASSERT_TRUE(duration.ok()) << duration.error().describe();
  EXPECT_GT(*duration, 70'000);
  EXPECT_LT(*duration, 75'000);
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::music);
  EXPECT_EQ(last_change().item_id, company_);
  auto found = music_->find(company_);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->duration_ms, *duration);
  EXPECT_EQ((*found)->content_hash.size(), 64u);

  // What is kept is an 8 kHz mono 16-bit WAV of the same length.
  auto audio = music_->audio(company_, "cli:test");
  ASSERT_TRUE(audio.ok()) << audio.error().describe();
  EXPECT_EQ(audio->substr(0, 4), "RIFF");
  EXPECT_EQ((audio->size() - 44) / 16, static_cast<size_t>(*duration)) << "two bytes a sample, 8 a millisecond";
  auto back = media::load_wav({reinterpret_cast<const uint8_t*>(audio->data()), audio->size()});
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->duration_ms(), *duration);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'music.listen'"), 1);

  // A new upload replaces it.
  auto second = music_->set(company_, silence_wav(6'000), "cli:test");
  ASSERT_TRUE(second.ok()) << second.error().describe();
  EXPECT_EQ(*second, 6'000);
  auto replaced = music_->find(company_);
  ASSERT_TRUE(replaced.ok() && replaced->has_value());
  EXPECT_NE((*replaced)->content_hash, (*found)->content_hash);
  EXPECT_EQ(count("SELECT COUNT(*) FROM company_music"), 1);

  ASSERT_TRUE(music_->clear(company_, "cli:test").ok());
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::music);
  EXPECT_EQ(count("SELECT COUNT(*) FROM company_music"), 0);
  auto again = music_->clear(company_, "cli:test");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::not_found);
  EXPECT_EQ(again.error().field, "music");
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action IN ('music.set', 'music.clear')"), 3);
}

TEST_P(MusicTest, BadUploadsAreRefusedNamingWhatIsWrong) {
  auto too_short = music_->set(company_, silence_wav(2'000), "cli:test");
  ASSERT_FALSE(too_short.ok());
  EXPECT_EQ(too_short.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(too_short.error().field, "audio");
  auto too_long = music_->set(company_, silence_wav(kMaxMusicMs + 1'000), "cli:test");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().field, "audio");
  const std::string text = "not a wav file at all";
  auto not_wav = music_->set(company_, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, "cli:test");
  ASSERT_FALSE(not_wav.ok());
  EXPECT_EQ(not_wav.error().field, "audio");
  auto no_company = music_->set(new_id(kMusicStart), silence_wav(6'000), "cli:test");
  ASSERT_FALSE(no_company.ok());
  EXPECT_EQ(no_company.error().code, ErrorCode::not_found);
  EXPECT_EQ(count("SELECT COUNT(*) FROM company_music"), 0);
  auto listen = music_->audio(company_, "cli:test");
  ASSERT_FALSE(listen.ok());
  EXPECT_EQ(listen.error().field, "music");
}

TEST_P(MusicTest, AClosedCompanysMusicGoesWithIt) {
  ASSERT_TRUE(music_->set(company_, silence_wav(6'000), "cli:test").ok());
  ASSERT_TRUE(music_->set(other_company_, silence_wav(7'000), "cli:test").ok());
  auto scheduled = retention::CompanyClosures(*store_, keys_, clock_).schedule(company_, "cli:test", 0);
  ASSERT_TRUE(scheduled.ok()) << scheduled.error().describe();
  retention::RunOptions options;
  options.as_of_us = kMusicStart + 1;
  auto report = retention::RetentionJobs(*store_, keys_, clock_).run(retention::Job::company_closures, options, "job:test");
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(count("SELECT COUNT(*) FROM company_music WHERE company_id = ?", {company_}), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM company_music WHERE company_id = ?", {other_company_}), 1)
      << "another company's music stays";
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::music);
  EXPECT_EQ(last_change().item_id, company_);
  auto tx = store_->begin(store::TxMode::read);
  auto all = all_music(**tx);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->at(0).company_id, other_company_);
  EXPECT_EQ(all->at(0).duration_ms, 7'000);
}

INSTANTIATE_TEST_SUITE_P(Backends, MusicTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::callflow
