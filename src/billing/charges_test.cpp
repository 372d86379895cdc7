// Charging issued invoices (charges.h), on both backends, against the real stand-in provider
// (`privox tokenizer`'s routes on a port of their own, reached over HTTP as serve reaches it) and
// the SMTP test server: a charge succeeds once; a decline emails the office manager and schedules a
// retry with a new key; a lost answer is asked again with the same key and charges nothing more;
// an office manager's access export holds the company's invoices and a plain member's does not.
#include "billing/charges.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "common/ids.h"
#include "common/testing.h"
#include "notify/mailer.h"
#include "portal/auth.h"
#include "portal/payments.h"
#include "portal/tokenizer.h"
#include "privacy/export_part.h"
#include "rights/fulfil.h"
#include "store/settings.h"
#include "store/test_stores.h"
#include "wallet/top_ups.h"
#include "wallet/wallet.h"

namespace privox::billing {
namespace {

using nlohmann::json;

constexpr const char* kChargeApiKey = "charge-test-api-key-0123456789";

// A provider whose answers are lost on the way back: the charge reaches the real provider, and
// privox hears nothing (as when a connection drops after the request was sent).
class AnswerLosingProvider final : public PaymentProvider {
 public:
  explicit AnswerLosingProvider(PaymentProvider& real) : real_(real) {}
  Result<CardDetails> describe(const std::string& token) override { return real_.describe(token); }
  std::string browser_origin() const override { return real_.browser_origin(); }
  Result<Charge> charge(const ChargeRequest& request) override {
    (void)real_.charge(request);
    return make_error(ErrorCode::unavailable, "the payment provider's answer was lost");
  }
  Result<Refund> refund(const RefundRequest& request) override {
    (void)real_.refund(request);
    return make_error(ErrorCode::unavailable, "the payment provider's answer was lost");
  }

 private:
  PaymentProvider& real_;
};

class ChargeTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    server_ = std::make_unique<http::Server>(io_, tokenizer_.router());
    ASSERT_TRUE(server_->listen({"127.0.0.1", 0}).ok());
    thread_ = std::thread([this] { io_.run(); });
    provider_ = portal::make_http_payment_provider(fmt::format("http://127.0.0.1:{}", server_->local_port()),
                                                   kChargeApiKey);
    set("billing.seat_price_micros", "5000000");
    set("billing.tax_rates", "GB:20");
  }
  void TearDown() override {
    if (!server_) return;
    boost::asio::post(io_, [this] {
      server_->stop();
      io_.stop();
    });
    thread_.join();
  }

  void set(std::string_view key, std::string_view value) {
    const Status s = store::with_transaction(*store_, store::TxMode::write, [&](store::Session& tx) {
      return store::Settings::store_value(tx, key, value, clock_.now_us());
    });
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }

  // A token as the browser gets one from the provider.
  std::string token_for(std::string_view number) {
    http::Request req{http::bhttp::verb::post, "/v1/tokens", 11};
    req.body() = json{{"number", number}, {"exp_month", 12}, {"exp_year", 2031}, {"cvc", "123"}}.dump();
    return json::parse(tokenizer_.router().dispatch(req).body()).value("token", "");
  }

