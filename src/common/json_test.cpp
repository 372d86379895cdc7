#include "common/json.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <string>

namespace privox::json {
namespace {

std::string nested(char open, char close, size_t depth) { return std::string(depth, open) + std::string(depth, close); }

TEST(JsonTest, ParsesOrdinaryDocuments) {
  Result<nlohmann::json> j = parse_untrusted(R"({"a": [1, 2, {"b": "c"}], "d": null})");
  ASSERT_TRUE(j.ok()) << j.error().describe();
  EXPECT_EQ((*j)["a"][2]["b"], "c");
}

TEST(JsonTest, RefusesNestingPastTheLimitWithoutRecursing) {
  // 70,000 levels (the attack's body) would overflow a thread's stack in any recursive walk.
  for (const char* pair : {"[]", "{}"}) {
    std::string text = pair[0] == '[' ? nested('[', ']', 70'000) : std::string();
    if (text.empty()) {
      for (int i = 0; i < 70'000; ++i) text += "{\"a\":";
      text += "1" + std::string(70'000, '}');
    }
    Result<nlohmann::json> j = parse_untrusted(text);
    ASSERT_FALSE(j.ok()) << pair;
    EXPECT_EQ(j.error().field, "body");
    EXPECT_NE(j.error().message.find("nested deeper than"), std::string::npos) << j.error().message;
  }
}

TEST(JsonTest, TheLimitIsExact) {
  EXPECT_TRUE(parse_untrusted(nested('[', ']', 4), 4).ok());
  EXPECT_FALSE(parse_untrusted(nested('[', ']', 5), 4).ok());
  EXPECT_TRUE(parse_untrusted(nested('[', ']', kDefaultMaxDepth)).ok());
  EXPECT_FALSE(parse_untrusted(nested('[', ']', kDefaultMaxDepth + 1)).ok());
}

TEST(JsonTest, NamesTheOffsetOfASyntaxError) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "nul", "{} trailing", "\"\\u12\""}) {
    Result<nlohmann::json> j = parse_untrusted(bad);
    ASSERT_FALSE(j.ok()) << bad;
    EXPECT_NE(j.error().message.find("not valid JSON"), std::string::npos) << j.error().message;
  }
}

TEST(JsonTest, DumpLenientReplacesInvalidUtf8InsteadOfThrowing) {
  nlohmann::json j = {{"path", std::string("/a\xff\xfe")}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);
  const std::string text = dump_lenient(j);
  EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos) << "U+FFFD in place of the bad bytes";
  EXPECT_TRUE(parse_untrusted(text).ok());
}

TEST(JsonTest, TellsWellFormedUtf8FromEverythingElse) {
  for (const char* good : {"", "plain ascii", "J\xC3\xBCrgen", "\xE2\x82\xAC", "\xF0\x9F\x93\x9E", "\xF4\x8F\xBF\xBF",
                           "\xED\x9F\xBF"})
    EXPECT_TRUE(is_utf8(good)) << good;
  for (const char* bad : {"\xFF", "a\xFE", "\x80", "\xC3", "\xC3(", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF",
                          "\xED\xA0\x80", "\xF0\x80\x80\xAF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xE2\x82",
                          "\xE2\x28\xAC", "\xF0\x9F\x93"})
    EXPECT_FALSE(is_utf8(bad)) << ::testing::PrintToString(std::string(bad));
}

}  // namespace
}  // namespace privox::json
