#include "ledgers/notice.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <vector>

#include "ledgers/disclosures.h"
#include "privacy/datamap.h"
#include "privacy/settings_change.h"
#include "store/settings.h"
#include "store/test_stores.h"

namespace privox::ledgers {
namespace {

class NoticeTest : public store::MigratedStoreTest {
 protected:
  void set(const std::string& key, const std::string& value) {
    const Status s = privacy::change_setting(*store_, keys_, clock_, key, value, "cli:test");
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
};

TEST(NoticeVersionTest, IsStableAndShaped) {
  const std::string v = notice_version();
  ASSERT_EQ(v.size(), 14u);
  EXPECT_EQ(v.substr(0, 2), "n-");
  EXPECT_EQ(v.find_first_not_of("0123456789abcdef", 2), std::string::npos);
  EXPECT_EQ(notice_version(), v);
}

TEST_P(NoticeTest, TheNoticeListsEveryPersonalFieldWithTheOperatorsPeriodsAndContact) {
  set("controller.name", "Shared Desks Ltd");
  set("controller.email", "dpo@shared-desks.example");
  set("retention.dispute_period_days", "90");
  auto notice = privacy_notice(*store_);
  ASSERT_TRUE(notice.ok()) << notice.error().describe();
  EXPECT_EQ((*notice)["controller"]["name"], "Shared Desks Ltd");
  EXPECT_EQ((*notice)["controller"]["email"], "dpo@shared-desks.example");
  EXPECT_EQ((*notice)["version"], notice_version());

  size_t fields = 0;
  bool saw_dispute_period = false;
  for (const auto& category : (*notice)["categories"])
    for (const auto& f : category["fields"]) {
      ++fields;
      if (f["field"] == "source")
        saw_dispute_period = f["retention"].get<std::string>().find("90 days") != std::string::npos;
    }
  EXPECT_EQ(fields, privacy::personal_fields().size());
  EXPECT_TRUE(saw_dispute_period);
  EXPECT_EQ((*notice)["recipients"].size(), std::size(kDisclosureKinds));
  EXPECT_NE((*notice)["rights"].dump().find("dpo@shared-desks.example"), std::string::npos);
  // Settings change what the notice says, not its version: the version follows the data map.
  set("retention.dispute_period_days", "120");
  EXPECT_EQ((*privacy_notice(*store_))["version"], notice_version());
}

// What each retention rule's words must say, with the distinctive values the test below gives the
// settings: written here by hand, so a rendering that follows another rule, or a setting that
// governs other data, fails.
struct RetentionExpectation {
  privacy::RetentionRule rule;
  std::vector<std::string> says;
};

const std::vector<std::pair<std::string, std::string>> kDistinctSettings = {
    {"retention.closed_account_grace_days", "41 days"},
    {"retention.dispute_period_days", "43 days"},
    {"retention.call_log_max_entries", "4747 entries"},
    {"retention.call_log_max_age_days", "53 days"},
    {"retention.voicemail_max_messages", "59 messages"},
    {"retention.voicemail_max_age_days", "61 days"},
    {"portal.login_window_minutes", "17 minutes"},
    {"portal.lockout_minutes", "23 minutes"},
    {"sip.ban_minutes", "11 minutes"},
    {"sip.ban_max_minutes", "131 minutes"},
};

const std::vector<RetentionExpectation> kRetentionSays = {
    {privacy::RetentionRule::contract_plus_6_years, {"six years after it ends", "tax law"}},
    {privacy::RetentionRule::until_closure, {"account closes", "41 days"}},
    {privacy::RetentionRule::billing_dispute_period, {"43 days", "anonymous"}},
    {privacy::RetentionRule::operator_limit, {"4747 entries", "53 days", "59 messages", "61 days"}},
    {privacy::RetentionRule::login_attempt_window, {"17 minutes", "23 minutes"}},
    {privacy::RetentionRule::until_invitation_ends, {"invitation", "7 days"}},
    {privacy::RetentionRule::hourly_rate_window, {"hour"}},
    {privacy::RetentionRule::until_link_followed, {"link", "24 hours"}},
    {privacy::RetentionRule::token_replay_guard, {"90 days"}},
    {privacy::RetentionRule::ban_period, {"11 minutes", "131 minutes", "one day"}},
    {privacy::RetentionRule::while_consented, {"withdraw your consent"}},
    {privacy::RetentionRule::as_law_requires, {"law requires"}},
    {privacy::RetentionRule::while_company_active, {"your company is our customer"}},
    {privacy::RetentionRule::until_binding_expires, {"registration lapses"}},
    {privacy::RetentionRule::while_line_is_theirs, {"while the line exists"}},
};

// Issue 13 item 6: the notice once gave the login throttle, rate limits, pending confirmations,
// used payment tokens, SIP bans and invitations the call-log limits as their retention. Each
// field's period renders from its own rule and the settings that govern its own data, in both
// layers: every setting value its rule names appears, and no other rule's setting does.
TEST_P(NoticeTest, EachFieldsRetentionIsTheOneThatGovernsItsOwnData) {
  for (const auto& [key, value] : kDistinctSettings) set(key, value.substr(0, value.find(' ')));
  auto notice = privacy_notice(*store_);
  ASSERT_TRUE(notice.ok()) << notice.error().describe();
  std::map<std::string, std::string> words, by_label;
  for (const auto& category : (*notice)["categories"])
    for (const auto& f : category["fields"]) words[f["field"]] = f["retention"];
  for (const privacy::FieldSpec& f : privacy::personal_fields()) {
    ASSERT_TRUE(words.count(std::string(f.name))) << f.name;
    const std::string& said = words[std::string(f.name)];
    by_label[std::string(f.label)] = said;
    const auto expected = std::find_if(kRetentionSays.begin(), kRetentionSays.end(),
                                       [&](const RetentionExpectation& e) { return e.rule == f.retention; });
    ASSERT_NE(expected, kRetentionSays.end())
        << f.name << ": its rule " << to_string(f.retention) << " has no expectation in this test";
    for (const std::string& part : expected->says)
      EXPECT_NE(said.find(part), std::string::npos) << f.name << " should say \"" << part << "\": " << said;
    for (const auto& [key, value] : kDistinctSettings) {
      const bool own = std::find(expected->says.begin(), expected->says.end(), value) != expected->says.end();
      if (!own) EXPECT_EQ(said.find(value), std::string::npos) << f.name << " names " << key << ": " << said;
    }
  }
  // The first layer groups items by period: each item sits under the period of its own rule.
  size_t grouped = 0;
  for (const auto& category : (*notice)["summary"]["categories"])
    for (const auto& period : category["how_long"])
      for (const auto& label : period["items"]) {
        ++grouped;
        EXPECT_EQ(period["period"], by_label[label.get<std::string>()]) << label;
      }
  EXPECT_EQ(grouped, privacy::personal_fields().size());
}

// The keys whose values are for machines: identifiers, and the auditors' technical description.
const std::set<std::string> kMachineKeys = {
    "field", "category",    "purpose", "purposes",   "legal_basis",       "right",
    "kind",  "description", "version", "controller", "controller_missing"};

void collect_human_strings(const nlohmann::json& value, std::vector<std::string>& out) {
  if (value.is_string()) out.push_back(value.get<std::string>());
  if (value.is_array())
    for (const auto& item : value) collect_human_strings(item, out);
  if (value.is_object())
    for (const auto& [key, item] : value.items())
      if (!kMachineKeys.count(key)) collect_human_strings(item, out);
}

// Every text meant for people, of both layers: the JSON's values under human keys (not the
// identifiers beside them) and the terminal's text with and without the details.
std::vector<std::string> human_texts(const nlohmann::json& notice) {
  std::vector<std::string> out;
  collect_human_strings(notice, out);
  out.push_back(privacy_notice_text(notice, false));
  out.push_back(privacy_notice_text(notice, true));
  return out;
}

// The identifiers a person must never meet: the columns, blind indexes, tables and API names of
// the personal fields, and the enum values they carry, wherever one is not a plain word.
std::set<std::string> identifiers() {
  std::set<std::string> out;
  for (const privacy::FieldSpec& f : privacy::personal_fields())
    for (std::string_view id : {f.column, f.index_column, f.table, f.name, to_string(f.category), to_string(f.basis),
                                to_string(f.retention), to_string(f.erasure), to_string(f.protection)})
      if (id.find('_') != std::string_view::npos) out.emplace(id);
  return out;
}

// The words of a text as an identifier would be written: letters, digits and underscores.
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      word += c;
    } else if (!word.empty()) {
      out.push_back(std::move(word));
      word.clear();
    }
  }
  return out;
}

