#include "notify/campaigns.h"
#include "common/testing.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "http/server.h"
#include "notify/sms.h"
#include "notify/unsubscribe_routes.h"
#include "notify/unsubscribe_token.h"
#include "consent/consent.h"
#include "ledgers/notice.h"
#include "store/settings.h"
#include "store/test_stores.h"
#include "privacy/settings_change.h"
#include "erasure/erasure.h"

namespace privox::notify {
namespace {

using consent::ConsentMethod;
using consent::ConsentPurpose;

// Stands in for the SIP trunk (not for the store or the mail relay): answers every message with
// `status` on another thread, as the SIP worker would, and keeps what it was asked to send.
class RecordingGateway final : public SmsGateway {
 public:
  void send(Sms sms, std::function<void(int)> done) override {
    {
      std::lock_guard lock(mutex);
      sent.push_back(sms);
    }
    std::thread([done = std::move(done), s = status] { done(s); }).detach();
  }
  std::mutex mutex;
  std::vector<Sms> sent;
  int status = 200;
};

std::string smtp_dir() { return testing::smtp_test_dir(); }

// The delivered messages whose Subject is `subject`, once `expected` have arrived (or 5 s passed).
std::vector<std::string> delivered(const std::string& subject, size_t expected) {
  std::vector<std::string> found;
  for (int i = 0; i < 50; ++i) {
    found.clear();
    for (const auto& entry : std::filesystem::directory_iterator(smtp_dir() + "/maildir/new")) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.find("Subject: " + subject + "\n") != std::string::npos) found.push_back(text);
    }
    if (found.size() >= expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return found;
}

class CampaignsTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_FALSE(smtp_dir().empty()) << "PRIVOX_TEST_SMTP_DIR names no SMTP test server";
    std::ifstream(smtp_dir() + "/url") >> smtp_url_;
    accounts_ = std::make_unique<accounts::Accounts>(*store_, keys_, clock_);
    auto company = accounts_->add_company({"Acme Ltd", "eea", ""}, "t");
    ASSERT_TRUE(company.ok()) << company.error().describe();
    company_ = *company;
  }

  std::string member(const std::string& name, const std::string& phone_suffix, bool email_ok, bool sms_ok) {
    const std::string email = name + "." + new_id(clock_.now_us()).substr(24) + "@example.org";
    auto id = accounts_->add_member(company_,
                                    {{"name", name},
                                     {"email", email},
                                     {"phone", "020 7946 09" + phone_suffix},
                                     {"address", "1 High St"},
                                     {"birth_date", "1990-01-31"},
                                     {"payment_token", "tok_abcdef"},
                                     {"card_brand", "visa"},
                                     {"card_last4", "4242"}},
                                    "t");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    emails_[*id] = email;
    decide(*id, ConsentPurpose::marketing_email, email_ok);
    decide(*id, ConsentPurpose::marketing_sms, sms_ok);
    return *id;
  }

  void decide(const std::string& id, ConsentPurpose purpose, bool given) {
    auto r = ledger().record({id, purpose, given, ConsentMethod::form, "web", ledgers::notice_version()}, "t");
    ASSERT_TRUE(r.ok()) << r.error().describe();
    clock_.advance_us(1000);
  }

  bool holds(const std::string& id, ConsentPurpose purpose) {
    auto current = ledger().current(id);
    EXPECT_TRUE(current.ok());
    const auto it = current->find(purpose);
    return it != current->end() && it->second.given;
  }

  consent::ConsentLedger ledger() { return consent::ConsentLedger(*store_, keys_, clock_); }

  int64_t count(const std::string& sql) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query(sql)->at(0).i64(0);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::unique_ptr<accounts::Accounts> accounts_;
  std::string company_;
  std::string smtp_url_;
  std::map<std::string, std::string> emails_;
};

