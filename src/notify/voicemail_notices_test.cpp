#include "notify/voicemail_notices.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <thread>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "common/ids.h"
#include "common/testing.h"
#include "media/opus.h"
#include "media/prompt.h"
#include "store/test_stores.h"
#include "voicemail/options.h"

namespace privox::notify {
namespace {

constexpr int64_t kNoticeStart = 1'795'000'000'000'000;  // 2026-11-18T...
constexpr int64_t kMinute = 60'000'000;

// The relay as a test sees it: every message it took, or a refusal for the next `refuse` sends.
class RecordingMailer final : public Mailer {
 public:
  struct Sent {
    Email email;
    std::vector<Attachment> files;
  };
  using Mailer::send;
  Status send(const Email& email, std::span<const Attachment> attachments) override {
    if (refuse > 0) {
      --refuse;
      return make_error(ErrorCode::unavailable, "550 <" + email.to + ">: mailbox unavailable");
    }
    sent.push_back({email, {attachments.begin(), attachments.end()}});
    return {};
  }
  std::vector<Sent> sent;
  int refuse = 0;
};

// Messages stored through the StoreSink as the SIP side stores them, then a notifier's passes on a
// fake clock, on both backends.
class VoicemailNoticeTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    company_ = *accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    email_ = "vm-" + new_id(kNoticeStart).substr(24) + "@example.org";
    auto member = accounts.add_member(company_,
                                      {{"name", "Ada Lovelace"}, {"email", email_}, {"phone", "020 7946 0958"},
                                       {"address", "1 High St"}, {"birth_date", "1990-01-31"},
                                       {"payment_token", "tok_abcdef"}},
                                      "cli:test");
    ASSERT_TRUE(member.ok()) << member.error().describe();
    member_ = *member;
    accounts::Extensions extensions(*store_, keys_, clock_);
    box_ = *extensions.add_extension({company_, "101", "correct-horse-7", member_, std::nullopt}, "cli:test");
    sink_ = std::make_unique<voicemail::StoreSink>(*store_, keys_, clock_);
  }

  std::unique_ptr<VoicemailNotifier> notifier(std::unique_ptr<Mailer> mailer) {
    VoicemailNoticeOptions options;
    options.portal_url = "https://portal.example";
    options.retry_delays_us = {kMinute, 5 * kMinute};  // three attempts
    return std::make_unique<VoicemailNotifier>(*store_, keys_, clock_, std::move(mailer), options);
  }

  void choose(voicemail::EmailNotice notice) {
    const Status s = voicemail::set_email_notice(*store_, keys_, clock_, {}, box_, notice, "cli:test");
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }

  std::string leave(std::string audio, bool withheld = false) {
    voicemail::NewMessage m;
    m.id = new_id(clock_.now_us());
    m.company_id = company_;
    m.box_id = box_;
    m.caller = "+442071239876";
    m.caller_withheld = withheld;
    m.received_at_us = clock_.now_us();
    m.duration_ms = 65'400;
    m.end_reason = "hangup";
    m.audio = std::move(audio);
    std::string id = m.id;
    sink_->deposit(std::move(m));
    EXPECT_TRUE(sink_->flush().ok());
    clock_.advance_us(1000);
    return id;
  }

  NoticePass pass(VoicemailNotifier& n) {
    auto done = n.run_once();
    EXPECT_TRUE(done.ok()) << done.error().describe();
    return done.ok() ? *done : NoticePass{};
  }

  int64_t owed() {
    auto tx = store_->begin(store::TxMode::read);
    auto due = voicemail::due_notices(**tx, std::numeric_limits<int64_t>::max(), 1000);
    EXPECT_TRUE(due.ok());
    return due.ok() ? static_cast<int64_t>(due->size()) : -1;
  }

  store::Rows audit_of(const std::string& action) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query("SELECT subject_id, detail FROM audit_log WHERE action = ? ORDER BY seq", {action}).value();
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{kNoticeStart};
  std::string company_, member_, email_, box_;
  std::unique_ptr<voicemail::StoreSink> sink_;
};

