#pragma once
// Structured logs with no personal data. An operator's log system keeps lines for months and
// copies them to places the privacy policy does not reach, so a log line may say WHAT happened
// (subsystem, event) and WHICH record it concerned (ids, counts, durations, codes from fixed sets),
// never WHO: no phone number, SIP user, address, name, email, company name, raw URL path or SIP
// header, and no free-text error message (a store's or a socket's can quote any of those).
//
//   log::warn("sip", "auth.refused", {{"line_count", 3}, {"reason", "bad_password"}});
//
// The types make the safe thing the easy one. Subsystem, event and field keys are string literals
// only. A field's value is an integer, a bool, a double, a Code or an Id; a std::string or a
// `const char*` does not compile. A literal converts to a Code on its own (the source is not
// personal); a code known only at run time must be wrapped by name, `log::Code(to_string(kind))`,
// and must come from a fixed set (an enum's name, a SIP method, a route template), never from
// input. Codes and ids are checked again when written: one that could be an address, a number or
// an email (see `is_safe_code`) is written as "refused_code" / "refused_id" instead.
//
// Output is one line per event on stderr, through spdlog: JSON lines
//   {"ts":"2026-12-05T05:00:00.123456Z","level":"warn","subsystem":"sip","event":"auth.refused",...}
// or, for a person at a terminal, text
//   2026-12-05T05:00:00.123456Z warn sip auth.refused line_count=3 reason=bad_password
// Every function here is thread-safe.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace privox {
struct Error;
}

namespace privox::log {

enum class Level : int { trace = 0, debug, info, warn, error, off };
// automatic: text when stderr is a terminal, JSON lines otherwise.
enum class Format : int { automatic = 0, json, text };

// "trace", "debug", "info", "warn", "error", "off"; nullopt for anything else.
std::optional<Level> parse_level(std::string_view name);
// "auto", "json", "text"; nullopt for anything else.
std::optional<Format> parse_format(std::string_view name);
std::string_view level_name(Level level);

// True for what a Code or Id may hold: 1 to 64 characters of [A-Za-z0-9_.-/{}], no run of more
// than four digits (a phone number, national or international) and no digit-dot-digit (an IPv4
// address). '@', '+', ':', spaces and everything else are refused (emails, E.164, IPv6, SIP URIs,
// names of more than one word). A net under the rule, not the rule: a one-word name passes.
constexpr bool is_safe_code(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  int digits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool digit = c >= '0' && c <= '9';
    const bool ok = digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-' ||
                    c == '/' || c == '{' || c == '}';
    if (!ok) return false;
    digits = digit ? digits + 1 : 0;
    if (digits > 4) return false;
    if (c == '.' && i > 0 && i + 1 < text.size() && text[i - 1] >= '0' && text[i - 1] <= '9' &&
        text[i + 1] >= '0' && text[i + 1] <= '9')
      return false;
  }
  return true;
}

namespace detail {
// Called only when a literal breaks is_safe_code: not constexpr, so the build fails there.
void literal_is_not_a_safe_code();
void name_is_not_a_safe_code();
}  // namespace detail

// A subsystem, event or field key: a string literal, checked at compile time.
class Name {
 public:
  template <size_t N>
  consteval Name(const char (&text)[N]) : text_(text, N - 1) {  // NOLINT(google-explicit-constructor)
    if (!is_safe_code(text_)) detail::name_is_not_a_safe_code();
  }
  constexpr std::string_view text() const { return text_; }

 private:
  std::string_view text_;
};

// A value from a fixed set: an outcome, a reason, an enum's name, a route template. It borrows
// its text, which must outlive the log call (a temporary in the call's arguments does).
class Code {
 public:
  template <size_t N>
  consteval Code(const char (&text)[N]) : text_(text, N - 1) {  // NOLINT(google-explicit-constructor)
    if (!is_safe_code(text_)) detail::literal_is_not_a_safe_code();
  }
  // A code known at run time. It must come from a fixed set, never from a request or a record.
  explicit Code(std::string_view text) : text_(text) {}
  constexpr std::string_view text() const { return text_; }

 private:
  std::string_view text_;
};

// A record's id: a UUID (common/ids.h) or a lower-case hex digest or tag of 8 to 64 digits with at
// least one letter (a ban's hashed source, a login tag); anything else is written "refused_id".
class Id {
 public:
  explicit Id(std::string_view text) : text_(text) {}
  constexpr std::string_view text() const { return text_; }

 private:
  std::string_view text_;
};
bool is_safe_id(std::string_view text);

// The error's kind ("unavailable", "not_found", ...), never its message: messages quote input.
Code error_code(const Error& error);

// A field's value. No constructor takes a string: see the opening comment.
class Value {
 public:
  enum class Kind { int64, uint64, real, boolean, code, id };

  template <std::signed_integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>)
  Value(T v) : kind_(Kind::int64), i_(v) {}  // NOLINT(google-explicit-constructor)
  template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>)
  Value(T v) : kind_(Kind::uint64), u_(v) {}  // NOLINT(google-explicit-constructor)
  template <std::floating_point T>
  Value(T v) : kind_(Kind::real), d_(static_cast<double>(v)) {}  // NOLINT(google-explicit-constructor)
  // A template, so that a pointer (a `const char*`) does not quietly become a bool.
  template <class T>
    requires std::same_as<T, bool>
  Value(T v) : kind_(Kind::boolean), b_(v) {}  // NOLINT(google-explicit-constructor)
  Value(Code v) : kind_(Kind::code), text_(v.text()) {}  // NOLINT(google-explicit-constructor)
  Value(Id v) : kind_(Kind::id), text_(v.text()) {}      // NOLINT(google-explicit-constructor)
  template <size_t N>
  consteval Value(const char (&text)[N]) : kind_(Kind::code), text_(Code(text).text()) {}  // NOLINT

  Kind kind() const { return kind_; }
  int64_t as_int64() const { return i_; }
  uint64_t as_uint64() const { return u_; }
  double as_double() const { return d_; }
  bool as_bool() const { return b_; }
  std::string_view as_text() const { return text_; }

 private:
  Kind kind_;
  int64_t i_ = 0;
  uint64_t u_ = 0;
  double d_ = 0;
  bool b_ = false;
  std::string_view text_;
};

struct Field {
  Name key;
  Value value;
};
using Fields = std::initializer_list<Field>;

// Chooses the output and the lowest level written. Call once at start (main); later calls are
// allowed and take effect for the lines after them.
void configure(Format format, Level level);
// Changes the level only (SIGHUP). False, and nothing changed, for an unknown name.
bool set_level(std::string_view name);
void set_level(Level level);
Level level();
bool enabled(Level level);
// The format configure() resolved (never automatic).
Format format();

// Writes one line if `level` is enabled.
void write(Level level, Name subsystem, Name event, Fields fields = {});
inline void trace(Name subsystem, Name event, Fields fields = {}) { write(Level::trace, subsystem, event, fields); }
inline void debug(Name subsystem, Name event, Fields fields = {}) { write(Level::debug, subsystem, event, fields); }
inline void info(Name subsystem, Name event, Fields fields = {}) { write(Level::info, subsystem, event, fields); }
inline void warn(Name subsystem, Name event, Fields fields = {}) { write(Level::warn, subsystem, event, fields); }
inline void error(Name subsystem, Name event, Fields fields = {}) { write(Level::error, subsystem, event, fields); }

// The line write() would emit at `ts_us` (microseconds since the epoch), without a newline.
// `format` must be json or text.
std::string format_line(Format format, int64_t ts_us, Level level, Name subsystem, Name event, Fields fields);

}  // namespace privox::log
