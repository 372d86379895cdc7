#include "accounts/extensions.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "accounts/accounts.h"
#include "store/test_stores.h"
#include "erasure/erasure.h"

namespace privox::accounts {
namespace {

// `printf '101:privox:s3cret' | md5sum` and `| sha256sum`.
constexpr std::string_view kS3cretMd5 = "bfd88a5fecb5e08ea2fdc90012bdcd28";
constexpr std::string_view kS3cretSha256 = "fafa797fed4923543968d334b687f1fe2db5f847583d306b5a8ae1e879c9d49f";
// The same for '101:privox:correct-horse-7', a password add_extension accepts.
constexpr std::string_view kHorse = "correct-horse-7";
constexpr std::string_view kHorseMd5 = "a8d4887f106fa3877f806251672d6d8d";
constexpr std::string_view kHorseSha256 = "83cf16ce2c340306d61387161acc822f671d1bc0d615588016acd0b4924a693b";

TEST(DigestCredentialsTest, MatchTheKnownVectors) {
  auto c = digest_credentials("101", "s3cret");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->ha1_md5, kS3cretMd5);
  EXPECT_EQ(c->ha1_sha256, kS3cretSha256);
  EXPECT_EQ(digest_credentials("101", kHorse)->ha1_md5, kHorseMd5);
  EXPECT_EQ(digest_credentials("101", kHorse)->ha1_sha256, kHorseSha256);
  EXPECT_EQ(kDigestRealm, "privox");
}

TEST(DevicePasswordTest, GeneratedPasswordsAreLongRandomAndTypeable) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string p = generate_device_password();
    ASSERT_EQ(p.size(), kGeneratedPasswordLength);
    // No look-alikes (0/O, 1/l/I), nothing a desk phone's keypad makes hard to enter.
    EXPECT_EQ(p.find_first_not_of("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"), std::string::npos) << p;
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 200u);
}

class ExtensionsTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts_ = std::make_unique<Accounts>(*store_, keys_, clock_);
    extensions_ = std::make_unique<Extensions>(*store_, keys_, clock_);
    company_ = add_company("Acme Ltd", "eea");
    member_ = add_member(company_, "ada@example.org");
  }

  std::string add_company(const std::string& name, const std::string& region) {
    auto id = accounts_->add_company({name, region, ""}, "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : "";
  }

  std::string add_member(const std::string& company, const std::string& email) {
    auto id = accounts_->add_member(company,
                                    {{"name", "Ada Lovelace"},
                                     {"email", email},
                                     {"phone", "+44 20 7946 0958"},
                                     {"address", "1 High St"},
                                     {"birth_date", "1990-01-31"},
                                     {"payment_token", "tok_abcdef"}},
                                    "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : "";
  }

  NewExtension line(const std::string& number, std::string password = std::string(kHorse)) {
    return {company_, number, std::move(password), std::nullopt, std::nullopt};
  }

  Extensions& extensions() { return *extensions_; }

  int64_t count(const std::string& sql, const store::Params& params = {}) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query(sql, params)->at(0).i64(0);
  }

  // What refused input must leave behind: nothing.
  void expect_nothing_stored(int64_t audit_before) {
    EXPECT_EQ(count("SELECT count(*) FROM extensions"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM subject_keys WHERE subject_id <> ?", {member_}), 0);
    EXPECT_EQ(count("SELECT count(*) FROM audit_log"), audit_before);
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<Extensions> extensions_;
  std::string company_, member_;
};

TEST_P(ExtensionsTest, AnExtensionIsStoredWithItsHa1sAndFoundEveryWay) {
  NewExtension input = line("101");
  input.member_id = member_;
  input.did = "020 7946 0958";
  auto id = extensions().add_extension(input, "cli:test");
  ASSERT_TRUE(id.ok()) << id.error().describe();

  auto found = extensions().find(*id);
  ASSERT_TRUE(found.ok());
  auto creds = extensions().credentials(*id);
  ASSERT_TRUE(creds.ok()) << creds.error().describe();
  EXPECT_EQ(creds->ha1_md5, digest_credentials(found->sip_user, kHorse)->ha1_md5);
  EXPECT_EQ(creds->ha1_sha256, digest_credentials(found->sip_user, kHorse)->ha1_sha256);

  EXPECT_EQ(found->company_id, company_);
  EXPECT_EQ(found->number, "101");
  EXPECT_NE(found->sip_user, "101");
  EXPECT_EQ(found->did, "+442079460958");  // national form read with the company's country (GB)
  EXPECT_EQ(found->member_id, member_);
  EXPECT_EQ(found->created_at_us, clock_.now_us());
  EXPECT_EQ(extensions().find_by_number(company_, "101")->id, *id);
  EXPECT_EQ(extensions().find_by_did("+442079460958")->id, *id);
  EXPECT_EQ(extensions().find_by_login(found->sip_user)->id, *id);
  EXPECT_EQ(extensions().find_by_login("101").error().code, ErrorCode::not_found);
  auto listed = extensions().list(company_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).id, *id);

  // The extension is a subject with its own key, and its creation is in the chain by id alone.
  EXPECT_EQ(count("SELECT count(*) FROM subject_keys WHERE subject_id = ?", {*id}), 1);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'extension.add' AND subject_id = ?", {*id}), 1);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE detail LIKE '%" + member_ + "%' AND subject_id = ?", {*id}), 1);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE detail LIKE '%2079460958%' OR detail LIKE '%number%'"), 0);
}

