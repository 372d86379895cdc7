#include "rights/requests.h"
#include "common/testing.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cctype>
#include <sodium.h>
#include <zip.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <thread>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "common/ids.h"
#include "consent/consent.h"
#include "ledgers/disclosures.h"
#include "ledgers/legal_holds.h"
#include "consent/optional_data.h"
#include "store/test_stores.h"
#include "traffic/cdr.h"
#include "consent/member_view.h"
#include "voicemail/greetings.h"
#include "voicemail/options.h"
#include "voicemail/store.h"

namespace privox::rights {
namespace {

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kMinute = 60'000'000;

int64_t at(const char* date, int hour = 12) {
  const CivilDate d = *parse_date(date);
  using namespace std::chrono;
  const sys_days day{year_month_day{year{d.year}, month{d.month}, std::chrono::day{d.day}}};
  return duration_cast<microseconds>(day.time_since_epoch()).count() + hour * 3'600'000'000LL;
}

TEST(DeadlineTest, OneCalendarMonthClampedToTheMonthsLastDay) {
  EXPECT_EQ(add_calendar_months(at("2025-01-31"), 1), at("2025-02-28"));
  EXPECT_EQ(add_calendar_months(at("2024-01-31"), 1), at("2024-02-29"));  // leap year
  EXPECT_EQ(add_calendar_months(at("2025-03-15", 9), 1), at("2025-04-15", 9));
  EXPECT_EQ(add_calendar_months(at("2025-12-31"), 1), at("2026-01-31"));
  EXPECT_EQ(add_calendar_months(at("2025-01-31"), 3), at("2025-04-30"));
  EXPECT_EQ(add_calendar_months(at("2025-08-31"), 1), at("2025-09-30"));
}

std::string smtp_dir() { return testing::smtp_test_dir(); }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class RequestsTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_FALSE(smtp_dir().empty()) << "PRIVOX_TEST_SMTP_DIR names no SMTP test server (scripts/test-smtp.sh)";
    std::string url;
    std::ifstream(smtp_dir() + "/url") >> url;
    mailer_ = notify::smtp_mailer({url, "privox@example.net"});
    accounts_ = std::make_unique<accounts::Accounts>(*store_, keys_, clock_);
    requests_ = std::make_unique<Requests>(*store_, keys_, clock_);
    auto company = accounts_->add_company({"Acme Ltd", "eea", ""}, "cli:test");
    ASSERT_TRUE(company.ok()) << company.error().describe();
    company_ = *company;
    email_ = "ann-" + new_id(clock_.now_us()).substr(24) + "@example.com";
    auto member = accounts_->add_member(company_, {{"name", "Ann Lee"}, {"email", email_}, {"phone", "020 7946 0958"},
                                                   {"address", "1 High St"}, {"birth_date", "1990-01-31"},
                                                   {"payment_token", "tok_abcdef"}, {"card_brand", "visa"},
                                                   {"card_last4", "4242"}},
                                        "cli:test");
    ASSERT_TRUE(member.ok()) << member.error().describe();
    member_ = *member;
  }

  // The mail files for this test's member seen so far.
  std::set<std::string> mails() {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(smtp_dir() + "/maildir/new"))
      if (read_file(e.path()).find("To: " + email_) != std::string::npos) out.insert(e.path().string());
    return out;
  }

  // A quoted-printable body (what privox sends when the text is not ASCII, say "£") as its reader
  // sees it; other mail unchanged.
  static std::string decoded(const std::string& message) {
    // The Maildir keeps the message with the line ends the server wrote: LF or CRLF.
    const size_t body = message.find("\n\n");
    if (message.find("Content-Transfer-Encoding: quoted-printable") == std::string::npos || body == std::string::npos)
      return message;
    std::string out = message.substr(0, body + 2);
    auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    for (size_t i = body + 2; i < message.size(); ++i) {
      const bool crlf = i + 2 < message.size() && message[i + 1] == '\r' && message[i + 2] == '\n';
      if (message[i] == '=' && crlf) {
        i += 2;  // a soft line break
      } else if (message[i] == '=' && i + 1 < message.size() && message[i + 1] == '\n') {
        i += 1;
      } else if (message[i] == '=' && i + 2 < message.size() && hex(message[i + 1]) && hex(message[i + 2])) {
        out += static_cast<char>(std::stoi(message.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += message[i];
      }
    }
    return out;
  }

  // Waits (5 s at most) for a mail to the member that `before` did not hold, and returns its text.
  std::string new_mail(const std::set<std::string>& before) {
    for (int i = 0; i < 100; ++i) {
      for (const std::string& p : mails())
        if (!before.contains(p)) return decoded(read_file(p));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "no new mail arrived for " << email_;
    return "";
  }

  // Sends a code and returns it, as the member reads it in their mail.
  std::string send_code(const std::string& id) {
    const auto before = mails();
    auto sent = requests_->send_code(id, *mailer_, "cli:test");
    EXPECT_TRUE(sent.ok()) << sent.error().describe();
    const std::string text = new_mail(before);
    const std::string marker = "enter this code: ";
    const size_t pos = text.find(marker);
    if (pos == std::string::npos) {
      ADD_FAILURE() << "no code in " << text;
      return "";
    }
    return text.substr(pos + marker.size(), 8);
  }

  Request open(RequestKind kind, accounts::FieldValues corrections = {}) {
    auto r = requests_->open({member_, kind, std::move(corrections), "cli"}, "cli:test");
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r.ok() ? *r : Request{};
  }

  // A request of `kind` with identity verified and any fee waived.
  Request in_progress(RequestKind kind, accounts::FieldValues corrections = {}) {
    Request r = open(kind, std::move(corrections));
    auto verified = requests_->verify_code(r.id, send_code(r.id), "cli:test");
    EXPECT_TRUE(verified.ok()) << verified.error().describe();
    if (verified.ok() && verified->state == RequestState::awaiting_fee) {
      verified = requests_->waive_fee(r.id, "hardship", "cli:test");
      EXPECT_TRUE(verified.ok()) << verified.error().describe();
    }
    EXPECT_EQ(verified->state, RequestState::in_progress);
    return *verified;
  }

  std::string add_line(const std::string& number) {
    auto id = accounts::Extensions(*store_, keys_, clock_)
                  .add_extension({company_, number, "correct-horse-7", member_, std::nullopt}, "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return *id;
  }

  void add_call(const std::string& line, const std::string& direction, const std::string& source,
                const std::string& destination, bool withheld, int64_t started) {
    ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                  PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys_, line));
                  PRIVOX_TRY(s.exec(
                      "INSERT INTO traffic_records (id, company_id, subject_id, direction, kind, source_enc, "
                      "destination_enc, source_withheld, started_at_us, answered_at_us, ended_at_us, duration_ms, "
                      "outcome, caller_equipment_enc, updated_at_us) VALUES (?, ?, ?, ?, 'voice', ?, ?, ?, ?, ?, ?, "
                      "?, 'answered', ?, ?)",
                      {new_id(started), company_, line, direction, privacy::seal_field(key, line, "source", source),
                       privacy::seal_field(key, line, "destination", destination), int64_t{withheld ? 1 : 0},
                       started, started + 1'000'000, started + 61'000'000, int64_t{60'000},
                       privacy::seal_field(key, line, "caller_equipment", "Caller-Phone/1.0"), started}));
                  return {};
                }).ok());
  }

  int64_t count(const std::string& sql) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query(sql)->at(0).i64(0);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{at("2025-01-31")};
  std::unique_ptr<notify::Mailer> mailer_;
  std::unique_ptr<accounts::Accounts> accounts_;
  std::unique_ptr<Requests> requests_;
  std::string company_, member_, email_;
};

