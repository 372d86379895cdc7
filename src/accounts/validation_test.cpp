#include "accounts/validation.h"

#include <gtest/gtest.h>

namespace privox::accounts {
namespace {

constexpr CivilDate kToday{2026, 11, 26};

FieldValues valid_member() {
  return {{"name", "  Ada Lovelace "},     {"email", "Ada@Example.ORG"},   {"phone", "020 7946 0958"},
          {"address", "1 High St\nLondon"}, {"birth_date", "1990-01-31"},  {"payment_token", "tok_123abc"}};
}

Error error_for(const FieldValues& input) {
  auto r = validate_member(input, "GB", kToday);
  EXPECT_FALSE(r.ok()) << "expected a validation error";
  return r.ok() ? Error{} : r.error();
}

TEST(ValidationTest, NormalisesAValidMember) {
  auto r = validate_member(valid_member(), "GB", kToday);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->at("name"), "Ada Lovelace");
  EXPECT_EQ(r->at("email"), "ada@example.org");
  EXPECT_EQ(r->at("phone"), "+442079460958");
  EXPECT_EQ(r->at("address"), "1 High St\nLondon");
  EXPECT_EQ(r->count("card_brand"), 0u);
}

TEST(ValidationTest, EachMissingMandatoryFieldIsNamed) {
  for (const char* field : {"name", "email", "phone", "address", "birth_date", "payment_token"}) {
    FieldValues input = valid_member();
    input.erase(field);
    const Error e = error_for(input);
    EXPECT_EQ(e.field, field);
    EXPECT_NE(e.message.find("required"), std::string::npos) << e.message;
    input[field] = "   ";
    EXPECT_EQ(error_for(input).field, field);
  }
}

TEST(ValidationTest, EveryFieldAtFaultIsReportedAtOnce) {
  FieldValues member = valid_member();
  member.erase("name");
  member["email"] = "not-an-address";
  member["birth_date"] = "2015-01-01";
  std::vector<std::string> fields;
  for (const Error& e : member_field_errors(member, "GB", kToday)) fields.push_back(e.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"name", "email", "birth_date"}));
  EXPECT_TRUE(member_field_errors(valid_member(), "GB", kToday).empty());
}

TEST(ValidationTest, RefusesUnknownFields) {
  FieldValues input = valid_member();
  input["favourite_colour"] = "blue";
  EXPECT_EQ(error_for(input).field, "favourite_colour");
}

TEST(ValidationTest, EmailMustBeAnAddress) {
  for (const char* bad : {"plain", "@example.org", "a@", "a@b", "a@@b.org", "a..b@c.org", ".a@c.org", "a@-c.org",
                          "a@c.o", "a b@c.org", "a@c.123"}) {
    FieldValues input = valid_member();
    input["email"] = bad;
    EXPECT_EQ(error_for(input).field, "email") << bad;
  }
  EXPECT_TRUE(normalise_email("o'neil+tag@sub.example.co.uk").ok());
}

TEST(ValidationTest, PhoneNumbersAreReadInTheCompanysCountry) {
  EXPECT_EQ(*normalise_phone("020 7946 0958", "GB"), "+442079460958");
  EXPECT_EQ(*normalise_phone("+1 650-253-0000", "GB"), "+16502530000");
  EXPECT_EQ(*normalise_phone("(650) 253-0000", "US"), "+16502530000");
  EXPECT_FALSE(normalise_phone("12345", "GB").ok());
  EXPECT_FALSE(normalise_phone("not a number", "GB").ok());
  EXPECT_FALSE(normalise_phone("020 7946 0958", "US").ok());
  EXPECT_EQ(normalise_phone("", "GB").error().field, "phone");
}

TEST(ValidationTest, MembersMustBeEighteen) {
  FieldValues input = valid_member();
  input["birth_date"] = "2008-11-27";  // 18 tomorrow
  const Error e = error_for(input);
  EXPECT_EQ(e.field, "birth_date");
  EXPECT_NE(e.message.find("18 or over"), std::string::npos);
  input["birth_date"] = "2008-11-26";  // 18 today
  EXPECT_TRUE(validate_member(input, "GB", kToday).ok());
  for (const char* bad : {"2027-01-01", "1800-01-01", "2008-02-30", "26/11/1990", ""}) {
    input["birth_date"] = bad;
    EXPECT_EQ(error_for(input).field, "birth_date") << bad;
  }
}

TEST(ValidationTest, RefusesCardNumbersInAnyField) {
  for (const char* field : {"name", "address", "payment_token", "card_last4"}) {
    FieldValues input = valid_member();
    input[field] = "4111 1111 1111 1111";
    const Error e = error_for(input);
    EXPECT_EQ(e.field, field);
    EXPECT_NE(e.message.find("card number"), std::string::npos);
  }
}

TEST(ValidationTest, CardDetailsComeTogetherAndWellFormed) {
  FieldValues input = valid_member();
  input["card_brand"] = "VISA";
  EXPECT_EQ(error_for(input).field, "card_last4");
  input["card_last4"] = "42a2";
  EXPECT_EQ(error_for(input).field, "card_last4");
  input["card_last4"] = "4242";
  input["card_expiry"] = "2026-10";
  EXPECT_EQ(error_for(input).field, "card_expiry");
  input["card_expiry"] = "2026-11";
  auto ok = validate_member(input, "GB", kToday);
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->at("card_brand"), "visa");
  input["card_brand"] = "monopoly-money";
  EXPECT_EQ(error_for(input).field, "card_brand");
}

TEST(ValidationTest, TextMustBePrintableUtf8WithinItsLimit) {
  FieldValues input = valid_member();
  input["name"] = std::string(201, 'a');
  EXPECT_EQ(error_for(input).field, "name");
  input["name"] = "bad\x01name";
  EXPECT_EQ(error_for(input).field, "name");
  input["name"] = "Ada\nLovelace";
  EXPECT_EQ(error_for(input).field, "name");
  input["name"] = "\xc3\x28";
  EXPECT_EQ(error_for(input).field, "name");
  input["name"] = "\xed\xa0\x80";  // a UTF-16 surrogate
  EXPECT_EQ(error_for(input).field, "name");
  input["name"] = "Zo\xc3\xab Fran\xc3\xa7oise \xe6\x9d\x8e";
  EXPECT_TRUE(validate_member(input, "GB", kToday).ok());
}

TEST(ValidationTest, PaymentTokensAreTokens) {
  FieldValues input = valid_member();
  input["payment_token"] = "abc";
  EXPECT_EQ(error_for(input).field, "payment_token");
  input["payment_token"] = "tok with spaces";
  EXPECT_EQ(error_for(input).field, "payment_token");
}

TEST(ValidationTest, CountriesMustBeDialable) {
  EXPECT_EQ(*normalise_country("gb"), "GB");
  EXPECT_EQ(*normalise_country("US"), "US");
  EXPECT_EQ(normalise_country("XX").error().field, "country");
  EXPECT_FALSE(normalise_country("GBR").ok());
}

}  // namespace
}  // namespace privox::accounts