TEST_P(ExtensionsTest, LookupsOfWhatDoesNotExistAreNotFound) {
  ASSERT_TRUE(extensions().add_extension(line("101"), "t").ok());
  EXPECT_EQ(extensions().find("0190e2a1-0000-7000-8000-000000000000").error().code, ErrorCode::not_found);
  EXPECT_EQ(extensions().find("../etc").error().field, "id");
  EXPECT_EQ(extensions().find_by_number(company_, "102").error().code, ErrorCode::not_found);
  EXPECT_EQ(extensions().find_by_did("+442079460000").error().code, ErrorCode::not_found);
  // The SIP login is untrusted input: anything is answered, without a crash or a query for nonsense.
  for (const std::string& user : {std::string(), std::string("10"), std::string("101-deadbeef"),
                                  std::string("101' OR '1'='1"), std::string(5000, '1')})
    EXPECT_EQ(extensions().find_by_login(user).error().code, ErrorCode::not_found) << user.substr(0, 20);
  EXPECT_EQ(extensions().credentials("0190e2a1-0000-7000-8000-000000000000").error().code, ErrorCode::not_found);
  EXPECT_EQ(extensions().list("0190e2a1-0000-7000-8000-000000000000").error().field, "company");
  auto missing = extensions().add_extension({"0190e2a1-0000-7000-8000-000000000000", "101", std::string(kHorse),
                                             std::nullopt, std::nullopt},
                                            "t");
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_EQ(missing.error().field, "company");
  // A member id is privox's own: one whose digits run 2427739347956 (Luhn-valid, as about one id in
  // ten is) is looked up, not refused as a card number.
  auto luhn = extensions().add_extension({company_, "103", std::string(kHorse),
                                          std::string("01a24277-3934-7956-bf58-6655f8f45b44"), std::nullopt},
                                         "t");
  EXPECT_EQ(luhn.error().code, ErrorCode::not_found) << luhn.error().describe();
  EXPECT_EQ(luhn.error().field, "member");
  EXPECT_EQ(extensions().add_extension({"acme", "101", std::string(kHorse), std::nullopt, std::nullopt}, "t")
                .error()
                .field,
            "company");
}

TEST_P(ExtensionsTest, PasswordsFollowTheRulesAndRefusalsStoreNothing) {
  const int64_t audit_before = count("SELECT count(*) FROM audit_log");
  const std::string long_one(129, 'x');
  for (const std::string& password : {std::string("s3cret"), std::string("eleven char"), long_one,
                                      std::string("pässwort-lang"),
                                      std::string("tab\there-ok?"), std::string("my-101-phone"),
                                      std::string("4111 1111 1111 1111"), std::string("card4111111111111111x")}) {
    auto refused = extensions().add_extension(line("101", password), "t");
    ASSERT_FALSE(refused.ok()) << password;
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument) << password;
    EXPECT_EQ(refused.error().field, "password") << password;
    EXPECT_EQ(refused.error().message.find(password), std::string::npos) << "the error quotes the password";
  }
  expect_nothing_stored(audit_before);
  EXPECT_TRUE(extensions().add_extension(line("101", "twelve chars"), "t").ok());  // 12 printable, space included
  EXPECT_TRUE(extensions().add_extension(line("102", std::string(128, '~')), "t").ok());
}