// Issue 13: the first copy of a person's data is free (UK GDPR Art. 12(5)); the operator's fee is
// for further copies, and is shown as money. A refused request gave no copy, so it does not count.
TEST_P(RequestsTest, TheFirstCopyIsFreeAndTheFeeIsForFurtherCopies) {
  Request first = open(RequestKind::access);
  EXPECT_EQ(first.fee_status, FeeStatus::none);
  EXPECT_EQ(first.fee_minor_units, 0);
  const auto before_refusal = mails();
  auto refused = requests_->refuse(first.id, "we could not confirm the request came from you", *mailer_, "t");
  ASSERT_TRUE(refused.ok()) << refused.error().describe();
  new_mail(before_refusal);  // wait for the refusal's own mail, so the wait below finds the code's
  Request again = open(RequestKind::access);
  EXPECT_EQ(again.fee_status, FeeStatus::none) << "the refused request gave no copy";
  const auto before = mails();
  send_code(again.id);
  // The word, in the body: the headers' address and the body's ids are hex, which can spell "fee".
  const std::string code_mail = new_mail(before);
  EXPECT_FALSE(std::regex_search(code_mail.substr(std::min(code_mail.find("\n\n"), code_mail.size())),
                                 std::regex("\\bfee\\b", std::regex::icase)))
      << "no fee is mentioned on a first copy";

  Request further = open(RequestKind::access);
  EXPECT_EQ(further.fee_status, FeeStatus::due);
  EXPECT_EQ(further.fee_minor_units, 1000);
  EXPECT_EQ(further.to_json(clock_.now_us())["fee"]["amount"], "\u00a310.00");
  const auto later = mails();
  send_code(further.id);
  EXPECT_NE(new_mail(later).find("An administration fee of \u00a310.00 applies"), std::string::npos);
}

TEST_P(RequestsTest, TheDeadlinePausesWhileIdentityAndFeeAreAwaitedAndExtends) {
  EXPECT_EQ(open(RequestKind::access).fee_status, FeeStatus::none) << "the first copy is free";
  Request r = open(RequestKind::access);
  EXPECT_EQ(r.state, RequestState::received);
  EXPECT_EQ(r.due_at_us, at("2025-02-28"));
  EXPECT_EQ(r.fee_status, FeeStatus::due);
  EXPECT_EQ(r.fee_minor_units, 1000);
  EXPECT_EQ(r.fee_currency, "GBP");

  clock_.advance_us(kDay);  // the operator sends the code a day later: not paused until then
  send_code(r.id);
  clock_.advance_us(2 * kDay);
  EXPECT_EQ(requests_->get(r.id)->due_at_us, at("2025-02-28") + 2 * kDay) << "a paused request's due date moves on";
  const std::string code = send_code(r.id);  // the first code lapsed; a new one keeps the clock paused
  auto verified = requests_->verify_code(r.id, code, "cli:test");
  ASSERT_TRUE(verified.ok()) << verified.error().describe();
  EXPECT_EQ(verified->state, RequestState::awaiting_fee);
  EXPECT_TRUE(verified->paused);
  clock_.advance_us(kDay);
  auto waived = requests_->waive_fee(r.id, "member on hardship plan", "cli:test");
  ASSERT_TRUE(waived.ok()) << waived.error().describe();
  EXPECT_EQ(waived->state, RequestState::in_progress);
  EXPECT_FALSE(waived->paused);
  EXPECT_EQ(waived->paused_us, 3 * kDay);
  EXPECT_EQ(waived->due_at_us, at("2025-03-03"));
  clock_.advance_us(10 * kDay);
  EXPECT_EQ(requests_->get(r.id)->due_at_us, at("2025-03-03")) << "the clock runs again";

  auto extended = requests_->extend(r.id, 1, "the records span several systems", *mailer_, "cli:test");
  ASSERT_TRUE(extended.ok()) << extended.error().describe();
  EXPECT_EQ(extended->due_at_us, at("2025-03-31") + 3 * kDay);
  EXPECT_EQ(extended->extension_reason, "the records span several systems");
  auto too_long = requests_->extend(r.id, 2, "more", *mailer_, "cli:test");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().field, "months");
  EXPECT_EQ(requests_->extend(r.id, 3, "x", *mailer_, "cli:test").error().field, "months");
  EXPECT_EQ(requests_->extend(r.id, 1, "  ", *mailer_, "cli:test").error().field, "reason");
  extended = requests_->extend(r.id, 1, "still gathering", *mailer_, "cli:test");
  ASSERT_TRUE(extended.ok()) << extended.error().describe();
  EXPECT_EQ(extended->extension_months, 2);
  EXPECT_EQ(extended->due_at_us, at("2025-04-30") + 3 * kDay);
}

TEST_P(RequestsTest, LeapYearsGiveTheTwentyNinthOfFebruary) {
  // A request cannot predate its member, so this one joins before the leap year.
  clock_.set_us(at("2023-12-01"));
  auto member = accounts_->add_member(company_, {{"name", "Di Leap"}, {"email", "di-" + email_},
                                                 {"phone", "020 7946 0951"}, {"address", "5 High St"},
                                                 {"birth_date", "1981-06-06"}, {"payment_token", "tok_di"}},
                                      "cli:test");
  ASSERT_TRUE(member.ok()) << member.error().describe();
  clock_.set_us(at("2024-01-31", 9));
  auto r = requests_->open({*member, RequestKind::erase, {}, "cli"}, "cli:test");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->due_at_us, at("2024-02-29", 9));
}

