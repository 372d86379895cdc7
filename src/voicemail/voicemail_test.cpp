#include "voicemail/store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <numbers>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "common/ids.h"
#include "erasure/erasure.h"
#include "ledgers/legal_holds.h"
#include "media/opus.h"
#include "media/prompt.h"
#include "privacy/audit_record.h"
#include "privacy/settings_change.h"
#include "retention/retention.h"
#include "store/test_stores.h"
#include "voicemail/greetings.h"
#include "voicemail/options.h"

namespace privox::voicemail {
namespace {

constexpr int64_t kStart = 1'795'000'000'000'000;
constexpr int64_t kDay = 86'400'000'000;
// Any bytes do: the store neither decodes nor checks the audio. Long enough to be found in a file.
const std::string kAudio = "OggS-voicemail-test-audio-0123456789-abcdefghijklmnopqrstuvwxyz";

// Messages deposited through the StoreSink's own thread and read back, on both backends.
class VoicemailTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    company_ = *accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    other_company_ = *accounts.add_company({"Beta LLC", "us", ""}, "cli:test");
    auto member = accounts.add_member(company_, member_fields("Ada Lovelace", "ada@example.org"), "cli:test");
    ASSERT_TRUE(member.ok()) << member.error().describe();
    member_ = *member;
    accounts::Extensions extensions(*store_, keys_, clock_);
    box_ = *extensions.add_extension({company_, "101", "correct-horse-7", member_, std::nullopt}, "cli:test");
    other_box_ = *extensions.add_extension({other_company_, "201", "correct-horse-9", std::nullopt, std::nullopt},
                                           "cli:test");
    sink_ = std::make_unique<StoreSink>(*store_, keys_, clock_);
  }

  static accounts::FieldValues member_fields(const std::string& name, const std::string& email) {
    return {{"name", name},          {"email", email},           {"phone", "020 7946 0958"},
            {"address", "1 High St"}, {"birth_date", "1990-01-31"}, {"payment_token", "tok_abcdef"}};
  }

  NewMessage message(const std::string& company, const std::string& box, int64_t at_us, bool withheld = false) {
    NewMessage m;
    m.id = new_id(at_us);
    m.company_id = company;
    m.box_id = box;
    m.caller = "+442071239876";
    m.caller_withheld = withheld;
    m.call_record_id = new_id(at_us);
    m.received_at_us = at_us;
    m.duration_ms = 4200;
    m.end_reason = "hangup";
    m.audio = kAudio;
    return m;
  }

  std::string deposit(NewMessage m) {
    std::string id = m.id;
    sink_->deposit(std::move(m));
    EXPECT_TRUE(sink_->flush().ok());
    return id;
  }

  Scope member_scope() const {
    return {privacy::Purpose::service, traffic::Viewer::line_holder, company_, std::vector<std::string>{box_}};
  }

  std::vector<MessageInfo> list(const Scope& scope) {
    auto rows = list_messages(*store_, keys_, clock_, scope, "cli:test");
    EXPECT_TRUE(rows.ok()) << rows.error().describe();
    return rows.ok() ? *rows : std::vector<MessageInfo>{};
  }

  int64_t count(const std::string& sql, const store::Params& params = {}) {
    auto tx = store_->begin(store::TxMode::read);
    auto rows = (*tx)->query(sql, params);
    EXPECT_TRUE(rows.ok()) << rows.error().describe();
    return rows.ok() ? rows->at(0).i64(0) : -1;
  }

  void set(const std::string& key, const std::string& value) {
    const Status s = privacy::change_setting(*store_, keys_, clock_, key, value, "cli:test");
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{kStart};
  std::string company_, other_company_, member_, box_, other_box_;
  std::unique_ptr<StoreSink> sink_;
};

TEST_P(VoicemailTest, ADepositIsListedAndItsAudioIsWhatWasDeposited) {
  const std::string id = deposit(message(company_, box_, kStart - 1000));
  EXPECT_EQ(sink_->stats().stored, 1u);
  auto rows = list(member_scope());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, id);
  EXPECT_EQ(rows[0].box_id, box_);
  EXPECT_EQ(rows[0].caller, "+442071239876");
  EXPECT_EQ(rows[0].duration_ms, 4200);
  EXPECT_EQ(rows[0].end_reason, "hangup");
  EXPECT_EQ(rows[0].heard_at_us, 0);

