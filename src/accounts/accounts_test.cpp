#include "accounts/accounts.h"

#include <gtest/gtest.h>

#include "consent/consent.h"
#include "store/test_stores.h"
#include "erasure/erasure.h"
#include "consent/member_view.h"

namespace privox::accounts {
namespace {

using privacy::Purpose;

class AccountsTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts_ptr_ = std::make_unique<Accounts>(*store_, keys_, clock_);
    auto company = accounts().add_company({"Acme Ltd", "eea", ""}, "cli:test");
    ASSERT_TRUE(company.ok()) << company.error().describe();
    company_ = *company;
  }

  FieldValues member(const std::string& name, const std::string& email) {
    return {{"name", name},          {"email", email},           {"phone", "020 7946 0958"},
            {"address", "1 High St"}, {"birth_date", "1990-01-31"}, {"payment_token", "tok_abcdef"},
            {"card_brand", "visa"},   {"card_last4", "4242"}};
  }

  Accounts& accounts() { return *accounts_ptr_; }

  int64_t count(const std::string& sql) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query(sql)->at(0).i64(0);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};  // 2026-11-18
  std::unique_ptr<Accounts> accounts_ptr_;

  std::string company_;
};

TEST_P(AccountsTest, CompanyDefaultsItsCountryFromTheRegion) {
  auto us = accounts().add_company({"Initech", "us", ""}, "cli:test");
  ASSERT_TRUE(us.ok());
  EXPECT_EQ(accounts().company(*us)->country, "US");
  EXPECT_EQ(accounts().company(company_)->country, "GB");
  EXPECT_EQ(accounts().add_company({"X", "mars", ""}, "t").error().field, "region");
  EXPECT_EQ(accounts().add_company({"", "us", ""}, "t").error().field, "name");
  EXPECT_EQ(accounts().add_company({"X", "eea", "ZZ"}, "t").error().field, "country");
}

TEST_P(AccountsTest, ShowReturnsOnlyWhatThePurposeAllowsAndAuditsIt) {
  auto id = accounts().add_member(company_, member("Ada Lovelace", "ada@example.org"), "cli:test");
  ASSERT_TRUE(id.ok()) << id.error().describe();

  auto billing = consent::show_member(*store_, keys_, clock_, *id, Purpose::billing, "cli:staff");
  ASSERT_TRUE(billing.ok()) << billing.error().describe();
  EXPECT_EQ((*billing)["fields"]["name"], "Ada Lovelace");
  EXPECT_EQ((*billing)["fields"]["payment_token"], "tok_abcdef");
  EXPECT_FALSE((*billing)["fields"].contains("birth_date"));

  auto fraud = consent::show_member(*store_, keys_, clock_, *id, Purpose::fraud, "cli:staff");
  ASSERT_TRUE(fraud.ok());
  EXPECT_FALSE((*fraud)["fields"].contains("address"));
  EXPECT_FALSE((*fraud)["fields"].contains("email"));
  EXPECT_TRUE((*fraud)["fields"].contains("phone"));

  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'member.show' AND purpose = 'fraud' AND "
                  "actor = 'cli:staff' AND subject_id = '" + *id + "'"),
            1);
}

TEST_P(AccountsTest, MarketingSeesAContactOnlyWhileItsChannelConsentHolds) {
  auto id = accounts().add_member(company_, member("Ada Lovelace", "ada@example.org"), "cli:test");
  ASSERT_TRUE(id.ok()) << id.error().describe();
  auto shown = [&] { return (*consent::show_member(*store_, keys_, clock_, *id, Purpose::marketing, "cli:staff"))["fields"]; };
  EXPECT_TRUE(shown().empty()) << shown();

  consent::ConsentLedger ledger(*store_, keys_, clock_);
  const consent::ConsentDecision email{*id, consent::ConsentPurpose::marketing_email, true, consent::ConsentMethod::form,
                                       "web", "n-test"};
  ASSERT_TRUE(ledger.record(email, "cli:test").ok());
  EXPECT_EQ(shown()["email"], "ada@example.org");
  EXPECT_FALSE(shown().contains("phone"));  // SMS consent was never given
  EXPECT_FALSE(shown().contains("name"));   // not a marketing field at all

  clock_.advance_us(1);
  consent::ConsentDecision withdrawn = email;
  withdrawn.given = false;
  ASSERT_TRUE(ledger.record(withdrawn, "cli:test").ok());
  EXPECT_FALSE(shown().contains("email"));
}

TEST_P(AccountsTest, UnknownCompanyAndMemberAreNotFound) {
  auto missing = accounts().add_member("0190e2a1-0000-7000-8000-000000000000", member("A B", "a@b.org"), "t");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_EQ(missing.error().field, "company");
  EXPECT_EQ(accounts().add_member("../etc", member("A B", "a@b.org"), "t").error().field, "company");
  EXPECT_EQ(consent::show_member(*store_, keys_, clock_, "0190e2a1-0000-7000-8000-000000000000", Purpose::billing, "t").error().code,
            ErrorCode::not_found);
}