  // A company with one line and a member of `role` whose card is `card`; returns the member's id.
  std::string add_member(const std::string& company, const std::string& email, const std::string& phone,
                         std::string_view card, portal::Role role) {
    auto id = accounts::Accounts(*store_, keys_, clock_)
                  .add_member(company,
                              {{"name", "Ada Lovelace"}, {"email", email}, {"phone", phone}, {"address", "1 Way, London"},
                               {"birth_date", "1990-01-01"}, {"payment_token", token_for(card)}},
                              "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    const Status login = store::with_transaction(*store_, store::TxMode::write, [&](store::Session& tx) {
      return portal::Auth(*store_, keys_, clock_)
          .add_member_login_hashed(tx, *id, company, role, "$argon2id$not-a-real-hash", "cli:test");
    });
    EXPECT_TRUE(login.ok()) << login.error().describe();
    clock_.advance_us(1000);  // logins in order: the first made is the first asked to pay
    return *id;
  }

  // The company's November invoice, issued on 2 December: one seat at 5.00 + 20% = 6.00 GBP.
  Invoice november_invoice(const std::string& company) {
    accounts::Extensions extensions(*store_, keys_, clock_);
    auto ext = extensions.add_extension({company, "101", "correct-horse-7", std::nullopt, std::nullopt}, "cli:test");
    EXPECT_TRUE(ext.ok()) << ext.error().describe();
    clock_.set_us(*parse_time("2026-12-02T09:00:00Z"));
    auto inv = issue_invoice(*store_, keys_, clock_, company, "2026-11", "cli:test");
    EXPECT_TRUE(inv.ok()) << inv.error().describe();
    return inv.ok() ? *inv : Invoice{};
  }

  std::string new_company(const std::string& name) {
    auto id = accounts::Accounts(*store_, keys_, clock_).add_company({name, "eea", "GB"}, "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : "";
  }

  int64_t audit_count(const std::string& action) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query("SELECT count(*) FROM audit_log WHERE action = ?", {action})->at(0).i64(0);
  }

  std::vector<ChargeAttempt> attempts(const std::string& invoice_id) {
    std::vector<ChargeAttempt> out;
    const Status read = store::with_transaction(*store_, store::TxMode::read, [&](store::Session& s) -> Status {
      PRIVOX_ASSIGN(out, charge_attempts(s, invoice_id));
      return {};
    });
    EXPECT_TRUE(read.ok()) << read.error().describe();
    return out;
  }

  // The office manager changes her card on file (the portal's card change, through accounts/).
  void change_card(const std::string& member_id, std::string_view card) {
    const std::string token = token_for(card);
    const Status changed = store::with_transaction(*store_, store::TxMode::write, [&](store::Session& tx) -> Status {
      PRIVOX_TRY(accounts::Accounts(*store_, keys_, clock_).correct_member(tx, member_id, {{"payment_token", token}}, "cli:test"));
      return {};
    });
    ASSERT_TRUE(changed.ok()) << changed.error().describe();
  }

  bool token_kept(const std::string& invoice_id, int64_t attempt) {
    auto tx = store_->begin(store::TxMode::read);
    return !(*tx)->query("SELECT card_token_sealed FROM invoice_charges WHERE invoice_id = ? AND attempt = ?",
                         {invoice_id, attempt})->at(0).is_null(0);
  }

  Invoice credit(const Invoice& inv, int64_t net_micros) {
    auto note = issue_credit_note(*store_, keys_, clock_, inv.id, "one seat unused", net_micros, "cli:test");
    EXPECT_TRUE(note.ok()) << note.error().describe();
    clock_.advance_us(1000);
    return note.ok() ? *note : Invoice{};
  }

  json invoice_json(const std::string& id) {
    json out;
    const Status read = store::with_transaction(*store_, store::TxMode::read, [&](store::Session& s) -> Status {
      PRIVOX_ASSIGN(const std::optional<Invoice> inv, find_invoice(s, id));
      out = to_json(*inv);
      return {};
    });
    EXPECT_TRUE(read.ok()) << read.error().describe();
    return out;
  }

  // Mail through the SMTP test server (scripts/test-smtp.sh), as serve and the CLI send it.
  PayerMail smtp_mail() {
    const std::string dir = testing::smtp_test_dir();
    std::string url;
    std::ifstream(dir + "/url") >> url;
    mailer_ = notify::smtp_mailer({url, "billing@example.net"});
    return [this](const PayerNotice& n) { return mailer_->send({n.to, n.subject, n.text, {}}); };
  }

  // The delivered message to `to` that holds `subject`, looking `tries` times 100 ms apart.
  std::optional<std::string> delivered(const std::string& to, const std::string& subject, int tries = 50) {
    const std::string maildir = testing::smtp_test_dir() + "/maildir/new";
    for (int i = 0; i < tries; ++i) {
      for (const auto& entry : std::filesystem::directory_iterator(maildir)) {
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (text.find("To: " + to) != std::string::npos && text.find(subject) != std::string::npos) return text;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::nullopt;
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{*parse_time("2026-11-10T12:00:00Z")};
  portal::Tokenizer tokenizer_{"http://127.0.0.1:8080", kChargeApiKey, clock_};
  boost::asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  std::unique_ptr<PaymentProvider> provider_;
  std::unique_ptr<notify::Mailer> mailer_;
};

rights::Request request_for(const std::string& id, const std::string& member_id) {
  rights::Request r;
  r.id = id;
  r.member_id = member_id;
  return r;
}

TEST(ChargeRulesTest, KeysRetryDaysAndMinorUnits) {
  EXPECT_EQ(idempotency_key_for("inv-1", 2), "invoice-inv-1-2");
  EXPECT_NE(idempotency_key_for("inv-1", 1), idempotency_key_for("inv-1", 2));
  EXPECT_EQ(*parse_retry_days("1,3,7"), (std::vector<int64_t>{1, 3, 7}));
  for (const char* bad : {"", "0", "1,,3", "61", "x", "1,3,7,1,1,1,1,1,1,1,1"}) {
    auto r = parse_retry_days(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().field, "billing.charge_retry_days") << bad;
  }
  EXPECT_EQ(minor_units(6'000'000, "GBP"), 600);
  EXPECT_EQ(minor_units(6'005'000, "GBP"), 601) << "half up";
  EXPECT_EQ(minor_units(6'004'999, "GBP"), 600);
  EXPECT_EQ(minor_units(6'500'000, "JPY"), 7);
  EXPECT_EQ(minor_units(6'000'500, "KWD"), 6001);
}

TEST_P(ChargeTest, AChargeSucceedsOnceAndTheInvoiceIsPaid) {
  const std::string company = new_company("Paid Promptly Ltd");
  const std::string manager = add_member(company, "om-paid@example.com", "+442079460901", "4242424242424242",
                                         portal::Role::office_manager);
  const Invoice inv = november_invoice(company);
  EXPECT_EQ(invoice_json(inv.id)["payment"]["status"], "due");
  InvoiceCharger charger(*store_, keys_, clock_, *provider_, smtp_mail());
  auto charged = charger.charge(inv.id, "cli:test");
  ASSERT_TRUE(charged.ok()) << charged.error().describe();
  EXPECT_EQ(charged->status, "paid");
  EXPECT_EQ(charged->attempt.amount_minor, 600) << "6.00 GBP in pence";
  EXPECT_EQ(charged->attempt.idempotency_key, idempotency_key_for(inv.id, 1));
  EXPECT_TRUE(charged->attempt.provider_reference.starts_with("ch_")) << charged->attempt.provider_reference;
  EXPECT_FALSE(charged->mailed);
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1);
  const json shown = invoice_json(inv.id);
  EXPECT_EQ(shown["payment"]["status"], "paid");
  EXPECT_EQ(shown["payment"]["reference"], charged->attempt.provider_reference);
  EXPECT_EQ(audit_count("billing.charge_attempt"), 1);
  EXPECT_EQ(audit_count("billing.charge_succeeded"), 1);
  EXPECT_EQ(audit_count("billing.read_payer"), 1) << "the payer's card was read under billing, audited";

  auto again = charger.charge(inv.id, "cli:test");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::conflict) << "a paid invoice is not charged again";
  auto due = charger.charge_due("job:test");
  ASSERT_TRUE(due.ok()) << due.error().describe();
  EXPECT_EQ(due->charged, 0) << "nor by the job";
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1);
  (void)manager;

  // Retention's deletion of the invoice takes its attempts with it (they refer to it).
  const Status expired = store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const InvoiceExpiry gone, delete_expired_invoices(s, clock_.now_us() + 1, 0, "", 10));
    EXPECT_EQ(gone.deleted, 1);
    return {};
  });
  ASSERT_TRUE(expired.ok()) << expired.error().describe();
  EXPECT_TRUE(attempts(inv.id).empty());
}