  auto audio = open_audio(*store_, keys_, clock_, member_scope(), id, "cli:test");
  ASSERT_TRUE(audio.ok()) << audio.error().describe();
  EXPECT_EQ(audio->audio, kAudio);
  // One audit entry per read: the list and the listen, naming the box, never a value.
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'voicemail.list' AND subject_id = ?", {box_}), 1);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'voicemail.listen' AND subject_id = ?", {box_}), 1);
}

TEST_P(VoicemailTest, TheAudioAndTheCallerNeverReachTheStoreInClear) {
  deposit(message(company_, box_, kStart));
  const std::string everything = test_store_->everything_stored(*store_, "voicemail_messages");
  EXPECT_FALSE(test_store_->holds_bytes(everything, Bytes(kAudio.begin(), kAudio.end())));
  const std::string caller = "+442071239876";
  EXPECT_FALSE(test_store_->holds_bytes(everything, Bytes(caller.begin(), caller.end())));
}

TEST_P(VoicemailTest, AWithheldCallerStaysWithheldFromTheBoxsMember) {
  deposit(message(company_, box_, kStart, true));
  auto rows = list(member_scope());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].caller_withheld);
  EXPECT_EQ(rows[0].caller, "withheld");
  // Legal may see it, as for the call log (traffic::shows_withheld_caller).
  auto legal = list({privacy::Purpose::legal, traffic::Viewer::staff, "", std::nullopt});
  ASSERT_EQ(legal.size(), 1u);
  EXPECT_EQ(legal[0].caller, "+442071239876");
}

TEST_P(VoicemailTest, AnotherBoxsMessageReadsAsMissing) {
  const std::string theirs = deposit(message(other_company_, other_box_, kStart));
  EXPECT_TRUE(list(member_scope()).empty());
  auto audio = open_audio(*store_, keys_, clock_, member_scope(), theirs, "cli:test");
  ASSERT_FALSE(audio.ok());
  EXPECT_EQ(audio.error().code, ErrorCode::not_found);
  for (const Status& s : {mark_heard(*store_, clock_, member_scope(), theirs),
                          delete_message(*store_, keys_, clock_, member_scope(), theirs, "cli:test")}) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::not_found);
  }
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages"), 1);
  // A member without lines reaches nothing at all.
  EXPECT_TRUE(list({privacy::Purpose::service, traffic::Viewer::line_holder, company_, std::vector<std::string>{}})
                  .empty());
}

TEST_P(VoicemailTest, HeardMessagesAreCountedApartAndDeletedOnesAreGone) {
  const std::string first = deposit(message(company_, box_, kStart - 2000));
  const std::string second = deposit(message(company_, box_, kStart - 1000));
  ASSERT_TRUE(mark_heard(*store_, clock_, member_scope(), first).ok());
  auto tx = store_->begin(store::TxMode::read);
  auto counts = count_by_box(**tx, {box_, other_box_});
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at(box_).fresh, 1);
  EXPECT_EQ(counts->at(box_).heard, 1);
  EXPECT_FALSE(counts->contains(other_box_));
  tx->reset();
  auto rows = list(member_scope());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, second) << "newest first";
  EXPECT_EQ(rows[1].heard_at_us, kStart);

  ASSERT_TRUE(delete_message(*store_, keys_, clock_, member_scope(), first, "cli:test").ok());
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages WHERE id = ?", {first}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'voicemail.delete'"), 1);
}

TEST_P(VoicemailTest, AFullBoxTakesNoMoreMessages) {
  set("retention.voicemail_max_messages", "2");
  for (int i = 0; i < 3; ++i) deposit(message(company_, box_, kStart + i));
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages"), 2);
  EXPECT_EQ(sink_->stats().box_full, 1u);
}

