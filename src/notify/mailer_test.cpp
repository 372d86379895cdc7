#include "notify/mailer.h"
#include "common/testing.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>

#include "common/ids.h"
#include "notify/message_format.h"

namespace privox::notify {
namespace {

constexpr int64_t kNow = 1'795'000'000'000'000;  // 2026-11-18T...

Email sample() {
  return Email{"ann@example.com", "Hello", "line one\nline two\n", {{"List-Unsubscribe", "<https://x/u?t=1>"}}};
}

TEST(MessageFormatTest, WritesAnRfc5322MessageWithCrlfLineEnds) {
  auto message = format_message("privox@example.net", sample(), kNow);
  ASSERT_TRUE(message.ok()) << message.error().describe();
  const std::string& m = *message;
  EXPECT_NE(m.find("Date: " + rfc5322_date(kNow) + "\r\n"), std::string::npos);
  EXPECT_NE(m.find("@example.net>\r\n"), std::string::npos);
  EXPECT_NE(m.find("From: privox@example.net\r\nTo: ann@example.com\r\nSubject: Hello\r\n"), std::string::npos);
  EXPECT_NE(m.find("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Transfer-Encoding: 7bit\r\n"), std::string::npos);
  EXPECT_NE(m.find("List-Unsubscribe: <https://x/u?t=1>\r\n\r\nline one\r\nline two\r\n"), std::string::npos);
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') {
      EXPECT_TRUE(i > 0 && m[i - 1] == '\r') << "bare LF at " << i;
    }
  }
}

TEST(MessageFormatTest, DatesAreInTheRfc5322Form) {
  EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(rfc5322_date(1'700'000'000'000'000), "Tue, 14 Nov 2023 22:13:20 +0000");
}

TEST(MessageFormatTest, RefusesHeaderInjection) {
  Email e = sample();
  e.subject = "Hi\r\nBcc: victim@example.com";
  EXPECT_EQ(format_message("p@example.net", e, kNow).error().field, "subject");
  e = sample();
  e.headers = {{"X-Note", "a\nBcc: victim@example.com"}};
  EXPECT_EQ(format_message("p@example.net", e, kNow).error().field, "headers.X-Note");
  e.headers = {{"X Note: y\r\nBcc", "v"}};
  EXPECT_EQ(format_message("p@example.net", e, kNow).error().field, "headers");
  e.headers = {{"bcc", "v"}};
  EXPECT_TRUE(format_message("p@example.net", e, kNow).ok());  // a Bcc is a header like any other here
  e.headers = {{"To", "other@example.com"}};
  EXPECT_EQ(format_message("p@example.net", e, kNow).error().field, "headers");
  for (const char* bad : {"", "ann", "ann@", "@example.com", "ann@example.com\r\nRCPT TO:<x@y>",
                          "Ann <ann@example.com>", "a@b.c, d@e.f", "ann@exämple.com"}) {
    auto checked = check_address("to", bad);
    ASSERT_FALSE(checked.ok()) << bad;
    EXPECT_EQ(checked.error().field, "to");
  }
  EXPECT_TRUE(check_address("to", "ann.lee+news@example.co.uk").ok());
}

TEST(MessageFormatTest, EncodesNonAsciiSubjectsAsEncodedWords) {
  EXPECT_EQ(encode_header_value("Hello"), "Hello");
  EXPECT_EQ(encode_header_value("Grüße"), "=?UTF-8?B?R3LDvMOfZQ==?=");
  // A long subject folds into several words, none splitting a character.
  const std::string long_subject(40, 'a');
  const std::string encoded = encode_header_value(long_subject + "ééééééé");
  EXPECT_NE(encoded.find("?=\r\n =?UTF-8?B?"), std::string::npos);
  size_t begin = 0;
  while (begin < encoded.size()) {
    const size_t end = std::min(encoded.find("\r\n", begin), encoded.size());
    EXPECT_LE(end - begin, 76u);
    begin = end + 2;
  }
}

TEST(MessageFormatTest, UsesQuotedPrintableForNonAsciiOrOverlongBodies) {
  Email e = sample();
  e.text = "Prix: 5 €\n" + std::string(1200, 'x') + "\n.dot line\n";
  auto message = format_message("p@example.net", e, kNow);
  ASSERT_TRUE(message.ok());
  EXPECT_NE(message->find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  EXPECT_NE(message->find("Prix: 5 =E2=82=AC\r\n"), std::string::npos);
  const std::string body = message->substr(message->find("\r\n\r\n") + 4);
  size_t begin = 0;
  while (begin < body.size()) {
    const size_t end = body.find("\r\n", begin);
    EXPECT_LE(end - begin, 76u);
    begin = end + 2;
  }
}

TEST(MessageFormatTest, AttachmentsMakeAMultipartMessageWithBase64Parts) {
  std::string audio = "OggS";
  for (int i = 0; i < 300; ++i) audio.push_back(static_cast<char>(i * 7));
  const std::vector<Attachment> files = {{"voicemail-1.opus", "audio/ogg", audio}};
  auto message = format_message("p@example.net", sample(), kNow, files);
  ASSERT_TRUE(message.ok()) << message.error().describe();
  const std::string& m = *message;
  const std::string marker = "Content-Type: multipart/mixed; boundary=\"";
  const size_t at = m.find(marker);
  ASSERT_NE(at, std::string::npos) << m;
  const std::string boundary = m.substr(at + marker.size(), m.find('"', at + marker.size()) - at - marker.size());
  EXPECT_EQ(boundary.rfind("=_privox_", 0), 0u);
  EXPECT_EQ(m.find("Content-Transfer-Encoding", 0), m.find("Content-Transfer-Encoding", m.find("\r\n\r\n")))
      << "the top level has no transfer encoding of its own";
  // The text as the first part, intact, then the file, then the closing delimiter.
  const std::string text_part = "--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                "Content-Transfer-Encoding: 7bit\r\n\r\nline one\r\nline two\r\n\r\n--" + boundary + "\r\n";
  EXPECT_NE(m.find(text_part), std::string::npos) << m;
  EXPECT_NE(m.find("Content-Type: audio/ogg; name=\"voicemail-1.opus\"\r\n"
                   "Content-Disposition: attachment; filename=\"voicemail-1.opus\"\r\n"
                   "Content-Transfer-Encoding: base64\r\n\r\n"),
            std::string::npos);
  ASSERT_TRUE(m.ends_with("\r\n--" + boundary + "--\r\n")) << m;
  const size_t begin = m.find("base64\r\n\r\n") + 10;
  const std::string encoded = m.substr(begin, m.rfind("--" + boundary + "--") - begin);
  size_t line_begin = 0;
  while (line_begin < encoded.size()) {
    const size_t end = encoded.find("\r\n", line_begin);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - line_begin, 76u);
    line_begin = end + 2;
  }
  std::string decoded(encoded.size(), '\0');
  size_t length = 0;
  ASSERT_EQ(sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(), encoded.data(),
                              encoded.size(), "\r\n", &length, nullptr, sodium_base64_VARIANT_ORIGINAL),
            0);
  decoded.resize(length);
  EXPECT_EQ(decoded, audio);
  // No attachments: the plain form, as before.
  EXPECT_EQ(format_message("p@example.net", sample(), kNow, {})->find("multipart"), std::string::npos);
}

TEST(MessageFormatTest, RefusesAnAttachmentWhoseNameOrTypeIsNotPlain) {
  for (const Attachment& bad : {Attachment{"../etc/passwd", "audio/ogg", "x"}, Attachment{"a\"b.opus", "audio/ogg", "x"},
                                Attachment{"", "audio/ogg", "x"}, Attachment{"a.opus", "audio", "x"},
                                Attachment{"a.opus", "audio/ogg\r\nBcc: v@example.com", "x"}}) {
    auto message = format_message("p@example.net", sample(), kNow, std::vector<Attachment>{bad});
    ASSERT_FALSE(message.ok()) << bad.filename << " " << bad.content_type;
    EXPECT_EQ(message.error().field, "attachments");
  }
}

// The delivered file of the message whose Subject is `subject`, waiting up to five seconds.
std::optional<std::string> delivered(const std::string& maildir, const std::string& subject) {
  for (int i = 0; i < 50; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(maildir + "/new")) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.find("Subject: " + subject) != std::string::npos) return text;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::nullopt;
}