TEST_P(RequestsTest, CodesExpireRunOutOfTriesAndOnlyTheRightOneVerifies) {
  Request r = open(RequestKind::erase);
  EXPECT_EQ(r.fee_status, FeeStatus::none) << "only access requests carry the fee";
  EXPECT_EQ(requests_->verify_code(r.id, "12345678", "cli:test").error().code, ErrorCode::conflict)
      << "no code was sent";

  // Expiry (30 minutes by default).
  std::string code = send_code(r.id);
  clock_.advance_us(31 * kMinute);
  auto expired = requests_->verify_code(r.id, code, "cli:test");
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().field, "code");
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos) << expired.error().message;
  EXPECT_EQ(requests_->verify_code(r.id, code, "cli:test").error().field, "code") << "an expired code stays void";

  // Tries (5 by default): four wrong ones leave one; the fifth voids the code, even the right one after it.
  code = send_code(r.id);
  const std::string wrong = code == "00000000" ? "11111111" : "00000000";
  for (int left = 4; left >= 1; --left) {
    auto w = requests_->verify_code(r.id, wrong, "cli:test");
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().message.find(std::to_string(left)), std::string::npos) << w.error().message;
  }
  EXPECT_NE(requests_->verify_code(r.id, wrong, "cli:test").error().message.find("void"), std::string::npos);
  EXPECT_FALSE(requests_->verify_code(r.id, code, "cli:test").ok());
  EXPECT_EQ(requests_->get(r.id)->state, RequestState::awaiting_identity);
  EXPECT_EQ(requests_->verify_code(r.id, "12ab", "cli:test").error().field, "code");

  // A fresh code verifies; only its keyed hash was ever stored.
  code = send_code(r.id);
  EXPECT_EQ(count("SELECT COUNT(*) FROM rights_requests WHERE code_hash IS NOT NULL"), 1);
  auto ok = requests_->verify_code(r.id, code, "cli:test");
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->state, RequestState::in_progress) << "no fee on erasure";
  EXPECT_NE(ok->identity_verified_at_us, 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM rights_requests WHERE code_hash IS NOT NULL"), 0);
  EXPECT_EQ(requests_->verify_code(r.id, code, "cli:test").error().code, ErrorCode::conflict) << "used once";
}

TEST_P(RequestsTest, TheStateMachineRefusesStepsOutOfOrder) {
  EXPECT_EQ(requests_->open({member_, RequestKind::rectify, {}, "cli"}, "t").error().field, "corrections");
  EXPECT_EQ(requests_->open({member_, RequestKind::rectify, {{"shoe_size", "9"}}, "cli"}, "t").error().field,
            "shoe_size");
  EXPECT_EQ(requests_->open({member_, RequestKind::rectify, {{"name", "4111 1111 1111 1111"}}, "cli"}, "t").error().field,
            "name");
  EXPECT_EQ(requests_->open({member_, RequestKind::access, {{"name", "X"}}, "cli"}, "t").error().field, "corrections");
  EXPECT_EQ(requests_->open({"nope", RequestKind::access, {}, "cli"}, "t").error().field, "member");
  EXPECT_EQ(requests_->open({new_id(1), RequestKind::access, {}, "cli"}, "t").error().code, ErrorCode::not_found);
  EXPECT_EQ(requests_->get(new_id(1)).error().code, ErrorCode::not_found);

  open(RequestKind::access);  // the first copy is free: the fee steps below are a further copy's
  Request access = open(RequestKind::access);
  EXPECT_EQ(requests_->complete(access.id, "t").error().code, ErrorCode::conflict);
  testing::TempDir dir;
  EXPECT_EQ(requests_->export_access(access.id, dir.file("x.zip"), "t").error().code, ErrorCode::conflict);
  EXPECT_EQ(requests_->waive_fee(access.id, "", "t").error().field, "waive");
  auto paid = requests_->record_payment(access.id, "PAY-123", "t");  // paid before identity: recorded
  ASSERT_TRUE(paid.ok()) << paid.error().describe();
  EXPECT_EQ(paid->fee_status, FeeStatus::paid);
  EXPECT_EQ(paid->state, RequestState::received);
  EXPECT_EQ(requests_->waive_fee(access.id, "x", "t").error().code, ErrorCode::conflict) << "already paid";
  auto verified = requests_->verify_code(access.id, send_code(access.id), "t");
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->state, RequestState::in_progress) << "the fee was already paid";
  EXPECT_EQ(requests_->complete(access.id, "t").error().code, ErrorCode::conflict) << "export first";

  Request erase = open(RequestKind::erase);
  EXPECT_EQ(requests_->waive_fee(erase.id, "x", "t").error().code, ErrorCode::conflict) << "no fee on erasure";
  const auto before = mails();
  auto refused = requests_->refuse(erase.id, "we could not confirm the request came from you", *mailer_, "t");
  ASSERT_TRUE(refused.ok()) << refused.error().describe();
  EXPECT_EQ(refused->state, RequestState::refused);
  EXPECT_NE(refused->closed_at_us, 0);
  EXPECT_NE(new_mail(before).find("we could not confirm the request came from you"), std::string::npos);
  EXPECT_EQ(requests_->complete(erase.id, "t").error().code, ErrorCode::conflict);
  EXPECT_EQ(requests_->refuse(erase.id, "again", *mailer_, "t").error().code, ErrorCode::conflict);
  EXPECT_EQ(requests_->extend(erase.id, 1, "x", *mailer_, "t").error().code, ErrorCode::conflict);
  EXPECT_EQ(requests_->send_code(erase.id, *mailer_, "t").error().code, ErrorCode::conflict);
}