TEST_P(VoicemailTest, ErasingTheMemberDeletesTheirLinesMessages) {
  deposit(message(company_, box_, kStart));
  deposit(message(other_company_, other_box_, kStart));
  auto erased = erasure::erase_member(*store_, keys_, clock_, member_, "cli:test", "test");
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages WHERE box_id = ?", {box_}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages WHERE box_id = ?", {other_box_}), 1);
  bool reported = false;
  for (const privacy::ErasureItem& item : erased->items)
    if (item.item == "voicemail messages") reported = item.outcome == "erased" && item.count == 1;
  EXPECT_TRUE(reported) << "the erasure report names the messages";
}

TEST_P(VoicemailTest, ABoxWhoseKeyIsGoneGetsNoMessage) {
  {
    auto tx = store_->begin(store::TxMode::write);
    ASSERT_TRUE(privacy::subject_keys::destroy(**tx, box_).ok());
    ASSERT_TRUE((*tx)->commit().ok());
  }
  deposit(message(company_, box_, kStart));
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages"), 0);
  EXPECT_EQ(sink_->stats().erased, 1u);
}

TEST_P(VoicemailTest, OldMessagesExpireExceptUnderALegalHold) {
  const std::string old_msg = deposit(message(company_, box_, kStart - 40 * kDay));
  const std::string old_other = deposit(message(other_company_, other_box_, kStart - 40 * kDay + 1));
  const std::string recent = deposit(message(other_company_, other_box_, kStart - 1 * kDay));
  Result<ExpiryBatch> batch = make_error(ErrorCode::internal, "not run");
  {
    auto tx = store_->begin(store::TxMode::write);
    batch = delete_expired(**tx, kStart - 30 * kDay, 0, "", 100, {box_});
    ASSERT_TRUE(batch.ok()) << batch.error().describe();
    ASSERT_TRUE((*tx)->commit().ok());
  }
  EXPECT_EQ(batch->seen, 2);
  EXPECT_EQ(batch->deleted, 1);
  EXPECT_EQ(batch->held_boxes, std::vector<std::string>{box_});
  EXPECT_EQ(batch->cursor_id, old_other);
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages WHERE id = ?", {old_msg}), 1);
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages WHERE id = ?", {old_other}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages WHERE id = ?", {recent}), 1);
}

// The retention job: past retention.voicemail_max_age_days a message goes, unless a legal hold
// covers its box's member; the hold is reported by the box's id.
TEST_P(VoicemailTest, TheRetentionJobDeletesOldMessagesButNotHeldOnes) {
  set("retention.voicemail_max_age_days", "30");
  const std::string held = deposit(message(company_, box_, kStart - 40 * kDay));
  const std::string old_other = deposit(message(other_company_, other_box_, kStart - 40 * kDay));
  const std::string recent = deposit(message(other_company_, other_box_, kStart - kDay));
  ASSERT_TRUE(ledgers::LegalHolds(*store_, keys_, clock_).place(member_, "litigation", "case 43", "cli:test").ok());
  retention::RetentionJobs jobs(*store_, keys_, clock_);
  auto report = jobs.run(retention::Job::voicemail, {.as_of_us = kStart}, "job:test");
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_TRUE(report->finished);
  EXPECT_EQ(report->changed, 1);
  EXPECT_EQ(report->held_subjects, std::vector<std::string>{box_});
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages WHERE id = ?", {held}), 1);
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages WHERE id = ?", {old_other}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_messages WHERE id = ?", {recent}), 1);
  // A second run at the same time changes nothing.
  auto again = jobs.run(retention::Job::voicemail, {.as_of_us = kStart}, "job:test");
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(again->changed, 0);
}

TEST_P(VoicemailTest, TheBoxesMessagesComeWithTheirAudioForAnExport) {
  deposit(message(company_, box_, kStart - 1000, true));
  deposit(message(other_company_, other_box_, kStart));
  auto tx = store_->begin(store::TxMode::read);
  auto all = messages_of_boxes(**tx, keys_, {box_}, privacy::Purpose::service, traffic::Viewer::line_holder);
  ASSERT_TRUE(all.ok()) << all.error().describe();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].audio, kAudio);
  EXPECT_EQ((*all)[0].info.caller, "withheld");
}