TEST_P(AccountsTest, EmailsAreUniqueWhateverTheirCase) {
  ASSERT_TRUE(accounts().add_member(company_, member("A One", "same@example.org"), "t").ok());
  auto dup = accounts().add_member(company_, member("A Two", "SAME@example.org"), "t");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::conflict);
  EXPECT_EQ(dup.error().field, "email");
  EXPECT_EQ(count("SELECT count(*) FROM members"), 1);
}

TEST_P(AccountsTest, RefusedSignUpsStoreNothing) {
  const int64_t audit_before = count("SELECT count(*) FROM audit_log");
  FieldValues input = member("A B", "a@b.org");
  input["address"] = "card 4242 4242 4242 4242";
  EXPECT_EQ(accounts().add_member(company_, input, "t").error().field, "address");
  input = member("A B", "a@b.org");
  input["birth_date"] = "2010-01-01";
  EXPECT_EQ(accounts().add_member(company_, input, "t").error().field, "birth_date");
  EXPECT_EQ(count("SELECT count(*) FROM members"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM subject_keys"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log"), audit_before);
}

// P15: personal data never reaches the store in clear, and erasing the key leaves nothing to open.
TEST_P(AccountsTest, PersonalDataIsNeverStoredInClearAndErasureLeavesNoKey) {
  const std::string name = "Quirinus Throckmorton-Vasquez";
  const std::string email = "quirinus.throckmorton@example.net";
  auto id = accounts().add_member(company_, member(name, email), "cli:test");
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(consent::show_member(*store_, keys_, clock_, *id, Purpose::support, "cli:test").ok());

  const std::string stored = test_store_->everything_stored(*store_, "INSERT INTO members");
  ASSERT_NE(stored.find(*id), std::string::npos);  // the search does see the member's row
  for (const std::string& secret : {name, std::string("Throckmorton"), email, std::string("quirinus"),
                                    std::string("+442079460958"), std::string("2079460958"), std::string("tok_abcdef"),
                                    std::string("1 High St"), std::string("1990-01-31")})
    EXPECT_EQ(stored.find(secret), std::string::npos) << secret << " is stored in clear";

  Bytes wrapped;
  {
    auto tx = store_->begin(store::TxMode::read);
    wrapped = (*tx)->query("SELECT wrapped_key FROM subject_keys WHERE subject_id = ?", {*id})->at(0).blob(0);
  }
  // The search finds the key's bytes while they are there.
  ASSERT_TRUE(test_store_->holds_bytes(test_store_->everything_stored(*store_, "INSERT INTO members"), wrapped));

  auto erased = erasure::erase_member(*store_, keys_, clock_, *id, "cli:test", "test");
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  EXPECT_TRUE(erased->files_purged);
  if (GetParam() == store::Backend::sqlite) {
    EXPECT_FALSE(test_store_->holds_bytes(test_store_->dir().all_bytes(), wrapped));
  }
  EXPECT_EQ(count("SELECT count(*) FROM subject_keys"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM members WHERE email_bidx IS NOT NULL OR phone_bidx IS NOT NULL"), 0);

  auto shown = consent::show_member(*store_, keys_, clock_, *id, Purpose::legal, "cli:test");
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ((*shown)["status"], "erased");
  EXPECT_FALSE(shown->contains("fields"));

  // The ciphertexts are still there, as they would be in a backup, and no key opens them.
  auto tx = store_->begin(store::TxMode::read);
  auto row = (*tx)->query("SELECT name_enc FROM members WHERE id = ?", {*id});
  ASSERT_FALSE(row->at(0).is_null(0));
  EXPECT_EQ(privacy::subject_keys::load(**tx, keys_, *id).error().code, ErrorCode::erased);

  // Erasure is idempotent, and the email may be used again by a new sign-up.
  tx->reset();
  auto again = erasure::erase_member(*store_, keys_, clock_, *id, "cli:test", "test");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_erased);
  EXPECT_TRUE(accounts().add_member(company_, member(name, email), "cli:test").ok());
}

TEST_P(AccountsTest, EveryActionIsInTheChainAndTheChainHoldsNoPersonalData) {
  auto id = accounts().add_member(company_, member("Ophelia Marchbanks", "ophelia@example.com"), "cli:test");
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(consent::show_member(*store_, keys_, clock_, *id, Purpose::billing, "cli:test").ok());
  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, *id, "cli:test", "test").ok());
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE subject_id = '" + *id + "'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE detail LIKE '%Ophelia%' OR detail LIKE '%ophelia@%'"), 0);
  privacy::AuditChain chain(keys_, clock_);
  auto report = chain.verify(*store_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountsTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::accounts