std::string mail_server_dir() { return testing::smtp_test_dir(); }

TEST(SmtpMailerTest, TheRelayReceivesTheMessageIntact) {
  const std::string dir = mail_server_dir();
  ASSERT_FALSE(dir.empty()) << "PRIVOX_TEST_SMTP_DIR names no SMTP test server (scripts/test-smtp.sh)";
  std::string url;
  std::ifstream(dir + "/url") >> url;
  auto mailer = smtp_mailer({url, "privox@example.net"});
  const std::string subject = "mailer-test " + new_id(kNow);
  Email e{"ann@example.com", subject, "Hello Ann,\n.\n..two dots\nbye\n", {{"X-Campaign", "c1"}}};
  const uint64_t sent_before = mail_counters().sent.load();
  const Status sent = mailer->send(e);
  ASSERT_TRUE(sent.ok()) << sent.error().describe();
  EXPECT_EQ(mail_counters().sent.load(), sent_before + 1) << "the metrics count it";
  auto text = delivered(dir + "/maildir", subject);
  ASSERT_TRUE(text.has_value()) << "the message did not arrive";
  EXPECT_NE(text->find("From: privox@example.net"), std::string::npos);
  EXPECT_NE(text->find("To: ann@example.com"), std::string::npos);
  EXPECT_NE(text->find("X-Campaign: c1"), std::string::npos);
  EXPECT_NE(text->find("Message-ID: <"), std::string::npos);
  // curl dot-stuffs and the relay unstuffs: lines that start with a dot arrive as written.
  EXPECT_NE(text->find("Hello Ann,\n.\n..two dots\nbye"), std::string::npos) << *text;
}

TEST(SmtpMailerTest, AnUnreachableRelayIsUnavailableAndNamed) {
  auto mailer = smtp_mailer({"smtp://127.0.0.1:1", "privox@example.net"});
  const uint64_t unreachable_before = mail_counters().unreachable.load();
  const uint64_t refused_before = mail_counters().refused.load();
  const Status sent = mailer->send(sample());
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(mail_counters().unreachable.load(), unreachable_before + 1) << "the metrics count it";
  EXPECT_EQ(mail_counters().refused.load(), refused_before);
  EXPECT_EQ(sent.error().code, ErrorCode::unavailable);
  EXPECT_NE(sent.error().message.find("smtp://127.0.0.1:1"), std::string::npos) << sent.error().message;
}

TEST(SmtpMailerTest, RefusesABadRecipientBeforeTalkingToTheRelay) {
  auto mailer = smtp_mailer({"smtp://127.0.0.1:1", "privox@example.net"});
  Email e = sample();
  e.to = "ann@example.com>\r\nRCPT TO:<eve@example.com";
  const Status sent = mailer->send(e);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().field, "to");
}

}  // namespace
}  // namespace privox::notify