TEST_P(RequestsTest, TheQueueShowsOverdueRequestsFirstThenByDueDate) {
  Request first = open(RequestKind::access);
  clock_.advance_us(10 * kDay);
  Request second = open(RequestKind::erase);
  clock_.advance_us(kDay);
  Request third = open(RequestKind::erase);
  ASSERT_TRUE(requests_->extend(first.id, 2, "complex", *mailer_, "t").ok());  // first is now due last
  Request refused = open(RequestKind::access);
  ASSERT_TRUE(requests_->refuse(refused.id, "duplicate", *mailer_, "t").ok());
  clock_.set_us(at("2025-03-13"));  // second (due 10 March) is overdue; third is due 11 March
  auto queue = requests_->list();
  ASSERT_TRUE(queue.ok()) << queue.error().describe();
  ASSERT_EQ(queue->size(), 3u) << "closed requests leave the queue";
  EXPECT_EQ((*queue)[0].id, second.id);
  EXPECT_TRUE((*queue)[0].overdue(clock_.now_us()));
  EXPECT_EQ((*queue)[1].id, third.id);
  EXPECT_EQ((*queue)[2].id, first.id);
  EXPECT_FALSE((*queue)[2].overdue(clock_.now_us()));
  EXPECT_EQ(requests_->list({true, ""})->size(), 4u);
  EXPECT_EQ((*queue)[0].to_json(clock_.now_us())["overdue"], true);
}

// Reads every file of a ZIP.
std::map<std::string, std::string> unzip(const std::string& path) {
  std::map<std::string, std::string> out;
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_RDONLY, &error);
  if (!zip) return out;
  for (zip_int64_t i = 0; i < zip_get_num_entries(zip, 0); ++i) {
    zip_stat_t st;
    zip_stat_index(zip, static_cast<zip_uint64_t>(i), 0, &st);
    std::string content(st.size, '\0');
    zip_file_t* f = zip_fopen_index(zip, static_cast<zip_uint64_t>(i), 0);
    zip_fread(f, content.data(), st.size);
    zip_fclose(f);
    out[st.name] = std::move(content);
  }
  zip_close(zip);
  return out;
}

TEST_P(RequestsTest, TheAccessExportHoldsEverythingAndKeepsWithheldCallersWithheld) {
  const std::string line = add_line("201");
  add_call(line, "outbound", "+442079460958", "+442079460999", false, clock_.now_us() - kDay);
  add_call(line, "inbound", "+447700900123", "+442079460958", true, clock_.now_us() - 2 * kDay);
  consent::ConsentLedger consents(*store_, keys_, clock_);
  ASSERT_TRUE(consents.record({member_, consent::ConsentPurpose::location, true, consent::ConsentMethod::form, "web", "v1"}, "t").ok());
  ASSERT_TRUE(consent::OptionalData(*store_, keys_, clock_)
                  .put(member_, consent::OptionalKind::location, {{"lat", 51.5}, {"lon", -0.1}}, "t")
                  .ok());
  // A voicemail left on the line by a caller who withheld their number.
  const std::string voicemail_audio = "OggS-export-test-recording";
  voicemail::NewMessage left{.id = new_id(clock_.now_us()), .company_id = company_, .box_id = line,
                             .caller = "+447700900555", .caller_withheld = true,
                             .received_at_us = clock_.now_us() - kDay, .duration_ms = 3000, .end_reason = "hangup",
                             .audio = voicemail_audio};
  const std::string message_id = left.id;
  {
    voicemail::StoreSink sink(*store_, keys_, clock_);
    sink.deposit(std::move(left));
    ASSERT_TRUE(sink.flush().ok());
  }
  // The line's own greeting: 1.5 s of 8 kHz 16-bit mono silence, a WAV written by hand.
  std::vector<uint8_t> wav;
  auto le = [&](uint32_t v, int n) { for (int i = 0; i < n; ++i) wav.push_back(static_cast<uint8_t>(v >> (8 * i))); };
  const uint32_t data_bytes = 24'000;
  for (const char* t : {"RIFF"}) wav.insert(wav.end(), t, t + 4);
  le(36 + data_bytes, 4);
  for (const char* t : {"WAVEfmt "}) wav.insert(wav.end(), t, t + 8);
  le(16, 4), le(1, 2), le(1, 2), le(8000, 4), le(16000, 4), le(2, 2), le(16, 2);
  for (const char* t : {"data"}) wav.insert(wav.end(), t, t + 4);
  le(data_bytes, 4);
  wav.resize(wav.size() + data_bytes, 0);
  ASSERT_TRUE(voicemail::set_greeting(*store_, keys_, clock_, {}, line, wav, "cli:test").ok());
  // The box's options: a PIN and the email notice with the recording attached.
  ASSERT_TRUE(voicemail::set_pin(*store_, keys_, clock_, {}, line, "4826", "cli:test").ok());
  ASSERT_TRUE(voicemail::set_email_notice(*store_, keys_, clock_, {}, line, voicemail::EmailNotice::audio, "cli:test").ok());

  Request r = in_progress(RequestKind::access);
  testing::TempDir dir;
  auto summary = requests_->export_access(r.id, dir.file("copy.zip"), "cli:test");
  ASSERT_TRUE(summary.ok()) << summary.error().describe();
  EXPECT_EQ(summary->traffic_records, 2);
  const auto files = unzip(dir.file("copy.zip"));
  for (const char* name : {"subject.json", "traffic.csv", "voicemail.json", "audit.json", "disclosures.json",
                           "requests.json", "manifest.json"})
    ASSERT_TRUE(files.contains(name)) << name;
  // The recording as stored, and an index naming it; the withheld caller stays withheld.
  ASSERT_TRUE(files.contains("voicemail/" + message_id + ".opus"));
  EXPECT_EQ(files.at("voicemail/" + message_id + ".opus"), voicemail_audio);
  const auto voicemails = nlohmann::json::parse(files.at("voicemail.json"));
  ASSERT_EQ(voicemails.size(), 1u);
  EXPECT_EQ(voicemails[0]["recording"], "voicemail/" + message_id + ".opus");
  EXPECT_EQ(voicemails[0]["caller"], "withheld");
  EXPECT_EQ(files.at("voicemail.json").find("+447700900555"), std::string::npos);
  ASSERT_TRUE(files.contains("voicemail/greeting-" + line + ".opus"));
  EXPECT_EQ(files.at("voicemail/greeting-" + line + ".opus").rfind("OggS", 0), 0u);
  const auto greetings = nlohmann::json::parse(files.at("voicemail/greetings.json"));
  ASSERT_EQ(greetings.size(), 1u);
  EXPECT_EQ(greetings[0]["duration_ms"], 1500);
  // What she chose for the box, and never the PIN or its hash.
  const auto options = nlohmann::json::parse(files.at("voicemail/options.json"));
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(options[0]["extension_id"], line);
  EXPECT_EQ(options[0]["email_notice"], "audio");
  EXPECT_EQ(options[0]["has_pin"], true);
  for (const auto& [name, content] : files) EXPECT_EQ(content.find("$argon2"), std::string::npos) << name;

  const auto subject = nlohmann::json::parse(files.at("subject.json"));
  EXPECT_EQ(subject["member"]["fields"]["name"], "Ann Lee");
  EXPECT_EQ(subject["member"]["fields"]["email"], email_);
  EXPECT_EQ(subject["member"]["fields"]["card_last4"], "4242") << "in the export though not for purpose legal";
  EXPECT_FALSE(subject["member"]["fields"].contains("payment_token")) << "not in_access_export";
  EXPECT_EQ(subject["member"]["company"]["company_name"], "Acme Ltd");
  EXPECT_EQ(subject["phone_lines"][0]["extension_number"], "201");
  EXPECT_EQ(subject["optional_data"]["location"]["value"]["lat"], 51.5);
  EXPECT_EQ(subject["consents"]["current"][0]["purpose"], "location");
  EXPECT_EQ(subject["consents"]["history"].size(), 1u);

  const std::string& csv = files.at("traffic.csv");
  EXPECT_NE(csv.find("+442079460999"), std::string::npos) << "the member's own call shows its destination";
  EXPECT_EQ(csv.find("+447700900123"), std::string::npos) << "a withheld caller must stay withheld:\n" << csv;
  EXPECT_NE(csv.find("inbound,voice,withheld,1"), std::string::npos) << csv;
  const size_t inbound = csv.find("inbound");
  const std::string inbound_line = csv.substr(inbound, csv.find('\n', inbound) - inbound);
  EXPECT_EQ(inbound_line.find("Caller-Phone/1.0"), std::string::npos) << "nor their device: " << inbound_line;
  EXPECT_NE(csv.find("Caller-Phone/1.0"), std::string::npos) << "the member's own device shows";

  const auto audit = nlohmann::json::parse(files.at("audit.json"));
  std::set<std::string> actions;
  for (const auto& e : audit) actions.insert(e["action"]);
  EXPECT_TRUE(actions.contains("member.add"));
  EXPECT_TRUE(actions.contains("request.open"));
  EXPECT_EQ(files.at("audit.json").find(email_), std::string::npos) << "audit entries hold no values";
  const auto requests = nlohmann::json::parse(files.at("requests.json"));
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["id"], r.id);
  EXPECT_TRUE(nlohmann::json::parse(files.at("disclosures.json")).is_array());

  const auto manifest = nlohmann::json::parse(files.at("manifest.json"));
  EXPECT_EQ(manifest["format_version"], 1);
  EXPECT_EQ(manifest["files"].size(), 10u);  // and the greeting with its index, and the box options
  for (const auto& f : manifest["files"]) {
    const std::string& content = files.at(f["name"]);
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(content.data()), content.size());
    EXPECT_EQ(f["sha256"], to_hex(digest, sizeof digest)) << f["name"];
  }
  EXPECT_EQ(std::filesystem::status(dir.file("copy.zip")).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);

  auto done = requests_->complete(r.id, "cli:test");
  ASSERT_TRUE(done.ok()) << done.error().describe();
  EXPECT_EQ(done->state, RequestState::completed);
  EXPECT_EQ(done->outcome()["export"]["traffic_records"], 2);
}