TEST_P(CampaignsTest, EmailGoesToExactlyTheConsentingMembersOnceWithOneClickUnsubscribe) {
  const std::string ann = member("ann", "51", true, false);
  const std::string bob = member("bob", "52", false, true);
  const std::string cat = member("cat", "53", true, true);
  decide(cat, ConsentPurpose::marketing_email, false);  // withdrawn since
  const std::string dan = member("dan", "54", true, false);
  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, dan, "t", "test").ok());
  const std::string eve = member("eve", "55", true, false);

  Campaigns campaigns(*store_, keys_, clock_);
  const std::string subject = "Spring offer " + new_id(clock_.now_us());
  auto id = campaigns.create(Channel::email, subject, "Two months free.\n.\nBye", "t");
  ASSERT_TRUE(id.ok()) << id.error().describe();
  auto mailer = smtp_mailer({smtp_url_, "news@example.net"});
  auto report = campaigns.send_email(*id, *mailer, "t");
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(report->recipients, 2);
  EXPECT_EQ(report->sent, 2);
  EXPECT_EQ(report->failed, 0);

  const std::vector<std::string> mail = delivered(subject, 2);
  ASSERT_EQ(mail.size(), 2u);
  std::set<std::string> to;
  for (const std::string& m : mail) {
    for (const auto& [member_id, email] : emails_)
      if (m.find("To: " + email) != std::string::npos) to.insert(member_id);
    EXPECT_NE(m.find("List-Unsubscribe: <http://127.0.0.1:8080/unsubscribe?token="), std::string::npos) << m;
    EXPECT_NE(m.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), std::string::npos);
    EXPECT_NE(m.find("\nhttp://127.0.0.1:8080/unsubscribe?token="), std::string::npos) << "the link in the body";
  }
  EXPECT_EQ(to, (std::set<std::string>{ann, eve}));

  // A re-run sends to no one twice; a member who consents later gets it then.
  decide(bob, ConsentPurpose::marketing_email, true);
  auto again = campaigns.send_email(*id, *mailer, "t");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->sent, 1);
  EXPECT_EQ(again->already_sent, 2);
  EXPECT_EQ(delivered(subject, 3).size(), 3u);
  auto shown = campaigns.get(*id);
  EXPECT_EQ(shown->sent, 3);
  EXPECT_GT(shown->sent_at_us, 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'member.show' AND purpose = 'marketing'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'campaign.send'"), 2);
}

TEST_P(CampaignsTest, AnUnreachableRelayFailsTheRunAndARetrySendsThem) {
  member("ann", "61", true, false);
  Campaigns campaigns(*store_, keys_, clock_);
  const std::string subject = "Retry " + new_id(clock_.now_us());
  auto id = campaigns.create(Channel::email, subject, "Hello", "t");
  auto down = smtp_mailer({"smtp://127.0.0.1:1", "news@example.net"});
  auto failed = campaigns.send_email(*id, *down, "t");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::unavailable);
  EXPECT_EQ(campaigns.get(*id)->failed, 1);
  auto up = smtp_mailer({smtp_url_, "news@example.net"});
  auto retried = campaigns.send_email(*id, *up, "t");
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->sent, 1);
  EXPECT_EQ(delivered(subject, 1).size(), 1u);
}

TEST_P(CampaignsTest, BadCampaignsAreRefusedNamingTheField) {
  Campaigns campaigns(*store_, keys_, clock_);
  EXPECT_EQ(campaigns.create(Channel::email, "", "b", "t").error().field, "subject");
  EXPECT_EQ(campaigns.create(Channel::email, "a\r\nBcc: x@y", "b", "t").error().field, "subject");
  EXPECT_EQ(campaigns.create(Channel::email, "s", " \n", "t").error().field, "body");
  EXPECT_EQ(campaigns.create(Channel::sms, "s", std::string(kMaxSmsBody + 1, 'x'), "t").error().field, "body");
  EXPECT_EQ(campaigns.get("nope").error().code, ErrorCode::not_found);
  auto sms = campaigns.create(Channel::sms, "s", "b", "t");
  auto mailer = smtp_mailer({smtp_url_, "news@example.net"});
  EXPECT_EQ(campaigns.send_email(*sms, *mailer, "t").error().field, "id");
  auto email = campaigns.create(Channel::email, "s", "b", "t");
  EXPECT_EQ(campaigns.request_send(*email, "t").error().field, "id");
}