TEST_P(ExtensionsTest, NumbersAreTwoToEightDigitsAndUniqueInTheirCompany) {
  const int64_t audit_before = count("SELECT count(*) FROM audit_log");
  for (const char* number : {"", "1", "123456789", "12a", "+101", " 101", "１０１"})
    EXPECT_EQ(extensions().add_extension(line(number), "t").error().field, "number") << number;
  expect_nothing_stored(audit_before);

  ASSERT_TRUE(extensions().add_extension(line("10"), "t").ok());
  ASSERT_TRUE(extensions().add_extension(line("12345678"), "t").ok());
  auto dup = extensions().add_extension(line("10"), "t");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::conflict);
  EXPECT_EQ(dup.error().field, "number");
  EXPECT_EQ(count("SELECT count(*) FROM extensions"), 2);
  EXPECT_EQ(extensions().find_by_number(company_, "1x").error().field, "number");
}

// Issue 10: a login cannot be guessed from the extension number, so a scanner that knows numbers
// has nothing to try passwords on.
TEST_P(ExtensionsTest, TheSipLoginIsRandomNotTheNumber) {
  const std::string other = add_company("Initech", "us");
  auto first = extensions().add_extension(line("101"), "t");
  ASSERT_TRUE(first.ok());
  auto second = extensions().add_extension({other, "101", std::string(kHorse), std::nullopt, std::nullopt}, "t");
  ASSERT_TRUE(second.ok()) << second.error().describe();

  std::set<std::string> logins;
  for (const std::string& id : {*first, *second}) {
    const std::string login = extensions().find(id)->sip_user;
    // Twelve of 32 symbols (60 bits): lower-case letters and digits without l, o, 0 and 1.
    EXPECT_EQ(login.size(), 12u) << login;
    EXPECT_EQ(login.find_first_not_of("abcdefghijkmnpqrstuvwxyz23456789"), std::string::npos) << login;
    EXPECT_EQ(extensions().find_by_login(login)->id, id);
    logins.insert(login);
  }
  for (int n = 10; n < 60; ++n) {
    auto id = extensions().add_extension(line(std::to_string(n)), "t");
    ASSERT_TRUE(id.ok()) << id.error().describe();
    logins.insert(extensions().find(*id)->sip_user);
  }
  EXPECT_EQ(logins.size(), 52u) << "every line has a login of its own";
  EXPECT_EQ(extensions().find_by_login("101").error().code, ErrorCode::not_found);
  const std::string second_user = extensions().find(*second)->sip_user;

  // Each HA1 is computed with the extension's own login.
  EXPECT_EQ(extensions().credentials(*second)->ha1_md5, digest_credentials(second_user, kHorse)->ha1_md5);
  EXPECT_NE(extensions().credentials(*second)->ha1_md5, kHorseMd5);
}

TEST_P(ExtensionsTest, AnExtensionIsAssignedOnlyToAnActiveMemberOfItsCompany) {
  const std::string other = add_company("Initech", "us");
  const std::string outsider = add_member(other, "outsider@example.org");
  NewExtension input = line("101");

  input.member_id = outsider;
  auto cross = extensions().add_extension(input, "t");
  ASSERT_FALSE(cross.ok());
  EXPECT_EQ(cross.error().code, ErrorCode::not_found);  // another tenant's member reads as no member
  EXPECT_EQ(cross.error().field, "member");
  input.member_id = "0190e2a1-0000-7000-8000-000000000000";
  EXPECT_EQ(extensions().add_extension(input, "t").error().code, ErrorCode::not_found);
  input.member_id = "ada";
  EXPECT_EQ(extensions().add_extension(input, "t").error().field, "member");
  const std::string erased = add_member(company_, "gone@example.org");
  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, erased, "t", "test").ok());
  const int64_t audit_after_erase = count("SELECT count(*) FROM audit_log");
  input.member_id = erased;
  auto to_erased = extensions().add_extension(input, "t");
  ASSERT_FALSE(to_erased.ok());
  EXPECT_EQ(to_erased.error().code, ErrorCode::conflict);
  EXPECT_EQ(to_erased.error().field, "member");
  EXPECT_EQ(count("SELECT count(*) FROM extensions"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log"), audit_after_erase);

  input.member_id = member_;
  EXPECT_TRUE(extensions().add_extension(input, "t").ok());
}

TEST_P(ExtensionsTest, ErasingAMemberUnassignsTheirLines) {
  NewExtension input = line("101");
  input.member_id = member_;
  auto id = extensions().add_extension(input, "t");
  ASSERT_TRUE(id.ok());
  auto erased = erasure::erase_member(*store_, keys_, clock_, member_, "t", "test");
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  auto after = extensions().find(*id);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->member_id.has_value());
  EXPECT_EQ(after->number, "101");  // the line stays with the company
  int64_t lines_kept = 0;
  for (const privacy::ErasureItem& item : erased->items)
    if (item.item == "phone lines" && item.outcome == "kept") lines_kept = item.count;
  EXPECT_EQ(lines_kept, 1);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'member.erase'"), 1);
}