TEST_P(RequestsTest, TheAccessExportListsEveryReadOfTheMembersLinesOnlyTheirs) {
  const std::string line = add_line("201");
  auto other = accounts::Extensions(*store_, keys_, clock_)
                   .add_extension({company_, "202", "correct-horse-8", std::nullopt, std::nullopt}, "cli:test");
  ASSERT_TRUE(other.ok()) << other.error().describe();
  add_call(line, "outbound", "+442079460958", "+442079460999", false, clock_.now_us() - kDay);
  add_call(*other, "outbound", "+442079460957", "+442079460998", false, clock_.now_us() - kDay);
  // One read of both lines is one audit entry naming both (traffic/cdr.h); one of the other line
  // alone is not the member's business.
  traffic::CdrQuery both;
  both.purpose = privacy::Purpose::support;
  ASSERT_EQ(traffic::list_records(*store_, keys_, clock_, both, "staff-1")->size(), 2u);
  traffic::CdrQuery theirs = both;
  theirs.subject_ids = {*other};
  ASSERT_EQ(traffic::list_records(*store_, keys_, clock_, theirs, "staff-2")->size(), 1u);

  Request r = in_progress(RequestKind::access);
  testing::TempDir dir;
  ASSERT_TRUE(requests_->export_access(r.id, dir.file("copy.zip"), "cli:test").ok());
  std::vector<std::string> readers;
  for (const auto& e : nlohmann::json::parse(unzip(dir.file("copy.zip")).at("audit.json")))
    if (e["action"] == "traffic.list") readers.push_back(e["detail"]["subjects"].contains(line) ? "ok" : e.dump());
  EXPECT_EQ(readers, std::vector<std::string>{"ok"});
}