// serve's job: a round charges what is due, on the node that holds the job lock.
TEST_P(ChargeTest, TheSchedulerChargesTheDueInvoicesInItsRounds) {
  const std::string company = new_company("Scheduled Pay Ltd");
  add_member(company, "om-scheduled@example.com", "+442079460907", "4242424242424242", portal::Role::office_manager);
  const Invoice inv = november_invoice(company);
  InvoiceCharger charger(*store_, keys_, clock_, *provider_, smtp_mail());
  ChargeScheduler jobs(*store_, charger, 50'000);
  jobs.start(0);
  for (int i = 0; i < 200 && jobs.completed_rounds() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  jobs.stop();
  ASSERT_GE(jobs.completed_rounds(), 1u);
  EXPECT_EQ(invoice_json(inv.id)["payment"]["status"], "paid");
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1) << "however many rounds ran";
}

TEST_P(ChargeTest, ADeclineMailsTheOfficeManagerAndRetriesWithANewKeyUntilUnpaid) {
  ASSERT_FALSE(testing::smtp_test_dir().empty()) << "PRIVOX_TEST_SMTP_DIR names no SMTP test server";
  set("billing.charge_retry_days", "1,3");
  const std::string company = new_company("Declined Often Ltd");
  // A plain member with a good card is never the payer; the office manager with the declining card is.
  // Addresses of this run only: the SMTP test server's Maildir is shared with every test.
  const std::string run = new_id(clock_.now_us());
  const std::string manager_email = "om-declined-" + run + "@example.com";
  const std::string member_email = "member-declined-" + run + "@example.com";
  add_member(company, member_email, "+442079460902", "4242424242424242", portal::Role::member);
  add_member(company, manager_email, "+442079460903", portal::kDecliningCard, portal::Role::office_manager);
  const Invoice inv = november_invoice(company);
  InvoiceCharger charger(*store_, keys_, clock_, *provider_, smtp_mail());

  auto first = charger.charge_due("job:test");
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ(first->declined, 1);
  std::vector<ChargeAttempt> tried = attempts(inv.id);
  ASSERT_EQ(tried.size(), 1u);
  EXPECT_EQ(tried[0].state, "declined");
  EXPECT_EQ(tried[0].message, "your card was declined by its bank");
  ASSERT_TRUE(tried[0].next_attempt_at_us.has_value());
  EXPECT_EQ(*tried[0].next_attempt_at_us, clock_.now_us() + 86'400'000'000) << "the first retry a day later";
  const json shown = invoice_json(inv.id);
  EXPECT_EQ(shown["payment"]["status"], "declined");
  EXPECT_EQ(shown["payment"]["next_attempt_at"], format_utc(*tried[0].next_attempt_at_us));
  auto mail = delivered(manager_email, "Payment of invoice " + number_text(inv));
  ASSERT_TRUE(mail.has_value()) << "the office manager was told through the SMTP server";
  EXPECT_NE(mail->find("6.00 GBP"), std::string::npos) << *mail;
  EXPECT_NE(mail->find("try again on 2026-12-03"), std::string::npos) << *mail;
  // Sent by the same call as the manager's, so it would be there by now.
  EXPECT_FALSE(delivered(member_email, number_text(inv), 1).has_value()) << "a plain member is not the payer";
  EXPECT_EQ(audit_count("billing.charge_mail"), 1);

  auto early = charger.charge_due("job:test");
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->charged, 0) << "nothing before the retry is due";
  clock_.advance_us(86'400'000'000);
  auto second = charger.charge_due("job:test");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->declined, 1);
  tried = attempts(inv.id);
  ASSERT_EQ(tried.size(), 2u);
  EXPECT_EQ(tried[1].idempotency_key, idempotency_key_for(inv.id, 2)) << "a retry after a decline is a new key";
  EXPECT_NE(tried[1].idempotency_key, tried[0].idempotency_key);
  ASSERT_TRUE(tried[1].next_attempt_at_us.has_value());
  EXPECT_EQ(*tried[1].next_attempt_at_us, clock_.now_us() + 3 * 86'400'000'000);

  clock_.advance_us(3 * 86'400'000'000);
  auto last = charger.charge_due("job:test");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(invoice_json(inv.id)["payment"]["status"], "unpaid") << "after the last retry";
  EXPECT_EQ(audit_count("billing.invoice_unpaid"), 1);
  auto last_mail = delivered(manager_email, "That was our last try");
  ASSERT_TRUE(last_mail.has_value()) << "the last decline is mailed too, saying the invoice is unpaid";
  clock_.advance_us(30 * 86'400'000'000);
  EXPECT_EQ(charger.charge_due("job:test")->charged, 0) << "an unpaid invoice waits for the operator";
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 0);
}

TEST_P(ChargeTest, ALostAnswerIsAskedAgainWithTheSameKeyAndChargesOnce) {
  const std::string company = new_company("Flaky Line Ltd");
  add_member(company, "om-flaky@example.com", "+442079460904", "4242424242424242", portal::Role::office_manager);
  const Invoice inv = november_invoice(company);

  // The provider cannot be reached at all: the attempt stays pending, nothing is charged.
  auto nowhere = portal::make_http_payment_provider("http://127.0.0.1:1", kChargeApiKey);
  auto down = InvoiceCharger(*store_, keys_, clock_, *nowhere, smtp_mail()).charge(inv.id, "cli:test");
  ASSERT_TRUE(down.ok()) << down.error().describe();
  EXPECT_EQ(down->status, "pending");
  EXPECT_FALSE(down->mailed) << "the provider's outage is not the payer's to hear of";

  // The charge reaches the provider but its answer is lost.
  AnswerLosingProvider lossy(*provider_);
  auto lost = InvoiceCharger(*store_, keys_, clock_, lossy, smtp_mail()).charge(inv.id, "cli:test");
  ASSERT_TRUE(lost.ok()) << lost.error().describe();
  EXPECT_EQ(lost->status, "pending");
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1) << "the provider did charge";

  // An hour later the job asks again, with the same key: the provider replays its first answer.
  clock_.advance_us(3'600'000'000);
  InvoiceCharger charger(*store_, keys_, clock_, *provider_, smtp_mail());
  auto run = charger.charge_due("job:test");
  ASSERT_TRUE(run.ok()) << run.error().describe();
  EXPECT_EQ(run->succeeded, 1);
  const std::vector<ChargeAttempt> tried = attempts(inv.id);
  ASSERT_EQ(tried.size(), 1u) << "one attempt, one key, throughout";
  EXPECT_EQ(tried[0].idempotency_key, idempotency_key_for(inv.id, 1));
  EXPECT_EQ(tried[0].state, "succeeded");
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1) << "never charged twice";
  EXPECT_EQ(audit_count("billing.charge_unavailable"), 2);
}

// Issue 17's gap: the office manager changes her card while an attempt's answer is lost. The retry
// must send the card the key was first sent with; with the new card the provider refuses the key
// (409), and that used to be taken for an outage and asked again every hour for ever.
TEST_P(ChargeTest, ACardChangeWhileAnAttemptIsPendingResendsTheStoredCardAndChargesOnce) {
  const std::string company = new_company("Card Swap Ltd");
  const std::string manager = add_member(company, "om-swap@example.com", "+442079460911", "4242424242424242",
                                         portal::Role::office_manager);
  const Invoice inv = november_invoice(company);
  AnswerLosingProvider lossy(*provider_);
  auto lost = InvoiceCharger(*store_, keys_, clock_, lossy, smtp_mail()).charge(inv.id, "cli:test");
  ASSERT_TRUE(lost.ok()) << lost.error().describe();
  EXPECT_EQ(lost->status, "pending");
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1) << "the provider did charge the first card";
  EXPECT_TRUE(token_kept(inv.id, 1)) << "the pending attempt keeps the token it sent";

  change_card(manager, "5555555555554444");
  clock_.advance_us(3'600'000'000);
  InvoiceCharger charger(*store_, keys_, clock_, *provider_, smtp_mail());
  auto run = charger.charge_due("job:test");
  ASSERT_TRUE(run.ok()) << run.error().describe();
  EXPECT_EQ(run->succeeded, 1) << "the first card's charge, replayed under its key";
  EXPECT_EQ(run->key_conflicts, 0);
  const std::vector<ChargeAttempt> tried = attempts(inv.id);
  ASSERT_EQ(tried.size(), 1u);
  EXPECT_EQ(tried[0].state, "succeeded");
  EXPECT_EQ(tried[0].amount_minor, 600);
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1) << "never charged twice, and the new card not at all";
  EXPECT_FALSE(token_kept(inv.id, 1)) << "the token is dropped once the attempt has ended";
  EXPECT_EQ(audit_count("billing.charge_key_conflict"), 0);
}

// Issue 17: a top-up whose provider answer was lost stayed pending until the same office manager
// topped up again. The scheduler's round now asks again once the answer is overdue, with the card
// the top-up was first sent with, even after a card change: charged once, credited once.
TEST_P(ChargeTest, ALostTopUpAnswerIsSettledByTheRoundWithTheCardItWasSentWith) {
  const std::string company = new_company("Top Up Ltd");
  const std::string manager = add_member(company, "om-topup@example.com", "+442079460913", "4242424242424242",
                                         portal::Role::office_manager);
  auto begun = wallet::begin_top_up(*store_, keys_, clock_, {5'000'000, 500'000'000}, company, "key-lost", 10'000'000,
                                    "GBP", token_for("4242424242424242"), manager);
  ASSERT_TRUE(begun.ok()) << begun.error().describe();
  AnswerLosingProvider lossy(*provider_);
  auto lost = settle_top_up(*store_, keys_, clock_, lossy, begun->top_up, "", manager);
  ASSERT_TRUE(lost.ok()) << lost.error().describe();
  EXPECT_EQ(lost->state, "pending");
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1) << "the provider did charge the card";

  change_card(manager, "5555555555554444");
  InvoiceCharger charger(*store_, keys_, clock_, *provider_, smtp_mail());
  auto early = charger.settle_top_ups("job:test");
  ASSERT_TRUE(early.ok()) << early.error().describe();
  EXPECT_EQ(early->asked, 0u) << "not while its own request may still be waiting for the answer";
  clock_.advance_us(kStalePendingTopUpUs + 1);
  auto run = charger.settle_top_ups("job:test");
  ASSERT_TRUE(run.ok()) << run.error().describe();
  EXPECT_EQ(run->asked, 1u);
  EXPECT_EQ(run->succeeded, 1u) << "the first card's charge, replayed under its key";
  EXPECT_EQ(run->errors, 0u);
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1) << "never charged twice, and the new card not at all";
  EXPECT_EQ(wallet::wallet_of(*store_, clock_, company)->balance_micros, 10'000'000);
  EXPECT_EQ(*wallet::sent_card_token(*store_, keys_, begun->top_up.id), "") << "dropped once it has ended";
  EXPECT_EQ(charger.settle_top_ups("job:test")->asked, 0u);
  EXPECT_EQ(wallet::wallet_of(*store_, clock_, company)->balance_micros, 10'000'000) << "credited once";
}

