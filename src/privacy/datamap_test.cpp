#include "privacy/datamap.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
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