TEST_P(CampaignsTest, SmsGoesToConsentingPhonesThroughTheGatewayOnce) {
  const std::string ann = member("ann", "71", false, true);
  member("bob", "72", true, false);
  Campaigns campaigns(*store_, keys_, clock_);
  auto id = campaigns.create(Channel::sms, "flash sale", "50% off today", "t");
  EXPECT_EQ(campaigns.request_send(*id, "t").error().field, "sms.sender_number") << "no sender number yet";
  ASSERT_TRUE(privacy::change_setting(*store_, keys_, clock_, "sms.sender_number", "+447700900000", "t").ok());
  ASSERT_TRUE(campaigns.request_send(*id, "t").ok());
  EXPECT_EQ(*campaigns.pending_sms(), std::vector<std::string>{*id});
  RecordingGateway gateway;
  auto report = campaigns.send_sms(*id, gateway, "+447700900000", "t");
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(report->sent, 1);
  ASSERT_EQ(gateway.sent.size(), 1u);
  EXPECT_EQ(gateway.sent[0].to, "+442079460971");
  EXPECT_EQ(gateway.sent[0].from, "+447700900000");
  EXPECT_NE(gateway.sent[0].body.find("50% off today"), std::string::npos);
  EXPECT_NE(gateway.sent[0].body.find("STOP"), std::string::npos);
  EXPECT_TRUE(campaigns.pending_sms()->empty());
  EXPECT_EQ(campaigns.send_sms(*id, gateway, "+447700900000", "t")->already_sent, 1);
  EXPECT_EQ(gateway.sent.size(), 1u);
  EXPECT_EQ(campaigns.send_sms(*id, gateway, "", "t").error().field, "sms.sender_number");
}

TEST_P(CampaignsTest, AStopReplyWithdrawsSmsConsentAndIsConfirmedOnce) {
  const std::string ann = member("ann", "81", true, true);
  const std::string bob = member("bob", "82", false, true);
  RecordingGateway gateway;
  StopHandler stop(*store_, keys_, clock_, gateway, "+447700900000");
  EXPECT_EQ(*stop.handle("+442079460981", "hello"), 0);
  EXPECT_EQ(*stop.handle("+449999999999", "STOP"), 0);
  EXPECT_EQ(*stop.handle("not a number", "STOP"), 0);
  EXPECT_TRUE(gateway.sent.empty());
  EXPECT_EQ(*stop.handle("442079460981", "  stop \r\n"), 1);  // carriers may leave out the '+'
  EXPECT_FALSE(holds(ann, ConsentPurpose::marketing_sms));
  EXPECT_TRUE(holds(ann, ConsentPurpose::marketing_email));
  EXPECT_TRUE(holds(bob, ConsentPurpose::marketing_sms));
  auto history = ledger().history(ann);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->back().method, ConsentMethod::sms_reply);
  EXPECT_EQ(history->back().channel, "sms");
  ASSERT_EQ(gateway.sent.size(), 1u);
  EXPECT_EQ(gateway.sent[0].to, "+442079460981");
  EXPECT_EQ(gateway.sent[0].from, "+447700900000");
  EXPECT_EQ(gateway.sent[0].body, kStopConfirmation);

  // Through the queue, as the SIP worker hands it over.
  stop.start();
  stop.on_sms("+442079460982", "Unsubscribe");
  stop.stop();
  EXPECT_FALSE(holds(bob, ConsentPurpose::marketing_sms));
  EXPECT_EQ(gateway.sent.size(), 2u);
}