// A 409 that still comes back (the key was used with other values, by a restored backup, say) is
// a definite failure of that attempt: recorded, audited, left to the operator, never asked again
// under that key; the retry schedule goes on with a new key.
TEST_P(ChargeTest, AKeyTheProviderRefusesFailsTheAttemptOnceAndTheScheduleGoesOn) {
  set("billing.charge_retry_days", "1");
  const std::string company = new_company("Reused Key Ltd");
  add_member(company, "om-reused@example.com", "+442079460912", "4242424242424242", portal::Role::office_manager);
  const Invoice inv = november_invoice(company);
  auto other = provider_->charge({token_for("4242424242424242"), 999, "GBP", idempotency_key_for(inv.id, 1)});
  ASSERT_TRUE(other.ok()) << other.error().describe();
  InvoiceCharger charger(*store_, keys_, clock_, *provider_, smtp_mail());
  auto refused = charger.charge(inv.id, "cli:test");
  ASSERT_TRUE(refused.ok()) << refused.error().describe();
  EXPECT_EQ(refused->attempt.state, "failed");
  EXPECT_TRUE(refused->key_conflict);
  EXPECT_FALSE(refused->mailed) << "the card is not at fault: the operator is told, not the payer";
  EXPECT_NE(refused->attempt.message.find("refused the key"), std::string::npos) << refused->attempt.message;
  EXPECT_EQ(invoice_json(inv.id)["payment"]["status"], "failed");
  EXPECT_EQ(audit_count("billing.charge_key_conflict"), 1);
  EXPECT_EQ(audit_count("billing.charge_failed"), 1);
  EXPECT_EQ(audit_count("billing.charge_mail"), 0);

  clock_.advance_us(3'600'000'000);
  EXPECT_EQ(charger.charge_due("job:test")->charged, 0) << "not asked again an hour later";
  clock_.advance_us(86'400'000'000);
  auto next = charger.charge_due("job:test");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->succeeded, 1) << "the next attempt, a new key, a day later";
  EXPECT_EQ(attempts(inv.id).at(1).idempotency_key, idempotency_key_for(inv.id, 2));
  EXPECT_EQ(invoice_json(inv.id)["payment"]["status"], "paid");
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 2) << "the other charge and this invoice's, once";
}

