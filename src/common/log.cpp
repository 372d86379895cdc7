#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fmt/format.h>

#include "common/ids.h"
#include "common/result.h"

namespace privox::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<int> g_format{static_cast<int>(Format::text)};

// The structured lines' own logger: the line is whole when it reaches spdlog ("%v"), so the
// sink's mutex keeps lines from interleaving and nothing else shapes them.
spdlog::logger& structured_logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto made = std::make_shared<spdlog::logger>("privox.structured",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
    made->set_pattern("%v");
    made->set_level(spdlog::level::trace);  // filtered here, by g_level
    made->flush_on(spdlog::level::trace);
    return made;
  }();
  return *logger;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::off;
}

// Code not yet converted that still calls spdlog directly: text as before on a terminal; in JSON
// a well-formed line that drops the message, since nobody checked that message for personal data.
void shape_unstructured(Format format, Level level) {
  static const bool on_stderr = [] {  // spdlog's own default logger writes to stdout
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("privox", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
    return true;
  }();
  (void)on_stderr;
  if (format == Format::json)
    spdlog::set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","subsystem":"unstructured",)"
                        R"("event":"unstructured"})",
                        spdlog::pattern_time_type::utc);
  else
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(to_spdlog(level));
}

void append_timestamp(std::string& out, int64_t ts_us) {
  const std::time_t seconds = static_cast<std::time_t>(ts_us / 1'000'000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", parts.tm_year + 1900,
                 parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, ts_us % 1'000'000);
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        else
          out += c;
    }
  }
  out += '"';
}

// The text a Code or Id is written as: itself, or the refusal that stands in for it.
std::string_view shown_text(const Value& v) {
  if (v.kind() == Value::Kind::code) return is_safe_code(v.as_text()) ? v.as_text() : "refused_code";
  return is_safe_id(v.as_text()) ? v.as_text() : "refused_id";
}

void append_value(std::string& out, const Value& v, bool json) {
  switch (v.kind()) {
    case Value::Kind::int64: fmt::format_to(std::back_inserter(out), "{}", v.as_int64()); return;
    case Value::Kind::uint64: fmt::format_to(std::back_inserter(out), "{}", v.as_uint64()); return;
    case Value::Kind::real:
      if (!std::isfinite(v.as_double())) out += json ? "null" : "nan";
      else fmt::format_to(std::back_inserter(out), "{}", v.as_double());
      return;
    case Value::Kind::boolean: out += v.as_bool() ? "true" : "false"; return;
    case Value::Kind::code:
    case Value::Kind::id:
      if (json) append_json_string(out, shown_text(v));
      else out += shown_text(v);
      return;
  }
}

int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

namespace detail {
void literal_is_not_a_safe_code() {}
void name_is_not_a_safe_code() {}
}  // namespace detail

std::optional<Level> parse_level(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Level::off); ++i)
    if (level_name(static_cast<Level>(i)) == name) return static_cast<Level>(i);
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "auto") return Format::automatic;
  if (name == "json") return Format::json;
  if (name == "text") return Format::text;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
  }
  return "off";
}

bool is_safe_id(std::string_view text) {
  if (is_valid_id(text)) return true;
  if (text.size() < 8 || text.size() > 64) return false;
  bool letter = false;
  for (const char c : text) {
    if (c >= 'a' && c <= 'f') letter = true;
    else if (c < '0' || c > '9') return false;
  }
  return letter;  // all digits could be a phone number
}

Code error_code(const Error& error) { return Code(std::string_view(to_string(error.code))); }

void configure(Format format, Level level) {
  if (format == Format::automatic) format = ::isatty(STDERR_FILENO) == 1 ? Format::text : Format::json;
  g_format.store(static_cast<int>(format));
  set_level(level);
}

void set_level(Level level) {
  g_level.store(static_cast<int>(level));
  shape_unstructured(static_cast<Format>(g_format.load()), level);
}

bool set_level(std::string_view name) {
  const std::optional<Level> parsed = parse_level(name);
  if (!parsed) return false;
  set_level(*parsed);
  return true;
}

Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }
Format format() { return static_cast<Format>(g_format.load(std::memory_order_relaxed)); }

bool enabled(Level at) { return at != Level::off && static_cast<int>(at) >= g_level.load(std::memory_order_relaxed); }

std::string format_line(Format format, int64_t ts_us, Level level, Name subsystem, Name event, Fields fields) {
  std::string out;
  out.reserve(160);
  if (format == Format::json) {
    out += R"({"ts":")";
    append_timestamp(out, ts_us);
    out += R"(","level":)";
    append_json_string(out, level_name(level));
    out += R"(,"subsystem":)";
    append_json_string(out, subsystem.text());
    out += R"(,"event":)";
    append_json_string(out, event.text());
    for (const Field& f : fields) {
      out += ',';
      append_json_string(out, f.key.text());
      out += ':';
      append_value(out, f.value, true);
    }
    out += '}';
    return out;
  }
  append_timestamp(out, ts_us);
  fmt::format_to(std::back_inserter(out), " {} {} {}", level_name(level), subsystem.text(), event.text());
  for (const Field& f : fields) {
    fmt::format_to(std::back_inserter(out), " {}=", f.key.text());
    append_value(out, f.value, false);
  }
  return out;
}

void write(Level at, Name subsystem, Name event, Fields fields) {
  if (!enabled(at)) return;
  const std::string line = format_line(format(), wall_now_us(), at, subsystem, event, fields);
  structured_logger().log(to_spdlog(at), "{}", line);
}

}  // namespace privox::log
