#include "common/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>

#include "common/result.h"

namespace privox {
namespace {

// A string from a request or a record must not reach a log line by accident: none of these compile.
static_assert(!std::is_constructible_v<log::Value, std::string>);
static_assert(!std::is_constructible_v<log::Value, const std::string&>);
static_assert(!std::is_constructible_v<log::Value, std::string_view>);
static_assert(!std::is_constructible_v<log::Value, const char*>);
static_assert(!std::is_convertible_v<std::string_view, log::Code>, "a run-time code is wrapped by name");
static_assert(!std::is_constructible_v<log::Name, std::string>);
static_assert(!std::is_constructible_v<log::Name, const char*>);

constexpr int64_t kTs = 1'796'446'800'123'456;  // 2026-12-05T05:00:00.123456Z

// Restores the level and format the test binary runs with (app/test_main.cpp).
class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { log::configure(log::Format::text, log::Level::warn); }
};

TEST_F(LogTest, JsonLineCarriesLevelSubsystemEventAndTypedFields) {
  const std::string line =
      log::format_line(log::Format::json, kTs, log::Level::info, "sip", "register.refused",
                       {{"line", 42}, {"reason", "bad_password"}, {"tcp", true}, {"size", uint64_t{7}},
                        {"ratio", 0.5}, {"member", log::Id("0190c3b2-7c5e-7a3d-8e21-5f3a9b7c1d2e")}});
  EXPECT_EQ(line, R"({"ts":"2026-12-05T05:00:00.123456Z","level":"info","subsystem":"sip","event":"register.refused",)"
                  R"("line":42,"reason":"bad_password","tcp":true,"size":7,"ratio":0.5,)"
                  R"("member":"0190c3b2-7c5e-7a3d-8e21-5f3a9b7c1d2e"})");
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["line"], 42);
}

TEST_F(LogTest, TextLineIsKeyEqualsValue) {
  EXPECT_EQ(log::format_line(log::Format::text, kTs, log::Level::warn, "sip", "register.refused",
                             {{"line", 42}, {"reason", "bad_password"}}),
            "2026-12-05T05:00:00.123456Z warn sip register.refused line=42 reason=bad_password");
  EXPECT_EQ(log::format_line(log::Format::text, kTs, log::Level::error, "store", "down", {}),
            "2026-12-05T05:00:00.123456Z error store down");
}

TEST_F(LogTest, RunTimeCodesThatCouldBePersonalAreRefusedAndTheLineStaysValidJson) {
  const std::string quote = "bad\"code";
  const std::string email = "alice@example.com";  // a literal would not compile: see is_safe_code
  const std::string line = log::format_line(
      log::Format::json, kTs, log::Level::warn, "portal", "x",
      {{"a", log::Code(quote)}, {"b", log::Code(email)}, {"c", log::Id("+447700900123")}});
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["a"], "refused_code");
  EXPECT_EQ(parsed["b"], "refused_code");
  EXPECT_EQ(parsed["c"], "refused_id");
}

TEST_F(LogTest, SafeCodesRefuseWhatLooksLikeAPerson) {
  for (const char* ok : {"bad_password", "INVITE", "/api/v1/members/{id}", "sha-256", "v1.x", "2xx", "1001"})
    EXPECT_TRUE(log::is_safe_code(ok)) << ok;
  for (const char* no : {"", "alice@example.com", "+447700900123", "07700900123", "12345", "192.168.1.10",
                         "2001:db8::1", "sip:alice@host", "Alice Smith", "a=b", "x\ny",
                         "0123456789012345678901234567890123456789012345678901234567890123456789"})
    EXPECT_FALSE(log::is_safe_code(no)) << no;
  EXPECT_TRUE(log::is_safe_id("0190c3b2-7c5e-7a3d-8e21-5f3a9b7c1d2e"));
  EXPECT_TRUE(log::is_safe_id("3fa9b2c01d"));
  EXPECT_FALSE(log::is_safe_id("4477009001")) << "all digits: could be a number";
  EXPECT_FALSE(log::is_safe_id("alice"));
}

TEST_F(LogTest, ErrorsAreLoggedByKindNeverByMessage) {
  const Error e = invalid("email", "not an address: alice@example.com");
  const std::string line = log::format_line(log::Format::json, kTs, log::Level::warn, "portal", "signup.failed",
                                            {{"error", log::error_code(e)}});
  EXPECT_EQ(nlohmann::json::parse(line)["error"], "invalid_argument");
  EXPECT_EQ(line.find("alice"), std::string::npos);
}

TEST_F(LogTest, LevelsAndFormatsParseByName) {
  EXPECT_EQ(log::parse_level("debug"), log::Level::debug);
  EXPECT_EQ(log::parse_level("off"), log::Level::off);
  EXPECT_FALSE(log::parse_level("verbose"));
  EXPECT_FALSE(log::parse_level("INFO"));
  EXPECT_EQ(log::parse_format("auto"), log::Format::automatic);
  EXPECT_EQ(log::parse_format("json"), log::Format::json);
  EXPECT_FALSE(log::parse_format("xml"));
}

TEST_F(LogTest, SetLevelByNameRefusesUnknownNamesAndKeepsTheLevel) {
  log::configure(log::Format::json, log::Level::info);
  EXPECT_FALSE(log::set_level("loud"));
  EXPECT_EQ(log::level(), log::Level::info);
  EXPECT_TRUE(log::set_level("error"));
  EXPECT_EQ(log::level(), log::Level::error);
  EXPECT_FALSE(log::enabled(log::Level::warn));
  EXPECT_TRUE(log::enabled(log::Level::error));
  EXPECT_FALSE(log::enabled(log::Level::off)) << "off is a threshold, never a line's level";
}

TEST_F(LogTest, WritesOneJsonLinePerEnabledEventToStderr) {
  log::configure(log::Format::json, log::Level::info);
  ::testing::internal::CaptureStderr();
  log::debug("test", "hidden", {{"n", 1}});
  log::info("test", "shown", {{"n", 2}});
  const std::string out = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(out.find("hidden"), std::string::npos);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  const auto parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed["level"], "info");
  EXPECT_EQ(parsed["subsystem"], "test");
  EXPECT_EQ(parsed["event"], "shown");
  EXPECT_EQ(parsed["n"], 2);
}

TEST_F(LogTest, LevelChangesWhileOtherThreadsWrite) {
  log::configure(log::Format::json, log::Level::off);
  std::thread writer([] {
    for (int i = 0; i < 1000; ++i) log::trace("test", "busy", {{"i", i}});
  });
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(log::set_level(i % 2 == 0 ? "off" : "error"));
  writer.join();
  EXPECT_EQ(log::level(), log::Level::error);
}

// Every line goes through common/log: a direct spdlog call takes a format string and any string,
// which is how a phone number or an address gets into a log.
TEST(LogUsageTest, NoCodeButCommonLogCallsSpdlog) {
  namespace fs = std::filesystem;
  const fs::path src = fs::path(PRIVOX_SOURCE_DIR) / "src";
  size_t read = 0;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const fs::path& path = entry.path();
    if (path.extension() != ".cpp" && path.extension() != ".h") continue;
    if (path.parent_path().filename() == "common" && (path.stem() == "log" || path.stem() == "log_test")) continue;
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    ++read;
    EXPECT_EQ(text.str().find("spdlog"), std::string::npos)
        << fs::relative(path, src).string() << " uses spdlog directly; log through common/log.h";
  }
  EXPECT_GT(read, 100u) << "the source tree was not found at " << src;
}

}  // namespace
}  // namespace privox