TEST_P(ChargeTest, ACreditNoteOnAPaidInvoiceIsRefundedOnceUnderItsOwnKey) {
  const std::string company = new_company("Refunded Ltd");
  add_member(company, "om-refund@example.com", "+442079460913", "4242424242424242", portal::Role::office_manager);
  const Invoice inv = november_invoice(company);
  InvoiceCharger charger(*store_, keys_, clock_, *provider_, smtp_mail());
  const Invoice unpaid_note = credit(inv, 500'000);  // 0.50 + 20%: deducted from the charge
  auto before = charger.refund(unpaid_note.id, "cli:test");
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().code, ErrorCode::conflict) << "an unpaid invoice's note is deducted, not refunded";
  auto paid = charger.charge(inv.id, "cli:test");
  ASSERT_TRUE(paid.ok()) << paid.error().describe();
  EXPECT_EQ(paid->attempt.amount_minor, 540) << "6.00 less the note's 0.60";

  const Invoice note = credit(inv, 1'000'000);  // 1.00 + 20% = 1.20 GBP
  auto run = charger.refund_due("job:test");
  ASSERT_TRUE(run.ok()) << run.error().describe();
  EXPECT_EQ(run->succeeded, 1);
  EXPECT_EQ(run->not_needed, 1) << "the note the charge deducted";
  EXPECT_EQ(tokenizer_.refunds_made_for_test(), 1);
  EXPECT_EQ(tokenizer_.refunded_for_test(paid->attempt.provider_reference), 120);
  const json shown = invoice_json(note.id);
  EXPECT_EQ(shown["refund"]["status"], "succeeded");
  EXPECT_EQ(shown["refund"]["amount"], "1.20");
  EXPECT_TRUE(shown["refund"]["reference"].get<std::string>().starts_with("re_")) << shown.dump();
  EXPECT_EQ(invoice_json(unpaid_note.id)["refund"]["status"], "not_needed");
  EXPECT_EQ(invoice_json(inv.id)["payment"]["refunded"], "1.20");
  EXPECT_EQ(audit_count("billing.refund_attempt"), 1);
  EXPECT_EQ(audit_count("billing.refund_succeeded"), 1);
  EXPECT_EQ(audit_count("billing.refund_not_needed"), 1);

  auto again = charger.refund(note.id, "cli:test");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::conflict) << "a refund is made once";
  EXPECT_EQ(charger.refund_due("job:test")->refunds, 0);
  auto not_a_note = charger.refund(inv.id, "cli:test");
  ASSERT_FALSE(not_a_note.ok());
  EXPECT_EQ(not_a_note.error().field, "id");
  EXPECT_EQ(tokenizer_.refunds_made_for_test(), 1);

  // Retention deletes the invoice with its notes, attempts and refunds (they refer to it).
  const Status expired = store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const InvoiceExpiry gone, delete_expired_invoices(s, clock_.now_us() + 1, 0, "", 10));
    EXPECT_EQ(gone.deleted, 1);
    PRIVOX_ASSIGN(const std::optional<RefundRecord> left, refund_of(s, note.id));
    EXPECT_FALSE(left.has_value());
    return {};
  });
  ASSERT_TRUE(expired.ok()) << expired.error().describe();
}