// A 16-bit PCM WAV file written by hand (the 44-byte header): `seconds` of a 440 Hz tone.
std::vector<uint8_t> tone_wav(int rate, int channels, double seconds) {
  const auto frames = static_cast<uint32_t>(rate * seconds);
  const uint32_t data_bytes = frames * static_cast<uint32_t>(channels) * 2;
  std::vector<uint8_t> out;
  auto text = [&](const char* t) { out.insert(out.end(), t, t + 4); };
  auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i))); };
  auto u16 = [&](uint16_t v) { out.push_back(static_cast<uint8_t>(v)); out.push_back(static_cast<uint8_t>(v >> 8)); };
  text("RIFF"); u32(36 + data_bytes); text("WAVE");
  text("fmt "); u32(16); u16(1); u16(static_cast<uint16_t>(channels)); u32(static_cast<uint32_t>(rate));
  u32(static_cast<uint32_t>(rate * channels * 2)); u16(static_cast<uint16_t>(channels * 2)); u16(16);
  text("data"); u32(data_bytes);
  for (uint32_t i = 0; i < frames; ++i) {
    const auto v = static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * 440 * i / rate));
    for (int c = 0; c < channels; ++c) u16(static_cast<uint16_t>(v));
  }
  return out;
}

class GreetingTest : public VoicemailTest {
 protected:
  Result<int64_t> upload(const std::vector<uint8_t>& wav, const Scope& scope) {
    return set_greeting(*store_, keys_, clock_, scope, box_, wav, "cli:test");
  }
  Result<std::optional<std::string>> for_caller(const std::string& box) {
    auto tx = store_->begin(store::TxMode::read);
    return greeting_for_caller(**tx, keys_, box);
  }
};

TEST_P(GreetingTest, AnUploadedGreetingPlaysToCallersAndNeverReachesTheStoreInClear) {
  auto none = for_caller(box_);
  ASSERT_TRUE(none.ok()) << none.error().describe();
  EXPECT_FALSE(none->has_value()) << "no greeting yet: the default one plays";

  auto set = upload(tone_wav(16'000, 2, 2.0), member_scope());
  ASSERT_TRUE(set.ok()) << set.error().describe();
  EXPECT_NEAR(*set, 2000, 20);
  auto ogg = for_caller(box_);
  ASSERT_TRUE(ogg.ok()) << ogg.error().describe();
  ASSERT_TRUE(ogg->has_value());
  auto played = media::load_ogg_opus(**ogg);
  ASSERT_TRUE(played.ok()) << played.error().describe();
  EXPECT_NEAR(static_cast<double>(played->samples.size()), 16'000.0, 800.0) << "~2 s at 8 kHz";

  // Sealed: neither the Ogg stream nor its header is in the table.
  const std::string everything = test_store_->everything_stored(*store_, "voicemail_greetings");
  EXPECT_FALSE(test_store_->holds_bytes(everything, Bytes((*ogg)->begin(), (*ogg)->begin() + 64)));
  EXPECT_FALSE(test_store_->holds_bytes(everything, Bytes{'O', 'p', 'u', 's', 'H', 'e', 'a', 'd'}));

  // The member hears it back (audited), and a new upload replaces it.
  auto mine = greeting_audio(*store_, keys_, clock_, member_scope(), box_, "cli:test");
  ASSERT_TRUE(mine.ok()) << mine.error().describe();
  EXPECT_EQ(*mine, **ogg);
  ASSERT_TRUE(upload(tone_wav(8000, 1, 1.5), member_scope()).ok());
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_greetings"), 1);
  EXPECT_EQ(count("SELECT duration_ms FROM voicemail_greetings WHERE box_id = ?", {box_}), 1500);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'voicemail.greeting_set' AND subject_id = ?", {box_}), 2);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'voicemail.greeting_listen' AND subject_id = ?", {box_}),
            1);

  ASSERT_TRUE(delete_greeting(*store_, keys_, clock_, member_scope(), box_, "cli:test").ok());
  auto gone = for_caller(box_);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  auto again = delete_greeting(*store_, keys_, clock_, member_scope(), box_, "cli:test");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::not_found);
}