TEST_P(VoicemailNoticeTest, OffSendsNothingNoticeSendsTheFactsAndAudioAttachesTheRecording) {
  auto owned = std::make_unique<RecordingMailer>();
  RecordingMailer& mailer = *owned;
  auto n = notifier(std::move(owned));
  leave("OggS-left-before-any-choice");
  EXPECT_EQ(pass(*n).sent, 0);
  choose(voicemail::EmailNotice::off);
  leave("OggS-left-while-off");
  EXPECT_EQ(pass(*n).sent, 0);
  EXPECT_TRUE(mailer.sent.empty()) << "messages left before the member chose a notice are not emailed";

  choose(voicemail::EmailNotice::notice);
  const std::string plain = leave("OggS-notice-only");
  EXPECT_EQ(pass(*n).sent, 1);
  ASSERT_EQ(mailer.sent.size(), 1u);
  const Email& notice = mailer.sent[0].email;
  EXPECT_EQ(notice.to, email_);
  EXPECT_EQ(notice.subject, "New voicemail on line 101");
  EXPECT_NE(notice.text.find("When:   2026-11-18 "), std::string::npos) << notice.text;
  EXPECT_NE(notice.text.find(" UTC\n"), std::string::npos) << notice.text;
  EXPECT_NE(notice.text.find("Length: 1 min 05 s"), std::string::npos) << notice.text;
  EXPECT_NE(notice.text.find("From:   +442071239876"), std::string::npos) << notice.text;
  EXPECT_NE(notice.text.find("https://portal.example/voicemail.html"), std::string::npos) << notice.text;
  EXPECT_NE(notice.text.find("not attached"), std::string::npos) << notice.text;
  EXPECT_TRUE(mailer.sent[0].files.empty());
  EXPECT_EQ(pass(*n).sent, 0) << "exactly one email per message";
  EXPECT_EQ(owed(), 0);

  choose(voicemail::EmailNotice::audio);
  const std::string with_audio = leave("OggS-the-recording", true);
  EXPECT_EQ(pass(*n).sent, 1);
  ASSERT_EQ(mailer.sent.size(), 2u);
  const RecordingMailer::Sent& audio = mailer.sent[1];
  EXPECT_NE(audio.email.text.find("From:   withheld"), std::string::npos) << audio.email.text;
  EXPECT_EQ(audio.email.text.find("+442071239876"), std::string::npos) << "a withheld caller stays withheld";
  ASSERT_EQ(audio.files.size(), 1u);
  EXPECT_EQ(audio.files[0].filename, "voicemail-" + with_audio + ".opus");
  EXPECT_EQ(audio.files[0].content_type, "audio/ogg");
  EXPECT_EQ(audio.files[0].data, "OggS-the-recording");
  EXPECT_NE(audio.email.text.find("The recording is attached (voicemail-" + with_audio + ".opus"), std::string::npos);

  // Each email is audited against the box: the message, whether the audio went, the attempt.
  const store::Rows audited = audit_of("voicemail.email");
  ASSERT_EQ(audited.size(), 2u);
  EXPECT_EQ(audited[0].text(0), box_);
  EXPECT_EQ(nlohmann::json::parse(audited[0].text(1)),
            nlohmann::json({{"message", plain}, {"audio", false}, {"attempt", 1}}));
  EXPECT_EQ(nlohmann::json::parse(audited[1].text(1)),
            nlohmann::json({{"message", with_audio}, {"audio", true}, {"attempt", 1}}));
  for (const store::Row& r : audited) EXPECT_EQ(r.text(1).find("OggS"), std::string::npos);
}