// Issue 12: an access export holds only what relates to its subject. Another member of the same
// company, Bo, shares every kind of entry the export can include: a staff read of both lines'
// traffic (one audit entry naming both), a retention run that held both, a disclosure naming
// both, a call from Bo's line to the member's, and Bo's own requests. No id of Bo's, nor of
// Bo's line, appears in any file of the member's ZIP.
TEST_P(RequestsTest, AnAccessExportHoldsNoIdOfAnotherSubjectInAnyFile) {
  const std::string line = add_line("201");
  auto bo = accounts_->add_member(company_, {{"name", "Bo Chen"}, {"email", "bo-" + email_}, {"phone", "020 7946 0959"},
                                             {"address", "2 High St"}, {"birth_date", "1985-03-01"},
                                             {"payment_token", "tok_bo"}},
                                  "cli:test");
  ASSERT_TRUE(bo.ok()) << bo.error().describe();
  auto bo_line = accounts::Extensions(*store_, keys_, clock_)
                     .add_extension({company_, "202", "correct-horse-8", *bo, std::nullopt}, "cli:test");
  ASSERT_TRUE(bo_line.ok()) << bo_line.error().describe();
  add_call(line, "inbound", "202", "201", false, clock_.now_us() - kDay);
  add_call(*bo_line, "internal", "202", "201", false, clock_.now_us() - kDay);
  traffic::CdrQuery all;  // billing across every line: one entry naming both lines with counts
  all.purpose = privacy::Purpose::billing;
  ASSERT_EQ(traffic::list_records(*store_, keys_, clock_, all, "staff-1")->size(), 2u);
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                // An entry about the member whose detail names others too, as a batch job's can.
                PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                               .append(s, {"job", "retention.traffic.batch", member_, "legal",
                                           {{"held_subjects", {member_, line, *bo, *bo_line}},
                                            {"subjects", {{line, 1}, {*bo_line, 3}}},
                                            {"other", *bo}}}));
                return {};
              }).ok());
  ledgers::DisclosureRegister reg(*store_, keys_, clock_);
  ASSERT_TRUE(reg.record({"Police", ledgers::DisclosureKind::authority, {privacy::Category::traffic},
                          privacy::LegalBasis::legal_obligation, "order 7", "", {member_, *bo}, ""},
                         "t")
                  .ok());
  ASSERT_TRUE(requests_->open({*bo, RequestKind::access, {}, "cli"}, "t").ok());

  Request r = in_progress(RequestKind::access);
  testing::TempDir dir;
  ASSERT_TRUE(requests_->export_access(r.id, dir.file("copy.zip"), "cli:test").ok());
  const auto files = unzip(dir.file("copy.zip"));
  ASSERT_EQ(files.size(), 7u);  // voicemail.json among them: the member's (empty) index
  for (const auto& [name, content] : files) {
    EXPECT_EQ(content.find(*bo), std::string::npos) << name << " names the other member:\n" << content;
    EXPECT_EQ(content.find(*bo_line), std::string::npos) << name << " names the other member's line:\n" << content;
  }
  // What is the member's own stays: their line's count in the staff read, their own ids.
  const std::string& audit = files.at("audit.json");
  EXPECT_NE(audit.find("\"" + line + "\": 1"), std::string::npos) << audit;
  EXPECT_NE(audit.find("retention.traffic.batch"), std::string::npos);
  EXPECT_NE(files.at("disclosures.json").find("order 7"), std::string::npos);
}

// Issue 12: a correction made directly (the member in the portal, an office manager, staff) goes
// through the same path as a rectification request, so earlier recipients get their notice too.
TEST_P(RequestsTest, ADirectCorrectionNoticesEveryEarlierRecipientAsARequestWould) {
  ledgers::DisclosureRegister reg(*store_, keys_, clock_);
  auto supplier = reg.record({"Mailing House Ltd", ledgers::DisclosureKind::supplier,
                              {privacy::Category::identity_contact}, privacy::LegalBasis::contract, "", "", {member_}, ""},
                             "t");
  ASSERT_TRUE(supplier.ok()) << supplier.error().describe();
  clock_.advance_us(kMinute);
  auto done = requests_->correct_directly(member_, {{"address", "3 New Road"}}, "portal", member_);
  ASSERT_TRUE(done.ok()) << done.error().describe();
  EXPECT_EQ(done->state, RequestState::completed);
  EXPECT_EQ(done->kind, RequestKind::rectify);
  EXPECT_EQ(done->channel, "portal");
  ASSERT_EQ(done->outcome()["notices"].size(), 1u) << done->outcome().dump();
  EXPECT_EQ(done->outcome()["notices"][0]["disclosure_id"], *supplier);
  EXPECT_EQ(count("SELECT COUNT(*) FROM rectification_notices WHERE request_id = '" + done->id + "'"), 1);
  auto shown = consent::show_member(*store_, keys_, clock_, member_, privacy::Purpose::legal, "t");
  EXPECT_EQ((*shown)["fields"]["address"], "3 New Road");

  // A refused correction names its field and records nothing at all.
  const int64_t requests_before = count("SELECT COUNT(*) FROM rights_requests");
  auto bad = requests_->correct_directly(member_, {{"email", "not-an-address"}}, "portal", member_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "email");
  EXPECT_EQ(count("SELECT COUNT(*) FROM rights_requests"), requests_before);
}

// Issue 12: a request entered after it arrived (a letter) carries its real receipt date, and the
// calendar month runs from it, clamped to the month's end.
TEST_P(RequestsTest, ARequestCarriesTheDateItReallyArrived) {
  // The fixture's member joined on 2025-01-31 at noon; another joins in 2023, before a leap year.
  clock_.set_us(at("2023-06-01"));
  auto early = accounts_->add_member(company_, {{"name", "Cy Early"}, {"email", "cy-" + email_},
                                                {"phone", "020 7946 0950"}, {"address", "4 High St"},
                                                {"birth_date", "1980-05-05"}, {"payment_token", "tok_cy"}},
                                     "cli:test");
  ASSERT_TRUE(early.ok()) << early.error().describe();
  clock_.set_us(at("2025-03-10"));
  NewRequest letter{member_, RequestKind::access, {}, "email", at("2025-01-31", 13)};
  auto r = requests_->open(letter, "cli:test");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->received_at_us, at("2025-01-31", 13));
  EXPECT_EQ(r->due_at_us, at("2025-02-28", 13));  // a common year
  EXPECT_EQ(requests_->get(r->id)->due_at_us, at("2025-02-28", 13));
  EXPECT_TRUE(requests_->get(r->id)->overdue(clock_.now_us()));
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'request.open' AND detail LIKE '%received_at%'"), 1);
  auto leap = requests_->open({*early, RequestKind::erase, {}, "email", at("2024-01-31", 10)}, "cli:test");
  ASSERT_TRUE(leap.ok()) << leap.error().describe();
  EXPECT_EQ(leap->due_at_us, at("2024-02-29", 10));  // a leap year

  letter.received_at_us = clock_.now_us() + kDay;
  EXPECT_EQ(requests_->open(letter, "t").error().field, "received_at");
  letter.received_at_us = at("2024-01-01");  // before the member's account was opened
  EXPECT_EQ(requests_->open(letter, "t").error().field, "received_at");
}