TEST_P(GreetingTest, ARefusedUploadNamesItsProblem) {
  auto reason = [&](const std::vector<uint8_t>& wav) {
    auto r = upload(wav, member_scope());
    return r.ok() ? std::string("accepted") : r.error().describe();
  };
  EXPECT_EQ(reason({}), "audio: the file is empty");
  const std::string text = "this is not a sound file at all, just some text of no use";
  EXPECT_EQ(reason(std::vector<uint8_t>(text.begin(), text.end())).rfind("audio: ", 0), 0u);
  EXPECT_NE(reason(tone_wav(8000, 1, 61.0)).find("at most 60 s"), std::string::npos) << reason(tone_wav(8000, 1, 61.0));
  EXPECT_EQ(reason(tone_wav(8000, 1, 0.5)).rfind("audio: ", 0), 0u) << "shorter than 1 s";
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_greetings"), 0);
}

TEST_P(GreetingTest, AnotherMembersOrTenantsLineReadsAsMissing) {
  const Scope theirs{privacy::Purpose::service, traffic::Viewer::line_holder, company_,
                     std::vector<std::string>{other_box_}};
  auto r = set_greeting(*store_, keys_, clock_, member_scope(), other_box_, tone_wav(8000, 1, 1.5), "cli:test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  // Named in the scope's boxes but of another company: still missing.
  r = set_greeting(*store_, keys_, clock_, theirs, other_box_, tone_wav(8000, 1, 1.5), "cli:test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  auto read = greeting_audio(*store_, keys_, clock_, member_scope(), box_, "cli:test");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::not_found) << "no greeting yet";
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_greetings"), 0);
}

TEST_P(GreetingTest, ErasingTheMemberDeletesTheirLinesGreetingAndTheExportHasIt) {
  ASSERT_TRUE(upload(tone_wav(8000, 1, 1.5), member_scope()).ok());
  ASSERT_TRUE(set_greeting(*store_, keys_, clock_, {}, other_box_, tone_wav(8000, 1, 1.5), "cli:test").ok());
  {
    auto tx = store_->begin(store::TxMode::read);
    auto all = greetings_of_boxes(**tx, keys_, {box_});
    ASSERT_TRUE(all.ok()) << all.error().describe();
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].duration_ms, 1500);
    EXPECT_TRUE(media::load_ogg_opus((*all)[0].audio).ok());
  }
  auto erased = erasure::erase_member(*store_, keys_, clock_, member_, "cli:test", "test");
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_greetings WHERE box_id = ?", {box_}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_greetings WHERE box_id = ?", {other_box_}), 1);
  bool reported = false;
  for (const privacy::ErasureItem& item : erased->items)
    if (item.item == "voicemail greetings") reported = item.outcome == "erased" && item.count == 1;
  EXPECT_TRUE(reported) << "the erasure report names the greeting";
}

using BoxOptionsTest = VoicemailTest;

TEST_P(BoxOptionsTest, ThePinIsKeptOnlyAsAnArgon2idHashThatOpensTheBox) {
  const Status set = set_pin(*store_, keys_, clock_, member_scope(), box_, "4821", "cli:test");
  ASSERT_TRUE(set.ok()) << set.error().describe();
  auto tx = store_->begin(store::TxMode::read);
  auto hash = pin_hash_of(**tx, box_);
  ASSERT_TRUE(hash.ok() && hash->has_value());
  EXPECT_TRUE(hash->value().starts_with("$argon2id$")) << "an Argon2id string";
  EXPECT_EQ(hash->value().find("4821"), std::string::npos);
  EXPECT_TRUE(pin_matches(**hash, "4821"));
  EXPECT_FALSE(pin_matches(**hash, "4822"));
  EXPECT_FALSE(pin_matches(**hash, ""));
  auto other = pin_hash_of(**tx, other_box_);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value()) << "a box without a PIN cannot be opened from another line";
}

