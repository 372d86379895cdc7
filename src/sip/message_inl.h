#pragma once
// Template definitions for sip/message.h. Include sip/message.h, not this file.

#include <array>
#include <functional>
#include <string_view>
#include <type_traits>

#include "sip/message.h"

namespace privox::sip {
namespace detail {

// LWS inside a header value: SP and HT, and the CR LF of a folded line.
constexpr bool is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

constexpr std::string_view trim_lws(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && is_lws(s[b])) ++b;
  while (e > b && is_lws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// The characters that end a run inside a comma-separated list: ',' and the openers of the two
// spans a comma does not split.
inline constexpr std::array<bool, 256> kListSpecial = [] {
  std::array<bool, 256> t{};
  t[static_cast<unsigned char>(',')] = true;
  t[static_cast<unsigned char>('"')] = true;
  t[static_cast<unsigned char>('<')] = true;
  return t;
}();

// Calls `f(v)` and says whether to go on; a callable returning void always goes on.
template <class F>
bool invoke_each(F& f, std::string_view v) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&, std::string_view>>) {
    std::invoke(f, v);
    return true;
  } else {
    return static_cast<bool>(std::invoke(f, v));
  }
}

// Header kinds whose ABNF is a comma-separated list (RFC 3261 §7.3.1, §25; RFC 3325).
constexpr bool is_list_header(Header id) {
  switch (id) {
    case Header::via:
    case Header::contact:
    case Header::route:
    case Header::record_route:
    case Header::p_asserted_identity:
    case Header::p_preferred_identity:
    case Header::supported:
    case Header::require:
    case Header::proxy_require:
    case Header::allow:
    case Header::content_encoding:
      return true;
    default:
      return false;
  }
}

}  // namespace detail

template <class F>
bool for_each_value(std::string_view value, F&& each) {
  const size_t n = value.size();
  size_t i = 0;
  while (i < n) {
    const size_t start = i;
    // Runs of ordinary characters are skipped by table; '<' skips to '>', '"' to its closing quote.
    for (;;) {
      while (i < n && !detail::kListSpecial[static_cast<unsigned char>(value[i])]) ++i;
      if (i >= n || value[i] == ',') break;
      if (value[i] == '<') {
        const size_t close = value.find('>', i + 1);
        i = close == std::string_view::npos ? n : close + 1;
        continue;
      }
      for (++i; i < n && value[i] != '"'; ++i) {
        if (value[i] == '\\') ++i;  // quoted-pair: the next character is literal
      }
      i = i < n ? i + 1 : n;
    }
    const std::string_view element = detail::trim_lws(value.substr(start, i - start));
    if (!element.empty() && !detail::invoke_each(each, element)) return false;
    ++i;  // past the comma (or past the end, which ends the loop)
  }
  return true;
}

template <class F>
void Message::for_each(Header id, F&& each) const {
  const bool list = detail::is_list_header(id);
  for (size_t i = 0; i < header_count_; ++i) {
    const HeaderField& h = headers_[i];
    if (h.id != id) continue;
    if (list) {
      if (!for_each_value(h.value, each)) return;
    } else if (!detail::invoke_each(each, h.value)) {
      return;
    }
  }
}

}  // namespace privox::sip
