#include "portal/json_out.h"

#include <fmt/format.h>

#include "common/clock.h"

namespace privox::portal::json_out {
namespace {

// The length of the well-formed UTF-8 sequence starting at `at`, or 0 when there is none there.
size_t utf8_sequence_length(std::string_view s, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  struct Form {
    unsigned char lead_min, lead_max;
    size_t length;
    unsigned char second_min, second_max;
  };
  // RFC 3629's well-formed sequences: no overlong forms, no surrogates, nothing past U+10FFFF.
  static constexpr Form kForms[] = {{0xC2, 0xDF, 2, 0x80, 0xBF}, {0xE0, 0xE0, 3, 0xA0, 0xBF},
                                    {0xE1, 0xEC, 3, 0x80, 0xBF}, {0xED, 0xED, 3, 0x80, 0x9F},
                                    {0xEE, 0xEF, 3, 0x80, 0xBF}, {0xF0, 0xF0, 4, 0x90, 0xBF},
                                    {0xF1, 0xF3, 4, 0x80, 0xBF}, {0xF4, 0xF4, 4, 0x80, 0x8F}};
  const unsigned char lead = byte(at);
  for (const Form& f : kForms) {
    if (lead < f.lead_min || lead > f.lead_max) continue;
    if (at + f.length > s.size() || byte(at + 1) < f.second_min || byte(at + 1) > f.second_max) return 0;
    for (size_t i = 2; i < f.length; ++i)
      if ((byte(at + i) & 0xC0) != 0x80) return 0;
    return f.length;
  }
  return 0;
}

}  // namespace

void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    // Plain ASCII (nearly all of a call log) is copied a run at a time.
    size_t plain = i;
    while (plain < s.size() && static_cast<unsigned char>(s[plain]) >= 0x20 &&
           static_cast<unsigned char>(s[plain]) < 0x80 && s[plain] != '"' && s[plain] != '\\')
      ++plain;
    out.append(s.substr(i, plain - i));
    i = plain;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8_sequence_length(s, i);
      out.append(n ? s.substr(i, n) : std::string_view("\xEF\xBF\xBD"));
      i += n ? n : 1;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

void append_optional(std::string& out, const std::optional<std::string>& value) {
  if (value) append_string(out, *value);
  else out += "null";
}

void append_time(std::string& out, int64_t us) {
  if (us) append_string(out, format_utc(us));
  else out += "null";
}

}  // namespace privox::portal::json_out