TEST_P(RequestsTest, RectificationCorrectsAndNoticesEveryEarlierRecipientOfTheData) {
  ledgers::DisclosureRegister reg(*store_, keys_, clock_);
  auto supplier = reg.record({"Mailing House Ltd", ledgers::DisclosureKind::supplier,
                              {privacy::Category::identity_contact}, privacy::LegalBasis::contract, "", "", {member_}, ""},
                             "t");
  ASSERT_TRUE(supplier.ok()) << supplier.error().describe();
  auto payments = reg.record({"Card Processor plc", ledgers::DisclosureKind::supplier, {privacy::Category::payment},
                              privacy::LegalBasis::contract, "", "", {member_}, ""},
                             "t");
  ASSERT_TRUE(payments.ok()) << payments.error().describe();
  clock_.advance_us(kMinute);

  EXPECT_EQ(requests_->open({member_, RequestKind::rectify, {{"email", "not-an-address"}}, "cli"}, "t").ok(), true)
      << "checked in full when applied";
  Request r = in_progress(RequestKind::rectify, {{"address", "2 Low Road"}, {"name", "Ann Lee-Smith"}});
  EXPECT_EQ(r.correction_fields, (std::vector<std::string>{"address", "name"}));
  {
    auto tx = store_->begin(store::TxMode::read);
    auto rows = (*tx)->query("SELECT corrections_enc FROM rights_requests WHERE id = ?", {r.id});
    const std::string sealed = privox::to_string(rows->at(0).blob(0));
    EXPECT_EQ(sealed.find("Low Road"), std::string::npos) << "corrections are sealed";
  }
  auto done = requests_->complete(r.id, "cli:test");
  ASSERT_TRUE(done.ok()) << done.error().describe();
  EXPECT_EQ(done->outcome()["corrected"], nlohmann::json({"name", "address"}));
  ASSERT_EQ(done->outcome()["notices"].size(), 1u) << done->outcome().dump();
  EXPECT_EQ(done->outcome()["notices"][0]["disclosure_id"], *supplier);
  EXPECT_EQ(done->outcome()["notices"][0]["recipient"], "Mailing House Ltd");
  EXPECT_EQ(count("SELECT COUNT(*) FROM rectification_notices"), 1);
  auto shown = consent::show_member(*store_, keys_, clock_, member_, privacy::Purpose::legal, "t");
  EXPECT_EQ((*shown)["fields"]["address"], "2 Low Road");
  EXPECT_EQ((*shown)["fields"]["name"], "Ann Lee-Smith");

  // A correction that sign-up would refuse is refused by name and leaves the request open.
  Request bad = in_progress(RequestKind::rectify, {{"email", "not-an-address"}});
  auto refused = requests_->complete(bad.id, "t");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "email");
  EXPECT_EQ(requests_->get(bad.id)->state, RequestState::in_progress);
}

TEST_P(RequestsTest, ErasureReportsEveryItemAndDestroysTheKey) {
  const std::string line = add_line("202");
  add_call(line, "outbound", "+442079460958", "+442079460999", false, clock_.now_us() - 10 * kDay);
  add_call(line, "outbound", "+442079460958", "+442079460777", false, clock_.now_us() - 400 * kDay);
  consent::ConsentLedger consents(*store_, keys_, clock_);
  ASSERT_TRUE(consents.record({member_, consent::ConsentPurpose::contacts_sync, true, consent::ConsentMethod::form, "web", "v1"}, "t").ok());
  ASSERT_TRUE(consent::OptionalData(*store_, keys_, clock_)
                  .put(member_, consent::OptionalKind::contacts, nlohmann::json::array({"Bob"}), "t")
                  .ok());
  Request r = in_progress(RequestKind::erase);
  auto done = requests_->complete(r.id, "cli:test");
  ASSERT_TRUE(done.ok()) << done.error().describe();
  std::map<std::string, nlohmann::json> items;
  const nlohmann::json outcome = done->outcome();  // a value: the loop must not range over a temporary
  for (const auto& i : outcome["items"]) items[i["item"]] = i;
  EXPECT_EQ(items["member field email"]["outcome"], "erased");
  EXPECT_EQ(items["optional data contacts"]["outcome"], "erased");
  EXPECT_EQ(items["consent records"]["outcome"], "kept");
  EXPECT_EQ(items["consent records"]["count"], 1);
  const auto& recent = items["traffic records within the billing dispute period"];
  EXPECT_EQ(recent["outcome"], "kept");
  EXPECT_EQ(recent["count"], 1);
  EXPECT_EQ(recent["until"], format_date(utc_date(at("2025-01-31") - 10 * kDay + 180 * kDay)));
  EXPECT_EQ(recent["then"], "anonymised") << "the report says what happens when the period ends";
  EXPECT_NE(recent["exception"].get<std::string>().find("from the end of each call"), std::string::npos);
  EXPECT_EQ(items["traffic records past the billing dispute period"]["outcome"], "anonymised");
  EXPECT_EQ(items["rights requests"]["outcome"], "kept");
  EXPECT_EQ(done->outcome()["member_key"], "destroyed");

  EXPECT_EQ(count("SELECT COUNT(*) FROM subject_keys WHERE subject_id = '" + member_ + "'"), 0);
  auto shown = consent::show_member(*store_, keys_, clock_, member_, privacy::Purpose::legal, "t");
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ((*shown)["status"], "erased");
  EXPECT_FALSE(shown->contains("fields"));
  EXPECT_EQ(count("SELECT COUNT(*) FROM traffic_records WHERE source_enc IS NULL"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM extensions WHERE member_id IS NOT NULL"), 0);
  EXPECT_EQ(requests_->open({member_, RequestKind::access, {}, "cli"}, "t").error().code, ErrorCode::erased);
  EXPECT_EQ(requests_->get(r.id)->state, RequestState::completed) << "the request itself is kept";
}

TEST_P(RequestsTest, ErasureIsRefusedWhileALegalHoldIsInForce) {
  ledgers::LegalHolds holds(*store_, keys_, clock_);
  auto hold = holds.place(member_, "litigation over unpaid invoices", "CLAIM-42", "t");
  ASSERT_TRUE(hold.ok()) << hold.error().describe();
  Request r = in_progress(RequestKind::erase);
  auto refused = requests_->complete(r.id, "t");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::conflict);
  EXPECT_EQ(refused.error().field, "legal_hold");
  EXPECT_NE(refused.error().message.find("litigation over unpaid invoices"), std::string::npos);
  EXPECT_EQ(count("SELECT COUNT(*) FROM subject_keys WHERE subject_id = '" + member_ + "'"), 1) << "nothing erased";
  EXPECT_EQ(requests_->get(r.id)->state, RequestState::in_progress);
  ASSERT_TRUE(holds.release(*hold, "t").ok());
  auto done = requests_->complete(r.id, "t");
  ASSERT_TRUE(done.ok()) << done.error().describe();
  EXPECT_EQ(done->state, RequestState::completed);
}

// Issue 13: the member sees in the request how many tries the code has left, and until when.
TEST_P(RequestsTest, TheRequestShowsTheTriesLeftOfThePendingCode) {
  Request r = open(RequestKind::access);
  EXPECT_FALSE(r.to_json(clock_.now_us()).contains("code")) << "no code before one is sent";
  const std::string code = send_code(r.id);
  Request sent = *requests_->get(r.id);
  EXPECT_EQ(sent.code_tries_left, 5);
  nlohmann::json j = sent.to_json(clock_.now_us());
  EXPECT_EQ(j["code"]["tries_left"], 5);
  EXPECT_EQ(j["code"]["pending"], true);
  EXPECT_EQ(j["code"]["expires_at"], format_utc(clock_.now_us() + 30 * kMinute));
  ASSERT_FALSE(requests_->verify_code(r.id, code == "00000000" ? "11111111" : "00000000", "t").ok());
  EXPECT_EQ(requests_->get(r.id)->to_json(clock_.now_us())["code"]["tries_left"], 4);
  ASSERT_TRUE(requests_->verify_code(r.id, code, "t").ok());
  EXPECT_FALSE(requests_->get(r.id)->to_json(clock_.now_us()).contains("code")) << "nothing pending once verified";
}

// Issue 13: privox produces the copy itself, sealed under the member's own key, offers it for
// rights.download_days, audits each download, and removes it when the time is up.
TEST_P(RequestsTest, TheCopyIsSealedDownloadableByItsMemberOnlyAndRemovedInTime) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("privox-dl-" + new_id(clock_.now_us()));
  Request r = in_progress(RequestKind::access);
  auto done = requests_->produce_download(r.id, dir.string(), "t");
  ASSERT_TRUE(done.ok()) << done.error().describe();
  EXPECT_EQ(done->state, RequestState::completed);
  EXPECT_EQ(download_until_us(*done), clock_.now_us() + 7 * kDay) << "rights.download_days defaults to 7";
  EXPECT_EQ(done->to_json(clock_.now_us())["download"]["available"], true);
  const std::string sealed = read_file(dir / (r.id + ".sealed"));
  ASSERT_FALSE(sealed.empty());
  EXPECT_EQ(sealed.find("manifest.json"), std::string::npos) << "the file on disk is sealed, not a plain ZIP";
  EXPECT_FALSE(std::filesystem::exists(dir / (r.id + ".zip.tmp"))) << "the plain copy does not stay on disk";

  EXPECT_EQ(requests_->read_download(r.id, "someone-else", dir.string(), "t").error().code, ErrorCode::not_found);
  const int64_t downloads_before = count("SELECT COUNT(*) FROM audit_log WHERE action = 'request.download'");
  auto zip = requests_->read_download(r.id, member_, dir.string(), member_);
  ASSERT_TRUE(zip.ok()) << zip.error().describe();
  ASSERT_TRUE(zip->has_value());
  EXPECT_EQ((*zip)->substr(0, 2), "PK");
  EXPECT_NE((*zip)->find("manifest.json"), std::string::npos);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'request.download'"), downloads_before + 1);

  EXPECT_EQ(requests_->remove_expired_downloads(dir.string()).value(), 0) << "still in its period";
  EXPECT_TRUE(std::filesystem::exists(dir / (r.id + ".sealed")));
  clock_.advance_us(7 * kDay);
  EXPECT_EQ(requests_->remove_expired_downloads(dir.string()).value(), 1) << "swept without its member";
  EXPECT_FALSE(std::filesystem::exists(dir / (r.id + ".sealed")));
  auto late = requests_->read_download(r.id, member_, dir.string(), member_);
  ASSERT_TRUE(late.ok()) << late.error().describe();
  EXPECT_FALSE(late->has_value()) << "the period has ended";
  EXPECT_EQ(requests_->get(r.id)->to_json(clock_.now_us())["download"]["available"], false);
  std::filesystem::remove_all(dir);
}