TEST_P(ExtensionsTest, DidsAreNormalisedAndUniqueAcrossCompanies) {
  NewExtension input = line("101");
  input.did = "12345";
  EXPECT_EQ(extensions().add_extension(input, "t").error().field, "did");
  input.did = "not a number";
  EXPECT_EQ(extensions().add_extension(input, "t").error().field, "did");
  input.did = "(650) 253-0000";  // a US number in national form does not read as one in GB
  EXPECT_EQ(extensions().add_extension(input, "t").error().field, "did");
  input.did = "+1 650-253-0000";
  auto us_number = extensions().add_extension(input, "t");
  ASSERT_TRUE(us_number.ok()) << us_number.error().describe();
  EXPECT_EQ(extensions().find(*us_number)->did, "+16502530000");

  const std::string other = add_company("Initech", "us");
  auto taken = extensions().add_extension({other, "200", std::string(kHorse), std::nullopt, "(650) 253-0000"}, "t");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, ErrorCode::conflict);
  EXPECT_EQ(taken.error().field, "did");
  auto none = extensions().add_extension({other, "200", std::string(kHorse), std::nullopt, std::nullopt}, "t");
  EXPECT_TRUE(none.ok());
  EXPECT_FALSE(extensions().find(*none)->did.has_value());
}

TEST_P(ExtensionsTest, ResetPasswordReplacesTheHa1sAndIsAudited) {
  auto id = extensions().add_extension(line("101"), "t");
  ASSERT_TRUE(id.ok());
  const int64_t audit_before = count("SELECT count(*) FROM audit_log");
  EXPECT_EQ(extensions().reset_password(*id, "short", "t").error().field, "password");
  EXPECT_EQ(extensions().reset_password(*id, "still-101-inside", "t").error().field, "password");
  EXPECT_EQ(extensions().reset_password(*id, "4111-1111-1111-1111", "t").error().field, "password");
  EXPECT_EQ(extensions().reset_password("0190e2a1-0000-7000-8000-000000000000", "long-enough", "t").error().code,
            ErrorCode::not_found);
  EXPECT_EQ(extensions().reset_password("x", "long-enough", "t").error().field, "id");
  EXPECT_EQ(count("SELECT count(*) FROM audit_log"), audit_before);
  const std::string first_login = extensions().find(*id)->sip_user;
  EXPECT_EQ(extensions().credentials(*id)->ha1_md5, digest_credentials(first_login, kHorse)->ha1_md5);

  ASSERT_TRUE(extensions().reset_password(*id, "battery-staple-2", "cli:staff").ok());
  auto creds = extensions().credentials(*id);
  ASSERT_TRUE(creds.ok());
  const std::string login = extensions().find(*id)->sip_user;
  EXPECT_EQ(creds->ha1_md5, digest_credentials(login, "battery-staple-2")->ha1_md5);
  EXPECT_EQ(creds->ha1_sha256, digest_credentials(login, "battery-staple-2")->ha1_sha256);
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'extension.reset_password' AND actor = 'cli:staff' "
                  "AND subject_id = ?",
                  {*id}),
            1);
  privacy::AuditChain chain(keys_, clock_);
  auto report = chain.verify(*store_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
}

