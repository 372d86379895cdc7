// The hand-written JSON of json_out.h against nlohmann's: byte for byte for any valid text, and
// U+FFFD for each byte that starts no well-formed UTF-8 sequence.
#include "portal/json_out.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace privox::portal::json_out {
namespace {

std::string written(std::string_view text) {
  std::string out;
  append_string(out, text);
  return out;
}

TEST(JsonOutTest, ValidTextIsWhatNlohmannPrints) {
  std::string every_ascii;
  for (int c = 0; c < 0x80; ++c) every_ascii += static_cast<char>(c);
  for (const std::string& text :
       {std::string(), std::string("+15551230000"), std::string("\"quoted\" \\ back/slash"), every_ascii,
        std::string("J\xC3\xBCrgen \xE2\x82\xAC \xF0\x9F\x93\x9E \xF4\x8F\xBF\xBF \xEE\x80\x80")})
    EXPECT_EQ(written(text), nlohmann::json(text).dump()) << text;
}

TEST(JsonOutTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string text, expected;
  } cases[] = {
      {"a\xFF" "b", "\"a" + fffd + "b\""},
      {"\xC0\xAF", "\"" + fffd + fffd + "\""},              // overlong '/'
      {"\xED\xA0\x80", "\"" + fffd + fffd + fffd + "\""},   // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", "\"" + fffd + fffd + fffd + fffd + "\""},  // past U+10FFFF
      {"end \xE2\x82", "\"end " + fffd + fffd + "\""},       // cut short
  };
  for (const Case& c : cases) {
    EXPECT_EQ(written(c.text), c.expected) << c.text;
    EXPECT_TRUE(nlohmann::json::accept(written(c.text))) << c.text;
  }
}

TEST(JsonOutTest, AbsentValuesAndUnsetTimesAreNull) {
  std::string out;
  append_optional(out, std::nullopt);
  out += ',';
  append_optional(out, "x");
  out += ',';
  append_time(out, 0);
  out += ',';
  append_time(out, 1'795'000'000'000'000);
  EXPECT_EQ(out, "null,\"x\",null," + nlohmann::json(format_utc(1'795'000'000'000'000)).dump());
}

}  // namespace
}  // namespace privox::portal::json_out