TEST_P(ChargeTest, ARefundWhoseAnswerIsLostIsAskedAgainWithTheSameKeyAndNeverExceedsTheCharge) {
  const std::string company = new_company("Lost Refund Ltd");
  add_member(company, "om-lostrefund@example.com", "+442079460914", "4242424242424242", portal::Role::office_manager);
  const Invoice inv = november_invoice(company);
  auto paid = InvoiceCharger(*store_, keys_, clock_, *provider_, smtp_mail()).charge(inv.id, "cli:test");
  ASSERT_TRUE(paid.ok()) << paid.error().describe();
  const Invoice note = credit(inv, 5'000'000);  // all of it: 6.00
  AnswerLosingProvider lossy(*provider_);
  auto lost = InvoiceCharger(*store_, keys_, clock_, lossy, smtp_mail()).refund(note.id, "cli:test");
  ASSERT_TRUE(lost.ok()) << lost.error().describe();
  EXPECT_EQ(lost->state, "pending");
  EXPECT_EQ(lost->idempotency_key, refund_key_for(note.id));
  EXPECT_EQ(invoice_json(note.id)["refund"]["status"], "pending");
  InvoiceCharger charger(*store_, keys_, clock_, *provider_, smtp_mail());
  EXPECT_EQ(charger.refund_due("job:test")->refunds, 0) << "not before the hour";
  clock_.advance_us(3'600'000'000);
  auto run = charger.refund_due("job:test");
  ASSERT_TRUE(run.ok()) << run.error().describe();
  EXPECT_EQ(run->succeeded, 1);
  EXPECT_EQ(tokenizer_.refunds_made_for_test(), 1) << "the same key: refunded once";
  EXPECT_EQ(tokenizer_.refunded_for_test(paid->attempt.provider_reference), 600) << "all of the charge, no more";
  EXPECT_EQ(audit_count("billing.refund_unavailable"), 1);

  // A refund the provider refuses (more than the charge has left) fails, for the operator.
  auto refused = provider_->refund({paid->attempt.provider_reference, 1, "GBP", "credit-extra"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "amount") << refused.error().describe();
  auto reused = provider_->refund({paid->attempt.provider_reference, 599, "GBP", refund_key_for(note.id)});
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, ErrorCode::conflict) << "a key reused with another amount is refused";
}

TEST_P(ChargeTest, TheOfficeManagersAccessExportHoldsTheCompanysInvoicesAndAMembersDoesNot) {
  const std::string company = new_company("Exported Ledger Ltd");
  const std::string manager = add_member(company, "om-export@example.com", "+442079460905", "4242424242424242",
                                         portal::Role::office_manager);
  const std::string member = add_member(company, "member-export@example.com", "+442079460906", "4242424242424242",
                                        portal::Role::member);
  const Invoice inv = november_invoice(company);
  ASSERT_TRUE(InvoiceCharger(*store_, keys_, clock_, *provider_, smtp_mail()).charge(inv.id, "cli:test").ok());

  testing::TempDir dir;
  auto manager_zip = rights::write_access_export(*store_, keys_, clock_, request_for("req-om", manager),
                                                 dir.file("om.zip"), "cli:test");
  ASSERT_TRUE(manager_zip.ok()) << manager_zip.error().describe();
  EXPECT_NE(std::find(manager_zip->files.begin(), manager_zip->files.end(), "invoices.json"), manager_zip->files.end());
  auto member_zip = rights::write_access_export(*store_, keys_, clock_, request_for("req-m", member),
                                                dir.file("m.zip"), "cli:test");
  ASSERT_TRUE(member_zip.ok()) << member_zip.error().describe();
  EXPECT_EQ(std::find(member_zip->files.begin(), member_zip->files.end(), "invoices.json"), member_zip->files.end());

  // What the file holds: the number, period, totals and payment status.
  std::vector<privacy::ExportFilePart> parts;
  const Status read = store::with_transaction(*store_, store::TxMode::read, [&](store::Session& s) -> Status {
    for (const privacy::ExportParticipantSpec& p : privacy::export_participants()) {
      PRIVOX_ASSIGN(std::vector<privacy::ExportFilePart> added, p.add({manager, company}, {s, keys_, clock_.now_us()}));
      for (auto& f : added) parts.push_back(std::move(f));
    }
    return {};
  });
  ASSERT_TRUE(read.ok()) << read.error().describe();
  ASSERT_EQ(parts.size(), 1u);
  const json invoices = json::parse(parts[0].content);
  ASSERT_EQ(invoices.size(), 1u);
  EXPECT_EQ(invoices[0]["number_text"], number_text(inv));
  EXPECT_EQ(invoices[0]["period"], "2026-11");
  EXPECT_EQ(invoices[0]["total"], "6.00");
  EXPECT_EQ(invoices[0]["payment"]["status"], "paid");
}

INSTANTIATE_TEST_SUITE_P(Backends, ChargeTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::billing