// Issue 13: a line is renamed, assigned, reassigned and unassigned; each change is audited with ids
// only, and the SIP directory learns of what it needs (member, digest), not of a label.
TEST_P(ExtensionsTest, ALineIsRenamedAssignedReassignedAndUnassigned) {
  auto id = extensions().add_extension(line("101"), "t", {"Reception desk", std::nullopt});
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_EQ(extensions().find(*id)->label, "Reception desk");
  const std::string colleague = add_member(company_, "grace@example.org");
  const int64_t changes_before = count("SELECT count(*) FROM directory_changes");

  ASSERT_TRUE(extensions().update(*id, {.label = "Front desk"}, "t").ok());
  EXPECT_EQ(extensions().find(*id)->label, "Front desk");
  EXPECT_EQ(count("SELECT count(*) FROM directory_changes"), changes_before) << "SIP has no use for a label";

  ASSERT_TRUE(extensions().update(*id, {.member_id = std::optional<std::string>(member_)}, "t").ok());
  EXPECT_EQ(extensions().find(*id)->member_id, member_);
  ASSERT_TRUE(extensions().update(*id, {.member_id = std::optional<std::string>(colleague)}, "t").ok());
  EXPECT_EQ(extensions().find(*id)->member_id, colleague);
  EXPECT_EQ(extensions().find(*id)->label, "Front desk") << "what a change does not name is kept";
  ASSERT_TRUE(extensions().update(*id, {.member_id = std::optional<std::string>()}, "t").ok());
  EXPECT_FALSE(extensions().find(*id)->member_id.has_value());
  EXPECT_EQ(count("SELECT count(*) FROM directory_changes"), changes_before + 3);
  ASSERT_TRUE(extensions().update(*id, {.label = ""}, "t").ok());
  EXPECT_EQ(extensions().find(*id)->label, "");

  // Audit entries name ids, never the label.
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'extension.update' AND subject_id = ?", {*id}), 5);
  auto tx = store_->begin(store::TxMode::read);
  auto details = (*tx)->query("SELECT detail FROM audit_log WHERE action = 'extension.update'");
  ASSERT_TRUE(details.ok());
  for (const store::Row& r : *details) EXPECT_EQ(r.text(0).find("desk"), std::string::npos) << r.text(0);
}

TEST_P(ExtensionsTest, LineChangesAreRefusedNamingTheField) {
  auto id = extensions().add_extension(line("101"), "t");
  ASSERT_TRUE(id.ok());
  const std::string other_company = add_company("Other Ltd", "eea");
  const std::string stranger = add_member(other_company, "eve@example.org");
  const int64_t audit_before = count("SELECT count(*) FROM audit_log");

  auto too_long = extensions().update(*id, {.label = std::string(kMaxLineLabel + 1, 'x')}, "t");
  EXPECT_EQ(too_long.error().field, "label");
  EXPECT_EQ(extensions().update(*id, {.label = "two\nlines"}, "t").error().field, "label");
  EXPECT_EQ(extensions().update(*id, {.label = "4111 1111 1111 1111"}, "t").error().field, "label");
  EXPECT_TRUE(extensions().update(*id, {.label = std::string(kMaxLineLabel / 2, 'e') + "\xc3\xa9"}, "t").ok())
      << "characters are counted, not bytes";
  auto foreign = extensions().update(*id, {.member_id = std::optional<std::string>(stranger)}, "t");
  EXPECT_EQ(foreign.error().code, ErrorCode::not_found) << "another company's member reads as none";
  EXPECT_EQ(foreign.error().field, "member");
  EXPECT_EQ(extensions().update(*id, {.member_id = std::optional<std::string>("nope")}, "t").error().field, "member");
  const std::string leaver = add_member(company_, "leaver@example.org");
  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, leaver, "t", "test").ok());
  const int64_t after_erasure = count("SELECT count(*) FROM audit_log");
  auto erased = extensions().update(*id, {.member_id = std::optional<std::string>(leaver)}, "t");
  EXPECT_EQ(erased.error().code, ErrorCode::conflict);
  EXPECT_EQ(erased.error().field, "member");
  EXPECT_EQ(extensions().update("0190e2a1-0000-7000-8000-000000000000", {.label = "x"}, "t").error().field, "id");
  EXPECT_EQ(count("SELECT count(*) FROM audit_log"), after_erasure);
  EXPECT_GT(after_erasure, audit_before);
  EXPECT_FALSE(extensions().find(*id)->member_id.has_value());
}

// The data map declares the label personal: erasing the line's member clears it with the assignment.
TEST_P(ExtensionsTest, ErasingAMemberClearsTheLabelOfTheirLines) {
  NewExtension input = line("101");
  input.member_id = member_;
  auto id = extensions().add_extension(input, "t", {"Ada's phone", std::nullopt});
  ASSERT_TRUE(id.ok());
  auto spare = extensions().add_extension(line("102"), "t", {"Spare", std::nullopt});
  ASSERT_TRUE(spare.ok());
  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, member_, "t", "test").ok());
  EXPECT_EQ(extensions().find(*id)->label, "");
  EXPECT_EQ(extensions().find(*spare)->label, "Spare");
}