// Crypto-shredding reaches the copy: once the member is erased, the sealed file no longer opens.
TEST_P(RequestsTest, ErasingTheMemberMakesTheirWaitingCopyUnreadable) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("privox-dl-" + new_id(clock_.now_us()));
  Request access = in_progress(RequestKind::access);
  ASSERT_TRUE(requests_->produce_download(access.id, dir.string(), "t").ok());
  Request erase = in_progress(RequestKind::erase);
  ASSERT_TRUE(requests_->complete(erase.id, "t").ok());
  auto zip = requests_->read_download(access.id, member_, dir.string(), member_);
  ASSERT_FALSE(zip.ok());
  EXPECT_EQ(zip.error().code, ErrorCode::erased);
  std::filesystem::remove_all(dir);
}

// Issue 13: the status mails say what changed, the receipt the amount as money, the reference and
// the date.
TEST_P(RequestsTest, StatusMailsCarryTheReceiptAndTheDownloadDate) {
  Request first = in_progress(RequestKind::access);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("privox-dl-" + new_id(clock_.now_us()));
  ASSERT_TRUE(requests_->produce_download(first.id, dir.string(), "t").ok());
  Request r = open(RequestKind::access);
  ASSERT_EQ(r.fee_status, FeeStatus::due) << "a further copy";
  ASSERT_TRUE(requests_->verify_code(r.id, send_code(r.id), "t").ok());
  auto paid = requests_->record_payment(r.id, "ch_abcdefghij", "t");
  ASSERT_TRUE(paid.ok()) << paid.error().describe();
  auto before = mails();
  ASSERT_TRUE(requests_->mail_status(*paid, StatusMail::paid, *mailer_, "t").ok());
  std::string text = new_mail(before);
  EXPECT_NE(text.find("Amount: \u00a310.00"), std::string::npos) << text;
  EXPECT_NE(text.find("Payment reference: ch_abcdefghij"), std::string::npos) << text;
  EXPECT_NE(text.find("Date: " + format_date(utc_date(clock_.now_us()))), std::string::npos) << text;

  auto ready = requests_->produce_download(r.id, dir.string(), "t");
  ASSERT_TRUE(ready.ok()) << ready.error().describe();
  before = mails();
  ASSERT_TRUE(requests_->mail_status(*ready, StatusMail::ready, *mailer_, "t").ok());
  text = new_mail(before);
  EXPECT_NE(text.find("until " + format_date(utc_date(clock_.now_us() + 7 * kDay))), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Backends, RequestsTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::rights