// Issue 13 item 6: `privox notice` and the portal's page listed `password_hash`, `sip_user`,
// `login_throttle_key` and `legal_obligation`. No identifier reaches a human layer: none of the
// map's, and no snake_case word at all (no sentence for people has one).
TEST_P(NoticeTest, TheHumanLayersNameNoColumnOrIdentifier) {
  auto notice = privacy_notice(*store_);
  ASSERT_TRUE(notice.ok()) << notice.error().describe();
  const std::set<std::string> ids = identifiers();
  for (const char* id : {"password_hash", "sip_user", "login_throttle_key", "legal_obligation"})
    ASSERT_TRUE(ids.count(id)) << id << " should be among the identifiers checked";
  for (const std::string& text : human_texts(*notice))
    for (const std::string& word : words_of(text)) {
      EXPECT_FALSE(ids.count(word)) << "\"" << word << "\" in: " << text;
      EXPECT_EQ(word.find('_'), std::string::npos) << "\"" << word << "\" in: " << text;
    }
  // The human labels are what people read instead: each field's in both layers.
  const std::string summary = (*notice)["summary"].dump(), terminal = privacy_notice_text(*notice, true);
  for (const privacy::FieldSpec& f : privacy::personal_fields()) {
    EXPECT_NE(summary.find(nlohmann::json(f.label).dump()), std::string::npos) << f.name;
    EXPECT_NE(terminal.find(f.label), std::string::npos) << f.name;
  }
}