// Issue 13: the digest choice is the line's, else its company's, else the node's; the directory
// gets the one in force, and a company's change reaches SIP for the lines that follow it.
TEST_P(ExtensionsTest, TheDigestChoiceIsTheLinesElseItsCompanys) {
  auto follows = extensions().add_extension(line("101"), "t");
  auto own = extensions().add_extension(line("102"), "t", {"", DigestChoice::md5});
  ASSERT_TRUE(follows.ok() && own.ok());
  const auto in_force = [&](const std::string& id) -> std::optional<DigestChoice> {
    auto tx = store_->begin(store::TxMode::read);
    auto lines = directory_lines(**tx, keys_, {id});
    EXPECT_TRUE(lines.ok() && lines->size() == 1);
    return lines.ok() && lines->size() == 1 ? lines->at(0).digest : std::nullopt;
  };
  EXPECT_EQ(*extensions().company_digest(company_), std::nullopt);
  EXPECT_EQ(in_force(*follows), std::nullopt) << "the node's default";
  EXPECT_EQ(in_force(*own), DigestChoice::md5);

  const int64_t changes_before = count("SELECT count(*) FROM directory_changes");
  ASSERT_TRUE(extensions().set_company_digest(company_, DigestChoice::sha256, "t").ok());
  EXPECT_EQ(*extensions().company_digest(company_), DigestChoice::sha256);
  EXPECT_EQ(in_force(*follows), DigestChoice::sha256);
  EXPECT_EQ(in_force(*own), DigestChoice::md5) << "a line's own choice wins";
  EXPECT_EQ(count("SELECT count(*) FROM directory_changes WHERE item_id = ?", {*follows}), 2);
  EXPECT_EQ(count("SELECT count(*) FROM directory_changes"), changes_before + 1) << "only the line that follows";
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'company.sip_digest' AND subject_id = ?", {company_}),
            1);

  ASSERT_TRUE(extensions().update(*own, {.digest = std::optional<DigestChoice>()}, "t").ok());
  EXPECT_EQ(extensions().find(*own)->digest, std::nullopt);
  EXPECT_EQ(in_force(*own), DigestChoice::sha256);
  ASSERT_TRUE(extensions().update(*follows, {.digest = std::optional<DigestChoice>(DigestChoice::md5)}, "t").ok());
  EXPECT_EQ(in_force(*follows), DigestChoice::md5);
  ASSERT_TRUE(extensions().set_company_digest(company_, std::nullopt, "t").ok());
  EXPECT_EQ(in_force(*own), std::nullopt);
  EXPECT_EQ(extensions().set_company_digest("0190e2a1-0000-7000-8000-000000000000", std::nullopt, "t").error().field,
            "company");
  EXPECT_EQ(parse_digest_choice("SHA-256"), std::nullopt);
  EXPECT_EQ(parse_digest_choice("sha256"), DigestChoice::sha256);
}

// Issue 16: a company may require encryption on the wire; every one of its lines carries the
// requirement to SIP, and the change is audited and reaches every node through the change log.
TEST_P(ExtensionsTest, ACompanysEncryptionRequirementReachesEveryLine) {
  auto a = extensions().add_extension(line("101"), "t");
  auto b = extensions().add_extension(line("102"), "t");
  ASSERT_TRUE(a.ok() && b.ok());
  const auto required = [&](const std::string& id) {
    auto tx = store_->begin(store::TxMode::read);
    auto lines = directory_lines(**tx, keys_, {id});
    EXPECT_TRUE(lines.ok() && lines->size() == 1);
    return lines.ok() && lines->size() == 1 && lines->at(0).encryption_required;
  };
  EXPECT_FALSE(*extensions().company_requires_encryption(company_)) << "optional until asked for";
  EXPECT_FALSE(required(*a));

  const int64_t changes_before = count("SELECT count(*) FROM directory_changes");
  ASSERT_TRUE(extensions().set_company_encryption(company_, true, "t").ok());
  EXPECT_TRUE(*extensions().company_requires_encryption(company_));
  EXPECT_TRUE(required(*a));
  EXPECT_TRUE(required(*b));
  EXPECT_EQ(count("SELECT count(*) FROM directory_changes"), changes_before + 2) << "one change per line";
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE action = 'company.require_encryption' AND subject_id = ?",
                  {company_}),
            1);

  ASSERT_TRUE(extensions().set_company_encryption(company_, false, "t").ok());
  EXPECT_FALSE(required(*b));
  const auto missing = extensions().set_company_encryption("0190e2a1-0000-7000-8000-000000000000", true, "t");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_EQ(missing.error().field, "company");
}

