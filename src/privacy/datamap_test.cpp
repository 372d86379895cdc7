#include "privacy/datamap.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <regex>
#include <set>

#include "store/test_stores.h"

namespace privox::privacy {
namespace {

// The schema walk runs on both backends: each reports its own columns and types.
class DataMapSchemaTest : public ::testing::TestWithParam<store::Backend> {
 protected:
  std::vector<store::TableInfo> live_schema() {
    auto test_store = store::TestStore::create(GetParam());
    EXPECT_TRUE(test_store.ok()) << test_store.error().describe();
    if (!test_store.ok()) return {};
    auto s = (*test_store)->open();
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE((*s)->migrate().ok());
    auto tables = (*s)->describe_tables();
    EXPECT_TRUE(tables.ok());
    EXPECT_FALSE(tables->empty());
    return *tables;
  }
};

// The by-construction rule: a column nobody declared cannot exist.
TEST_P(DataMapSchemaTest, EveryColumnOfTheLiveSchemaIsDeclared) {
  for (const store::TableInfo& t : live_schema())
    for (const store::ColumnInfo& c : t.columns)
      EXPECT_TRUE(is_declared(t.name, c.name))
          << t.name << "." << c.name << " is in the schema but not in privacy/datamap.cpp: declare it as a personal "
          << "field or as a structural column with the reason it holds no personal data";
}

TEST_P(DataMapSchemaTest, EveryDeclaredColumnExists) {
  std::set<std::pair<std::string, std::string>> columns;
  for (const store::TableInfo& t : live_schema())
    for (const store::ColumnInfo& c : t.columns) columns.emplace(t.name, c.name);
  for (const FieldSpec& f : personal_fields()) {
    EXPECT_TRUE(columns.count({std::string(f.table), std::string(f.column)})) << f.table << "." << f.column;
    if (!f.index_column.empty()) {
      EXPECT_TRUE(columns.count({std::string(f.table), std::string(f.index_column)})) << f.index_column;
    }
  }
  for (const StructuralColumn& s : structural_columns())
    EXPECT_TRUE(columns.count({std::string(s.table), std::string(s.column)})) << s.table << "." << s.column;
}

TEST_P(DataMapSchemaTest, EncryptedFieldsAreBinaryColumnsAndClearOnesSayWhy) {
  const std::string binary = GetParam() == store::Backend::sqlite ? "BLOB" : "BYTEA";
  for (const store::TableInfo& t : live_schema())
    for (const store::ColumnInfo& c : t.columns) {
      const FieldSpec* f = find_field_by_column(t.name, c.name);
      if (!f) continue;
      if (f->protection == Protection::per_subject) {
        EXPECT_EQ(c.type, binary) << t.name << "." << c.name;
      } else {
        EXPECT_FALSE(f->protection_reason.empty()) << f->name << " is stored in clear without a reason";
      }
    }
}

TEST(DataMapTest, EveryFieldHasPurposesAndADescription) {
  std::set<std::pair<std::string_view, std::string_view>> names;
  for (const FieldSpec& f : personal_fields()) {
    EXPECT_NE(f.purposes, 0u) << f.name;
    EXPECT_FALSE(f.description.empty()) << f.name;
    EXPECT_GT(f.max_length, 0u) << f.name;
    EXPECT_TRUE(names.emplace(f.table, f.name).second) << f.name << " is declared twice";
    if (f.erasure == ErasureTreatment::keep_with_exception) {
      EXPECT_FALSE(f.erasure_exception.empty()) << f.name;
    }
  }
}

// Issue 13 item 6: the notice listed column names. Each personal field now carries, beside its
// declaration, a label and a description written for the person the data is about; neither may be
// missing, be the field's column or API name, or be an identifier.
TEST(DataMapTest, EveryPersonalFieldHasAHumanLabelAndDescription) {
  const std::regex second_person(R"(\b(you|your|yours)\b)", std::regex::icase);
  std::set<std::string_view> labels;
  for (const FieldSpec& f : personal_fields()) {
    ASSERT_FALSE(f.label.empty()) << f.name << " has no human label";
    ASSERT_FALSE(f.plain_description.empty()) << f.name << " has no plain-language description";
    for (std::string_view text : {f.label, f.plain_description}) {
      EXPECT_NE(text, f.name) << f.name;
      EXPECT_NE(text, f.column) << f.name;
      EXPECT_EQ(text.find('_'), std::string_view::npos) << f.name << ": \"" << text << "\" reads as an identifier";
      EXPECT_TRUE(std::isupper(static_cast<unsigned char>(text[0]))) << f.name << ": \"" << text << "\"";
    }
    EXPECT_NE(f.plain_description, f.description) << f.name << ": the auditors' description is not for people";
    EXPECT_TRUE(std::regex_search(std::string(f.plain_description), second_person))
        << f.name << ": \"" << f.plain_description << "\" should speak to the person (you, your)";
    EXPECT_EQ(f.plain_description.back(), '.') << f.name << ": a description is a sentence";
    EXPECT_TRUE(labels.insert(f.label).second) << f.name << ": two items called \"" << f.label << "\"";
  }
}

// The call-log and voicemail limits govern only what the log jobs limit: the notice once gave an
// invitation's address those limits as its retention, because its field declared them.
TEST(DataMapTest, OnlyCallLogsAndVoicemailFollowTheOperatorsLogLimits) {
  for (const FieldSpec& f : personal_fields())
    if (f.retention == RetentionRule::operator_limit) EXPECT_EQ(f.category, Category::content) << f.name;
  EXPECT_EQ(find_field("portal_invites", "invite_email")->retention, RetentionRule::until_invitation_ends);
}

// The enums' words for people: every value has some, and none is the identifier.
TEST(DataMapTest, EveryEnumValueHasPlainWords) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;  // {identifier, words}
  for (Category c :
       {Category::identity_contact, Category::payment, Category::traffic, Category::content, Category::mobile_social,
        Category::web_analytics, Category::consent_rights, Category::operator_interactions})
    pairs.emplace_back(to_string(c), category_title(c));
  for (Purpose p :
       {Purpose::service, Purpose::billing, Purpose::support, Purpose::fraud, Purpose::legal, Purpose::marketing}) {
    pairs.emplace_back(to_string(p), purpose_title(p));
    pairs.emplace_back(to_string(p), purpose_words(p));
  }
  for (LegalBasis b :
       {LegalBasis::contract, LegalBasis::legal_obligation, LegalBasis::legitimate_interest, LegalBasis::consent})
    pairs.emplace_back(to_string(b), basis_words(b));
  for (ErasureTreatment e :
       {ErasureTreatment::erase, ErasureTreatment::anonymise, ErasureTreatment::keep_with_exception})
    pairs.emplace_back(to_string(e), erasure_words(e));
  for (Protection p : {Protection::per_subject, Protection::none})
    pairs.emplace_back(to_string(p), protection_words(p));
  for (const auto& [id, words] : pairs) {
    EXPECT_FALSE(words.empty() || words == "?") << id;
    EXPECT_NE(words, id);
    EXPECT_EQ(words.find('_'), std::string_view::npos) << id << ": " << words;
  }
  EXPECT_EQ(basis_words(LegalBasis::legal_obligation), "to meet a legal duty");
}

TEST(DataMapTest, TheMandatoryDataOfP1IsDeclaredMandatory) {
  for (std::string_view name : {"name", "email", "phone", "address", "birth_date", "payment_token"}) {
    const FieldSpec* f = find_field("members", name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_TRUE(f->mandatory) << name;
  }
  EXPECT_TRUE(find_field("companies", "company_name")->mandatory);
}

TEST(DataMapTest, TrafficDataIsAnonymisedAfterTheDisputePeriodAndBindingsLapse) {
  size_t traffic = 0, bindings = 0;
  for (const FieldSpec& f : personal_fields()) {
    if (f.table == "traffic_records") {
      ++traffic;
      EXPECT_EQ(f.category, Category::traffic) << f.name;
      EXPECT_EQ(f.retention, RetentionRule::billing_dispute_period) << f.name;
      EXPECT_EQ(f.erasure, ErasureTreatment::anonymise) << f.name;
      EXPECT_FALSE(f.erasure_exception.empty()) << f.name;
      EXPECT_FALSE(allows(f.purposes, Purpose::marketing)) << f.name;
    }
    if (f.table == "bindings") {
      ++bindings;
      EXPECT_EQ(f.retention, RetentionRule::until_binding_expires) << f.name;
      EXPECT_EQ(f.protection, Protection::per_subject) << f.name;
      EXPECT_EQ(f.purposes, static_cast<PurposeSet>(Purpose::service)) << f.name;
    }
  }
  EXPECT_GT(traffic, 0u);
  EXPECT_EQ(bindings, 3u);
  for (std::string_view name : {"source", "destination", "caller_equipment", "callee_equipment"})
    EXPECT_EQ(find_field("traffic_records", name)->protection, Protection::per_subject) << name;
  // Credentials are sealed with the master-derived key and are about no one: structural, not personal.
  EXPECT_EQ(find_field_by_column("extensions", "ha1_md5_enc"), nullptr);
  EXPECT_TRUE(is_declared("extensions", "ha1_sha256_enc"));
  EXPECT_EQ(find_field("extensions", "did")->protection, Protection::none);
}

INSTANTIATE_TEST_SUITE_P(Backends, DataMapSchemaTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

TEST(DataMapTest, JsonAndTextListEveryField) {
  const nlohmann::json j = datamap_json();
  EXPECT_EQ(j["personal_fields"].size(), personal_fields().size());
  EXPECT_EQ(j["non_personal_columns"].size(), structural_columns().size());
  const std::string text = datamap_text();
  for (const FieldSpec& f : personal_fields()) EXPECT_NE(text.find(f.name), std::string::npos) << f.name;
}

TEST(DataMapTest, PurposesParseByName) {
  EXPECT_EQ(parse_purpose("billing"), Purpose::billing);
  EXPECT_EQ(parse_purpose("fraud"), Purpose::fraud);
  EXPECT_FALSE(parse_purpose("curiosity"));
  EXPECT_EQ(purposes_text(Purpose::billing | Purpose::legal), "billing, legal");
}

}  // namespace
}  // namespace privox::privacy