// The first layer: per category what, why, basis, how long and who sees it; per purpose what it
// uses and on what basis, marketing only with consent.
TEST_P(NoticeTest, TheSummarySaysPerCategoryAndPurposeWhatWhyHowLongAndWhoSees) {
  auto notice = privacy_notice(*store_);
  ASSERT_TRUE(notice.ok()) << notice.error().describe();
  const nlohmann::json& summary = (*notice)["summary"];
  std::set<std::string> categories_with_fields;
  for (const privacy::FieldSpec& f : privacy::personal_fields()) categories_with_fields.emplace(to_string(f.category));
  ASSERT_EQ(summary["categories"].size(), categories_with_fields.size());
  for (const auto& c : summary["categories"]) {
    for (const char* key : {"what", "why", "basis", "how_long", "who_sees"})
      EXPECT_FALSE(c[key].empty()) << c["category"] << " has no " << key;
    for (const privacy::FieldSpec& f : privacy::personal_fields())
      if (to_string(f.category) == c["category"])
        EXPECT_NE(std::find(c["what"].begin(), c["what"].end(), f.label), c["what"].end()) << f.name;
  }
  ASSERT_EQ(summary["purposes"].size(), 6u);
  for (const auto& p : summary["purposes"]) {
    const bool marketing = p["purpose"] == "marketing";
    EXPECT_EQ(p["consent_only"], marketing);
    if (marketing) EXPECT_EQ(p["basis"], nlohmann::json::array({privacy::basis_words(privacy::LegalBasis::consent)}));
    const privacy::Purpose purpose = *privacy::parse_purpose(p["purpose"].get<std::string>());
    size_t uses = 0;
    for (const privacy::FieldSpec& f : privacy::personal_fields()) uses += privacy::allows(f.purposes, purpose) ? 1 : 0;
    EXPECT_EQ(p["uses"].size(), uses) << p["purpose"];
  }
  // Each right says how to exercise it; the portal's come first.
  for (const auto& r : (*notice)["rights"]) EXPECT_FALSE(r["how"].get<std::string>().empty()) << r["right"];
  EXPECT_NE((*notice)["rights"][0]["how"].get<std::string>().find("Download my data"), std::string::npos);
}