// P15: the device password never reaches the store, in any form but the sealed HA1s.
TEST_P(ExtensionsTest, PasswordsAndHa1sAreNeverStoredInClear) {
  const std::string password = "Quokka-Zebra-Marmalade";
  const std::string reset = "Okapi-Narwhal-Treacle";
  auto id = extensions().add_extension(line("4711", password), "cli:test");
  ASSERT_TRUE(id.ok());
  const ExtensionCredentials first = *extensions().credentials(*id);
  ASSERT_TRUE(extensions().reset_password(*id, reset, "cli:test").ok());
  const ExtensionCredentials second = *extensions().credentials(*id);

  const std::string stored = test_store_->everything_stored(*store_, "INSERT INTO extensions");
  ASSERT_NE(stored.find(*id), std::string::npos);  // the search does see the extension's row
  for (const std::string& secret : {password, std::string("Marmalade"), reset, std::string("Treacle"), first.ha1_md5,
                                    first.ha1_sha256, second.ha1_md5, second.ha1_sha256})
    EXPECT_EQ(stored.find(secret), std::string::npos) << secret << " is stored in clear";
}

TEST_P(ExtensionsTest, SealedHa1sOpenOnlyForTheirExtensionAndMasterKey) {
  auto a = extensions().add_extension(line("101"), "t");
  auto b = extensions().add_extension(line("102", "another-password"), "t");
  ASSERT_TRUE(a.ok() && b.ok());
  // A ciphertext copied onto another row does not open there.
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT ha1_md5_enc FROM extensions WHERE id = ?", {*a}));
                PRIVOX_TRY(s.exec("UPDATE extensions SET ha1_md5_enc = ? WHERE id = ?", {rows[0].blob(0), *b}));
                return {};
              }).ok());
  EXPECT_EQ(extensions().credentials(*b).error().code, ErrorCode::corrupt);
  EXPECT_TRUE(extensions().credentials(*a).ok());
  const privacy::Keyring other_master = privacy::Keyring::from_master_for_test(privacy::SecretKey::random());
  EXPECT_EQ(Extensions(*store_, other_master, clock_).credentials(*a).error().code, ErrorCode::corrupt);
}

TEST_P(ExtensionsTest, ListIsInNumberOrder) {
  for (const char* number : {"1000", "20", "101", "99"}) ASSERT_TRUE(extensions().add_extension(line(number), "t").ok());
  auto listed = extensions().list(company_);
  ASSERT_TRUE(listed.ok());
  std::vector<std::string> numbers;
  for (const Extension& e : *listed) numbers.push_back(e.number);
  EXPECT_EQ(numbers, (std::vector<std::string>{"20", "99", "101", "1000"}));
  EXPECT_TRUE(extensions().list(add_company("Empty Ltd", "eea"))->empty());
}

// Two nodes adding the same number at once: one wins, the other is told which field conflicts.
TEST_P(ExtensionsTest, ConcurrentAddsOfOneNumberGiveOneExtension) {
  constexpr int kWriters = 4;
  std::vector<Result<std::string>> results(kWriters, Error{});
  std::vector<std::thread> threads;
  threads.reserve(kWriters);
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      auto store = test_store_->open();
      if (!store.ok()) {
        results[static_cast<size_t>(i)] = store.error();
        return;
      }
      results[static_cast<size_t>(i)] = Extensions(**store, keys_, clock_).add_extension(line("300"), "t");
    });
  for (std::thread& t : threads) t.join();
  int won = 0;
  for (const auto& r : results) {
    if (r.ok()) {
      ++won;
      continue;
    }
    EXPECT_EQ(r.error().code, ErrorCode::conflict) << r.error().describe();
    EXPECT_EQ(r.error().field, "number") << r.error().describe();
  }
  EXPECT_EQ(won, 1);
  EXPECT_EQ(count("SELECT count(*) FROM extensions"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, ExtensionsTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::accounts