TEST_P(CampaignsTest, OneClickUnsubscribeWithdrawsEmailConsentOnce) {
  const std::string ann = member("ann", "91", true, true);
  http::Router router;
  add_unsubscribe_routes(router, *store_, keys_, clock_);
  const std::string token = make_unsubscribe_token(keys_, ann, ConsentPurpose::marketing_email);
  auto request = [&](http::bhttp::verb verb, const std::string& target) {
    http::Request req{verb, target, 11};
    req.set(http::bhttp::field::host, "localhost");
    if (verb == http::bhttp::verb::post) {
      req.set(http::bhttp::field::content_type, "application/x-www-form-urlencoded");
      req.body() = "List-Unsubscribe=One-Click";
      req.prepare_payload();
    }
    return router.dispatch(req);
  };
  const http::Response page = request(http::bhttp::verb::get, "/unsubscribe?token=" + token);
  EXPECT_EQ(page.result(), http::bhttp::status::ok);
  EXPECT_NE(page.body().find("<form method=\"post\" action=\"/unsubscribe?token=" + token + "\">"), std::string::npos);
  EXPECT_EQ(page.body().find("<script"), std::string::npos);
  EXPECT_TRUE(holds(ann, ConsentPurpose::marketing_email)) << "a GET changes nothing";

  EXPECT_EQ(request(http::bhttp::verb::post, "/unsubscribe?token=" + token).result(), http::bhttp::status::ok);
  EXPECT_FALSE(holds(ann, ConsentPurpose::marketing_email));
  EXPECT_TRUE(holds(ann, ConsentPurpose::marketing_sms));
  auto history = ledger().history(ann);
  EXPECT_EQ(history->back().method, ConsentMethod::link);
  EXPECT_EQ(history->back().channel, "email");
  EXPECT_EQ(history->back().notice_version, ledgers::notice_version());
  const size_t rows = history->size();
  EXPECT_EQ(request(http::bhttp::verb::post, "/unsubscribe?token=" + token).result(), http::bhttp::status::ok);
  EXPECT_EQ(ledger().history(ann)->size(), rows) << "a second click records nothing more";

  std::string tampered = token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  const http::Response bad = request(http::bhttp::verb::post, "/unsubscribe?token=" + tampered);
  EXPECT_EQ(bad.result(), http::bhttp::status::bad_request);
  EXPECT_NE(bad.body().find("\"field\":\"token\""), std::string::npos) << bad.body();
  EXPECT_EQ(request(http::bhttp::verb::post, "/unsubscribe").result(), http::bhttp::status::bad_request);
  EXPECT_EQ(request(http::bhttp::verb::get, "/unsubscribe?token=x").result(), http::bhttp::status::bad_request);
}

INSTANTIATE_TEST_SUITE_P(Backends, CampaignsTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

TEST(UnsubscribeTokenTest, OnlyGenuineTokensVerify) {
  const privacy::SecretKey master = privacy::SecretKey::random();
  const privacy::Keyring keys = privacy::Keyring::from_master_for_test(master);
  const std::string subject = new_id(1'795'000'000'000'000);
  const std::string token = make_unsubscribe_token(keys, subject, ConsentPurpose::marketing_sms);
  auto ok = verify_unsubscribe_token(keys, token);
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->subject_id, subject);
  EXPECT_EQ(ok->purpose, ConsentPurpose::marketing_sms);
  EXPECT_NE(make_unsubscribe_token(keys, subject, ConsentPurpose::marketing_sms), token) << "a fresh nonce each time";
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);

  const privacy::SecretKey other_master = privacy::SecretKey::random();
  EXPECT_EQ(verify_unsubscribe_token(privacy::Keyring::from_master_for_test(other_master), token).error().field,
            "token");
  for (size_t i = 0; i < token.size(); i += 7) {
    std::string altered = token;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify_unsubscribe_token(keys, altered).ok()) << i;
  }
  for (const std::string& bad : {std::string(), token.substr(1), token + "A", std::string("!!!"), std::string(5000, 'A')})
    EXPECT_EQ(verify_unsubscribe_token(keys, bad).error().field, "token");
}

TEST(TokenMacTest, DependsOnTheMasterKeyTheDomainAndTheMessage) {
  const privacy::SecretKey master = privacy::SecretKey::random();
  const privacy::Keyring keys = privacy::Keyring::from_master_for_test(master);
  const std::string mac = keys.token_mac("unsubscribe", "m");
  EXPECT_EQ(mac.size(), privacy::Keyring::kTokenMacBytes);
  EXPECT_EQ(keys.token_mac("unsubscribe", "m"), mac);
  EXPECT_NE(keys.token_mac("unsubscribe", "n"), mac);
  EXPECT_NE(keys.token_mac("unsubscrib", "em"), mac) << "the domain is length-prefixed";
  const privacy::SecretKey other = privacy::SecretKey::random();
  EXPECT_NE(privacy::Keyring::from_master_for_test(other).token_mac("unsubscribe", "m"), mac);
}

TEST(StopRequestTest, RecognisesStopAndItsSynonymsOnly) {
  for (const char* yes : {"STOP", "stop", "  stop ", "Stop All", "unsubscribe", "END", "quit\r\n", "Cancel"})
    EXPECT_TRUE(is_stop_request(yes)) << yes;
  for (const char* no : {"", "   ", "please stop", "stopp", "STOP ALL NOW", "STOPALL", "yes"})
    EXPECT_FALSE(is_stop_request(no)) << no;
}

}  // namespace
}  // namespace privox::notify