// Issue 13 item 6: the controller showed as privacy@localhost, a placeholder, as if it were real.
// While the operator's details are the defaults the notice says so and offers no address.
TEST_P(NoticeTest, PlaceholderControllerDetailsAreShownAsNotYetSet) {
  auto notice = privacy_notice(*store_);
  ASSERT_TRUE(notice.ok()) << notice.error().describe();
  EXPECT_EQ((*notice)["controller"]["email"], "");
  EXPECT_EQ((*notice)["controller_missing"], nlohmann::json::array({"name", "address", "email", "phone"}));
  ASSERT_TRUE(notice->contains("controller_warning"));
  const std::string text = privacy_notice_text(*notice, false);
  EXPECT_EQ(notice->dump().find("privacy@localhost"), std::string::npos);
  EXPECT_EQ(text.find("privacy@localhost"), std::string::npos) << text;
  EXPECT_NE(text.find("Email: not yet set"), std::string::npos) << text;
  EXPECT_NE(text.find("WARNING: "), std::string::npos) << text;

  set("controller.name", "Shared Desks Ltd");
  set("controller.email", "dpo@shared-desks.example");
  notice = privacy_notice(*store_);
  ASSERT_TRUE(notice.ok()) << notice.error().describe();
  EXPECT_FALSE(notice->contains("controller_warning"));
  EXPECT_EQ((*notice)["controller_missing"], nlohmann::json::array({"address", "phone"}));
  EXPECT_NE((*notice)["rights"][0]["how"].get<std::string>().find("dpo@shared-desks.example"), std::string::npos);
  EXPECT_EQ(privacy_notice_text(*notice, false).find("WARNING"), std::string::npos);
}

TEST_P(NoticeTest, TheRecordOfProcessingNamesControllerRecipientsTransfersAndMeasures) {
  set("controller.name", "Shared Desks Ltd");
  const DisclosureRegister reg(*store_, keys_, clock_);
  NewDisclosure transfer{"privox store in region us", DisclosureKind::region_transfer, {privacy::Category::identity_contact},
                         privacy::LegalBasis::contract, "", "standard contractual clauses", {}, ""};
  ASSERT_TRUE(reg.record(transfer, "t").ok());
  auto ropa = record_of_processing(*store_);
  ASSERT_TRUE(ropa.ok()) << ropa.error().describe();
  EXPECT_EQ((*ropa)["controller"]["name"], "Shared Desks Ltd");
  EXPECT_EQ((*ropa)["purposes"].size(), 6u);
  EXPECT_FALSE((*ropa)["security_measures"].empty());
  EXPECT_EQ((*ropa)["transfers"]["registered"].size(), 1u);
  EXPECT_EQ((*ropa)["transfers"]["registered"][0]["safeguard"], "standard contractual clauses");
  const std::string text = record_of_processing_text(*ropa);
  EXPECT_NE(text.find("Controller: Shared Desks Ltd"), std::string::npos);
  EXPECT_NE(text.find("standard contractual clauses"), std::string::npos);
  EXPECT_NE(text.find(notice_version()), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, NoticeTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::ledgers