TEST_P(VoicemailNoticeTest, AFailedSendIsRetriedOnTheScheduleThenGivenUp) {
  auto owned = std::make_unique<RecordingMailer>();
  RecordingMailer& mailer = *owned;
  auto n = notifier(std::move(owned));
  choose(voicemail::EmailNotice::notice);

  // Refused once, then taken at the first retry, a minute later.
  mailer.refuse = 1;
  leave("OggS-retried");
  EXPECT_EQ(pass(*n).retrying, 1);
  clock_.advance_us(kMinute - 10'000);
  EXPECT_EQ(pass(*n).sent, 0) << "not due before its minute is up";
  clock_.advance_us(10'000);
  EXPECT_EQ(pass(*n).sent, 1);
  EXPECT_EQ(mailer.sent.size(), 1u);

  // Refused three times: given up after the last delay, and never sent.
  mailer.refuse = 3;
  leave("OggS-given-up");
  EXPECT_EQ(pass(*n).retrying, 1);
  clock_.advance_us(kMinute);
  EXPECT_EQ(pass(*n).retrying, 1);
  clock_.advance_us(5 * kMinute);
  EXPECT_EQ(pass(*n).given_up, 1);
  EXPECT_EQ(owed(), 0);
  clock_.advance_us(60 * kMinute);
  EXPECT_EQ(pass(*n).sent, 0);
  EXPECT_EQ(mailer.sent.size(), 1u);
}

TEST_P(VoicemailNoticeTest, ANoticeGoesWithoutAnEmailWhenItIsMoot) {
  auto owned = std::make_unique<RecordingMailer>();
  RecordingMailer& mailer = *owned;
  auto n = notifier(std::move(owned));
  choose(voicemail::EmailNotice::audio);
  const std::string deleted = leave("OggS-deleted-before-the-pass");
  leave("OggS-turned-off-before-the-pass");
  const voicemail::Scope scope{privacy::Purpose::service, traffic::Viewer::line_holder, company_,
                               std::vector<std::string>{box_}};
  ASSERT_TRUE(voicemail::delete_message(*store_, keys_, clock_, scope, deleted, "cli:test").ok());
  EXPECT_EQ(owed(), 1) << "deleting the message removed its notice";
  choose(voicemail::EmailNotice::off);
  EXPECT_EQ(pass(*n).dropped, 1);
  EXPECT_TRUE(mailer.sent.empty());
  EXPECT_EQ(owed(), 0);

  // A line with no member any more: nobody to write to.
  choose(voicemail::EmailNotice::notice);
  leave("OggS-unassigned");
  accounts::Extensions extensions(*store_, keys_, clock_);
  accounts::ExtensionChange unassign;
  unassign.member_id = std::optional<std::string>{};
  ASSERT_TRUE(extensions.update(box_, unassign, "cli:test").ok());
  EXPECT_EQ(pass(*n).dropped, 1);
  EXPECT_TRUE(mailer.sent.empty());
}

// The delivered file for `to`, waiting up to five seconds for `count` of them.
std::vector<std::string> delivered_to(const std::string& maildir, const std::string& to, size_t count) {
  std::vector<std::string> out;
  for (int i = 0; i < 50; ++i) {
    out.clear();
    for (const auto& entry : std::filesystem::directory_iterator(maildir + "/new")) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.find("To: " + to) != std::string::npos) out.push_back(std::move(text));
    }
    if (out.size() >= count) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return out;
}

// The base64 part after `filename`'s headers, decoded.
std::string attachment_of(const std::string& message, const std::string& filename) {
  const size_t header = message.find("filename=\"" + filename + "\"");
  if (header == std::string::npos) return {};
  const size_t begin = message.find("\n\n", header);  // the relay's Maildir stores LF line ends
  const size_t end = message.find("\n--", begin);
  const std::string encoded = message.substr(begin + 2, end - begin - 2);
  std::string raw(encoded.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), encoded.data(), encoded.size(),
                        "\r\n", &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return {};
  raw.resize(length);
  return raw;
}

// End to end with the real SMTP test server: one notice per message, the recording attached only
// for `audio`, and it decodes.
TEST_P(VoicemailNoticeTest, TheRelayGetsOneEmailAndTheAttachedRecordingDecodes) {
  const std::string dir = testing::smtp_test_dir();
  ASSERT_FALSE(dir.empty()) << "PRIVOX_TEST_SMTP_DIR names no SMTP test server (scripts/test-smtp.sh)";
  std::string url;
  std::ifstream(dir + "/url") >> url;
  auto n = notifier(smtp_mailer({url, "voicemail@privox.example"}));
  // Two seconds of a 440 Hz tone, as the media endpoint encodes a message.
  auto writer = media::OpusWriter::create();
  ASSERT_TRUE(writer.ok());
  std::vector<int16_t> pcm(16'000);
  for (size_t i = 0; i < pcm.size(); ++i)
    pcm[i] = static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * 440 * static_cast<double>(i) / 8000));
  ASSERT_TRUE((*writer)->write(pcm).ok());
  auto ogg = (*writer)->finish();
  ASSERT_TRUE(ogg.ok());

  choose(voicemail::EmailNotice::notice);
  leave(*ogg);
  EXPECT_EQ(pass(*n).sent, 1);
  choose(voicemail::EmailNotice::off);
  leave(*ogg);
  EXPECT_EQ(pass(*n).sent, 0);
  choose(voicemail::EmailNotice::audio);
  const std::string attached = leave(*ogg);
  EXPECT_EQ(pass(*n).sent, 1);
  EXPECT_EQ(pass(*n).sent, 0);

  const std::vector<std::string> mails = delivered_to(dir + "/maildir", email_, 2);
  ASSERT_EQ(mails.size(), 2u) << "one email for each message left while the choice was on";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(delivered_to(dir + "/maildir", email_, 3).size(), 2u) << "and no more";
  const std::string& plain = mails[0].find("multipart/mixed") == std::string::npos ? mails[0] : mails[1];
  const std::string& mixed = &plain == &mails[0] ? mails[1] : mails[0];
  EXPECT_NE(plain.find("Subject: New voicemail on line 101"), std::string::npos);
  EXPECT_NE(plain.find("Content-Type: text/plain"), std::string::npos);
  EXPECT_EQ(plain.find("audio/ogg"), std::string::npos);
  EXPECT_NE(mixed.find("Content-Type: multipart/mixed; boundary="), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("Content-Type: audio/ogg; name=\"voicemail-" + attached + ".opus\""), std::string::npos);
  const std::string recording = attachment_of(mixed, "voicemail-" + attached + ".opus");
  ASSERT_EQ(recording.rfind("OggS", 0), 0u) << "the attachment is the Ogg stream";
  EXPECT_EQ(recording, *ogg);
  auto decoded = media::load_ogg_opus(recording);
  ASSERT_TRUE(decoded.ok()) << decoded.error().describe();
  EXPECT_NEAR(decoded->duration_ms(), 2000, 40);
}

INSTANTIATE_TEST_SUITE_P(Backends, VoicemailNoticeTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::notify