TEST_P(BoxOptionsTest, AGuessablePinIsRefusedWithoutRepeatingIt) {
  for (const std::string pin : {"123", "1111", "101", "12a4", "1234567890123"}) {
    const Status set = set_pin(*store_, keys_, clock_, member_scope(), box_, pin, "cli:test");
    ASSERT_FALSE(set.ok()) << pin;
    EXPECT_EQ(set.error().code, ErrorCode::invalid_argument) << pin;
    EXPECT_EQ(set.error().field, "pin") << pin;
    EXPECT_EQ(set.error().message.find(pin), std::string::npos) << set.error().message;
  }
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_box_options"), 0);
}

TEST_P(BoxOptionsTest, AnotherMembersOrTenantsBoxReadsAsMissing) {
  const Status pin = set_pin(*store_, keys_, clock_, member_scope(), other_box_, "4821", "cli:test");
  ASSERT_FALSE(pin.ok());
  EXPECT_EQ(pin.error().code, ErrorCode::not_found);
  const Scope tenant{privacy::Purpose::service, traffic::Viewer::staff, other_company_, std::nullopt};
  auto options = box_options(*store_, tenant, box_);
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.error().code, ErrorCode::not_found);
  const Status notice = set_email_notice(*store_, keys_, clock_, tenant, box_, EmailNotice::audio, "cli:test");
  ASSERT_FALSE(notice.ok());
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_box_options"), 0);
}

TEST_P(BoxOptionsTest, TheEmailChoiceIsOffUntilTheMemberChoosesAndThePinCanBeCleared) {
  auto before = box_options(*store_, member_scope(), box_);
  ASSERT_TRUE(before.ok()) << before.error().describe();
  EXPECT_EQ(before->email_notice, EmailNotice::off);
  EXPECT_FALSE(before->has_pin);
  ASSERT_TRUE(set_email_notice(*store_, keys_, clock_, member_scope(), box_, EmailNotice::audio, "cli:test").ok());
  ASSERT_TRUE(set_pin(*store_, keys_, clock_, member_scope(), box_, "4821", "cli:test").ok());
  auto after = box_options(*store_, member_scope(), box_);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->email_notice, EmailNotice::audio) << "setting the PIN kept the email choice";
  EXPECT_TRUE(after->has_pin);
  ASSERT_TRUE(clear_pin(*store_, keys_, clock_, member_scope(), box_, "cli:test").ok());
  const Status again = clear_pin(*store_, keys_, clock_, member_scope(), box_, "cli:test");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().field, "pin");
  {
    auto tx = store_->begin(store::TxMode::read);
    auto notice = email_notice_of(**tx, box_);
    ASSERT_TRUE(notice.ok());
    EXPECT_EQ(*notice, EmailNotice::audio) << "clearing the PIN kept the email choice";
  }
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action LIKE 'voicemail.%'"), 3);
}

TEST_P(BoxOptionsTest, ErasingTheMemberDeletesTheirBoxOptions) {
  ASSERT_TRUE(set_pin(*store_, keys_, clock_, member_scope(), box_, "4821", "cli:test").ok());
  ASSERT_TRUE(set_email_notice(*store_, keys_, clock_, {}, other_box_, EmailNotice::notice, "cli:test").ok());
  auto erased = erasure::erase_member(*store_, keys_, clock_, member_, "cli:test", "test");
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_box_options WHERE box_id = ?", {box_}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM voicemail_box_options WHERE box_id = ?", {other_box_}), 1);
  bool reported = false;
  for (const privacy::ErasureItem& item : erased->items)
    if (item.item == "voicemail PINs and email choices") reported = item.outcome == "erased" && item.count == 1;
  EXPECT_TRUE(reported) << "the erasure report names the options";
}

INSTANTIATE_TEST_SUITE_P(Backends, BoxOptionsTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

INSTANTIATE_TEST_SUITE_P(Backends, GreetingTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

INSTANTIATE_TEST_SUITE_P(Backends, VoicemailTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::voicemail
