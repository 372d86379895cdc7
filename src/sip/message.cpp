#include "sip/message.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <utility>

#include "common/ascii.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// How the parser stays fast and safe:
// - One pass over the header block. Lines are found with a 16-bytes-at-a-time scan for control
//   bytes (find_ctl), which finds CRLF, folding and forbidden bytes (NUL, bare CR/LF, other
//   controls) at once; bytes >= 0x80 (UTF-8) pass. Header names are found the same way (find_colon)
//   and classified by length, first letter and one word-wise comparison (classify_header).
// - The sub-parsers (URI, name-addr, Via, parameters) stop where their grammar stops and say where,
//   so a value is read once: no pre-scan for '>' or for the ',' that ends the first Via.
// - Character classes come from one 256-entry table built at compile time from RFC 3261 §25.1.
// - Every index is checked against the end of its string_view; sub-parsers take string_views and
//   never look past them, so nothing reads outside the buffer whatever the input.
// - After the first error the parser keeps reading header lines, so that it can still tell
//   whether a 400 can be formed (ParseError::can_respond); the first error is the one reported.

namespace privox::sip {
namespace {

constexpr size_t npos = std::string_view::npos;
using detail::is_lws;
using detail::trim_lws;

// ---- Character classes (RFC 3261 §25.1) ----

enum : uint16_t {
  kToken = 1 << 0,       // token
  kWord = 1 << 1,        // word (Call-ID), without '@'
  kHost = 1 << 2,        // hostname / IPv4address characters ('_' tolerated)
  kUser = 1 << 3,        // user: unreserved / escaped / user-unreserved
  kPassword = 1 << 4,    // password
  kParamChar = 1 << 5,   // uri-parameter characters, '=' included
  kHeaderChar = 1 << 6,  // uri header characters, '=' and '&' included
  kGenValue = 1 << 7,    // unquoted gen-value: token / host
  kTel = 1 << 8,         // tel: number characters (RFC 3966 phonedigit-hex, visual separators)
  kScheme = 1 << 9,      // scheme characters after the first
  kOpaque = 1 << 10,     // absoluteURI characters
  kHex = 1 << 11,
  kDigit = 1 << 12,
  kAlpha = 1 << 13,
};

constexpr bool in_set(std::string_view set, char c) { return set.find(c) != npos; }

constexpr std::array<uint16_t, 256> make_classes() {
  std::array<uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    const bool alnum = alpha || digit;
    const bool unreserved = alnum || in_set("-_.!~*'()", c);
    uint16_t v = 0;
    if (alnum || in_set("-.!%*_+`'~", c)) v |= kToken;
    if (alnum || in_set("-.!%*_+`'~()<>:\\\"/[]?{}", c)) v |= kWord;
    if (alnum || in_set("-._", c)) v |= kHost;
    if (unreserved || in_set("%&=+$,;?/", c)) v |= kUser;
    if (unreserved || in_set("%&=+$,", c)) v |= kPassword;
    if (unreserved || in_set("%[]/:&+$=", c)) v |= kParamChar;
    if (unreserved || in_set("%[]/?:+$=&", c)) v |= kHeaderChar;
    if (alnum || in_set("-.!%*_+`'~:[]", c)) v |= kGenValue;
    if (digit || in_set("abcdefABCDEF*#+-.()", c)) v |= kTel;
    if (alnum || in_set("+-.", c)) v |= kScheme;
    if (unreserved || in_set("%;/?:@&=+$,#[]", c)) v |= kOpaque;
    if (digit || in_set("abcdefABCDEF", c)) v |= kHex;
    if (digit) v |= kDigit;
    if (alpha) v |= kAlpha;
    t[static_cast<size_t>(i)] = v;
  }
  return t;
}
constexpr std::array<uint16_t, 256> kClass = make_classes();

inline bool is(char c, uint16_t cls) { return (kClass[static_cast<unsigned char>(c)] & cls) != 0; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_ws(char c) { return c == ' ' || c == '\t'; }
inline bool is_ctl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }
constexpr std::array<char, 256> kLower = [] {
  std::array<char, 256> t{};
  for (int i = 0; i < 256; ++i) {
    t[static_cast<size_t>(i)] = static_cast<char>(i >= 'A' && i <= 'Z' ? i + ('a' - 'A') : i);
  }
  return t;
}();
inline char lower(char c) { return kLower[static_cast<unsigned char>(c)]; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}
// `s` equals `lower_literal` (lower-case ASCII) ignoring case.
inline bool equals_lower(std::string_view s, std::string_view lower_literal) {
  if (s.size() != lower_literal.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (lower(s[i]) != lower_literal[i]) return false;
  }
  return true;
}
inline bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline size_t skip_class(std::string_view s, size_t i, uint16_t cls) {
  const size_t n = s.size();
  while (i + 4 <= n && is(s[i], cls) && is(s[i + 1], cls) && is(s[i + 2], cls) && is(s[i + 3], cls)) i += 4;
  while (i < n && is(s[i], cls)) ++i;
  return i;
}
inline size_t skip_lws(std::string_view s, size_t i) {
  while (i < s.size() && is_lws(s[i])) ++i;
  return i;
}
inline bool all_of(std::string_view s, uint16_t cls) { return skip_class(s, 0, cls) == s.size(); }

// s[i] is '"'. Returns the index just past the closing quote, or npos when there is none.
size_t skip_quoted(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {
      ++i;  // quoted-pair: any character but CR and LF
      if (i >= s.size() || s[i] == '\r' || s[i] == '\n') return npos;
    } else if (c == '"') {
      return i + 1;
    }
  }
  return npos;
}

// A decimal number made only of digits, saturated at `cap + 1` so that overlong input cannot
// overflow. False when `s` is empty or holds anything but digits.
bool parse_decimal(std::string_view s, uint64_t cap, uint64_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (const char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > cap) v = cap + 1;
  }
  out = v;
  return true;
}

// Digits at s[i...] as a port 1-65535. Returns the index after them, or npos.
size_t parse_port(std::string_view s, size_t i, uint16_t& port) {
  const size_t start = i;
  uint32_t v = 0;
  while (i < s.size() && is_digit(s[i])) {
    v = v * 10 + static_cast<uint32_t>(s[i] - '0');
    if (v > 65535) return npos;
    ++i;
  }
  if (i == start || v == 0) return npos;
  port = static_cast<uint16_t>(v);
  return i;
}

bool valid_ipv4(std::string_view s) {
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
    const size_t start = i;
    unsigned v = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
    if (i == start || v > 255) return false;
  }
  return i == s.size();
}

// IPv6address (RFC 3261 §25.1): up to eight 1-4 digit hex groups, one "::" at most, an IPv4
// address in place of the last two groups.
bool valid_ipv6(std::string_view s) {
  const size_t n = s.size();
  if (n < 2 || n > 45) return false;
  int groups = 0;
  bool compressed = false;
  size_t i = 0;
  if (s[0] == ':') {
    if (s[1] != ':') return false;
    compressed = true;
    i = 2;
  }
  while (i < n) {
    const size_t e = skip_class(s, i, kHex);
    if (e < n && s[e] == '.') {
      if (!valid_ipv4(s.substr(i))) return false;
      groups += 2;
      break;
    }
    if (e == i || e - i > 4) return false;
    ++groups;
    i = e;
    if (i == n) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < n && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
    } else if (i == n) {
      return false;  // a trailing single ':'
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

// host at s[i...]: an IPv6 reference in brackets, or hostname / IPv4address characters.
// Returns the index after it, or npos.
size_t parse_host(std::string_view s, size_t i, std::string_view& host, bool& ipv6) {
  if (i < s.size() && s[i] == '[') {
    const size_t close = s.find(']', i + 1);
    if (close == npos) return npos;
    host = s.substr(i + 1, close - i - 1);
    if (!valid_ipv6(host)) return npos;
    ipv6 = true;
    return close + 1;
  }
  const size_t e = skip_class(s, i, kHost);
  if (e == i) return npos;
  host = s.substr(i, e - i);
  return e;
}

// generic-param *( SEMI generic-param ) with LWS allowed around ';' and '=' (RFC 3261 §25.1): the
// header parameters of From, To, Contact, Route and Via, from s[i] just after a ';'. Returns where
// the list stops (after trailing LWS), or npos when a parameter is malformed.
size_t scan_generic_params(std::string_view s, size_t i) {
  const size_t n = s.size();
  for (;;) {
    i = skip_lws(s, i);
    const size_t name_end = skip_class(s, i, kToken);
    if (name_end == i) return npos;
    i = skip_lws(s, name_end);
    if (i < n && s[i] == '=') {
      i = skip_lws(s, i + 1);
      if (i < n && s[i] == '"') {
        i = skip_quoted(s, i);
        if (i == npos) return npos;
      } else {
        const size_t e = skip_class(s, i, kGenValue);
        if (e == i) return npos;
        i = e;
      }
      i = skip_lws(s, i);
    }
    if (i >= n || s[i] != ';') return i;
    ++i;
  }
}

// uri-parameters from s[i] just after the first ';': each pname ["=" pvalue], pname non-empty.
// Returns where they stop, or npos.
size_t scan_uri_params(std::string_view s, size_t i) {
  for (;;) {
    const size_t e = skip_class(s, i, kParamChar);
    if (e == i || s[i] == '=') return npos;
    if (e >= s.size() || s[e] != ';') return e;
    i = e + 1;
  }
}

// Finds a parameter by case-insensitive name in a ';'-separated list; lenient about whitespace
// and folding, and about syntax it does not need to find the name.
std::optional<std::string_view> find_param(std::string_view s, std::string_view name) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    bool quoted = false;
    for (; j < n; ++j) {
      const char c = s[j];
      if (quoted) {
        if (c == '\\') {
          if (j + 1 < n) ++j;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ';') {
        break;
      }
    }
    const std::string_view segment = s.substr(i, j - i);
    const size_t eq = segment.find('=');
    if (iequals(trim_lws(segment.substr(0, eq)), name)) {
      return eq == npos ? std::string_view{} : trim_lws(segment.substr(eq + 1));
    }
    i = j + 1;
  }
  return std::nullopt;
}

// The URI parsers below start at the text after "scheme:" and stop at the first character that
// cannot continue the URI (the '>' of a name-addr, say). They return where they stopped, or npos.

size_t parse_sip_uri(std::string_view r, Uri& u) {
  const size_t n = r.size();
  size_t i = 0;
  // userinfo = user [ ":" password ] "@". Neither part may hold '@', and the user no ':', so a run
  // of user characters ending at '@' (or at ':' and then password characters ending at '@') is
  // the userinfo; otherwise there is none and the host starts at r[0].
  const size_t user_end = skip_class(r, 0, kUser);
  if (user_end < n && r[user_end] == '@') {
    u.user = r.substr(0, user_end);
    i = user_end + 1;
  } else if (user_end < n && r[user_end] == ':') {
    const size_t password_end = skip_class(r, user_end + 1, kPassword);
    if (password_end < n && r[password_end] == '@') {
      u.user = r.substr(0, user_end);
      u.password = r.substr(user_end + 1, password_end - user_end - 1);
      i = password_end + 1;
    }
  }
  if (i > 0 && u.user.empty()) return npos;
  i = parse_host(r, i, u.host, u.ipv6);
  if (i == npos) return npos;
  if (i < n && r[i] == ':') {
    i = parse_port(r, i + 1, u.port);
    if (i == npos) return npos;
  }
  if (i < n && r[i] == ';') {
    const size_t e = scan_uri_params(r, i + 1);
    if (e == npos) return npos;
    u.params = r.substr(i + 1, e - i - 1);
    i = e;
  }
  if (i < n && r[i] == '?') {
    const size_t e = skip_class(r, i + 1, kHeaderChar);
    if (e == i + 1) return npos;
    u.headers = r.substr(i + 1, e - i - 1);
    i = e;
  }
  return i;
}

size_t parse_tel_uri(std::string_view r, Uri& u) {
  const size_t e = skip_class(r, 0, kTel);
  if (e == 0) return npos;
  u.user = r.substr(0, e);
  if (e >= r.size() || r[e] != ';') return e;
  const size_t params_end = scan_uri_params(r, e + 1);
  if (params_end == npos) return npos;
  u.params = r.substr(e + 1, params_end - e - 1);
  return params_end;
}

// callid = word [ "@" word ]
bool valid_call_id(std::string_view v) {
  const size_t e = skip_class(v, 0, kWord);
  if (e == 0) return false;
  if (e == v.size()) return true;
  if (v[e] != '@') return false;
  const size_t right_end = skip_class(v, e + 1, kWord);
  return right_end > e + 1 && right_end == v.size();
}

// CSeq = 1*DIGIT LWS Method, the number below 2^31 (RFC 3261 §8.1.1.5).
bool parse_cseq(std::string_view v, CSeq& out) {
  const size_t n = v.size();
  size_t i = 0;
  uint64_t number = 0;
  while (i < n && is_digit(v[i])) {
    number = number * 10 + static_cast<uint64_t>(v[i] - '0');
    if (number > 0x7fffffffu) return false;
    ++i;
  }
  if (i == 0) return false;
  const size_t m = skip_lws(v, i);
  if (m == i) return false;
  if (m == n || skip_class(v, m, kToken) != n) return false;
  out.number = static_cast<uint32_t>(number);
  out.method_text = v.substr(m);
  out.method = parse_method(out.method_text);
  return true;
}

// ---- Line scanning ----

// The first byte in [p, end) that is a control character (< 0x20 or DEL), or end. Sixteen bytes at
// a time with SSE2 (min(b, 0x1f) == b for b <= 0x1f), then eight at a time in a word: for each
// byte b, (b - 0x20) & ~b has its top bit set when b < 0x20, and the lowest such bit is exact (a
// borrow only carries upwards, out of a byte that was itself below 0x20); the same holds for the
// zero test on b ^ 0x7f.
inline const char* find_ctl(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i k1f = _mm_set1_epi8(0x1f);
  const __m128i k7f = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    __m128i x;
    std::memcpy(&x, p, sizeof x);
    const __m128i ctl = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, k1f), x), _mm_cmpeq_epi8(x, k7f));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(ctl));
    if (mask != 0) return p + std::countr_zero(mask);
    p += 16;
  }
#endif
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101ull;
    constexpr uint64_t kHigh = 0x8080808080808080ull;
    while (end - p >= 8) {
      uint64_t x;
      std::memcpy(&x, p, sizeof x);
      const uint64_t below_space = (x - kOnes * 0x20) & ~x & kHigh;
      const uint64_t y = x ^ (kOnes * 0x7f);
      const uint64_t del = (y - kOnes) & ~y & kHigh;
      const uint64_t hits = below_space | del;
      if (hits != 0) return p + (std::countr_zero(hits) >> 3);
      p += 8;
    }
  }
  while (p < end && !is_ctl(*p)) ++p;
  return p;
}

// The first ':' or control byte other than HT at or after p, or end: where a header name stops.
inline const char* find_colon(const char* p, const char* end) {
  for (;;) {
#if defined(__SSE2__)
    const __m128i k1f = _mm_set1_epi8(0x1f);
    const __m128i k7f = _mm_set1_epi8(0x7f);
    const __m128i colon = _mm_set1_epi8(':');
    while (end - p >= 16) {
      __m128i x;
      std::memcpy(&x, p, sizeof x);
      const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, k1f), x), _mm_cmpeq_epi8(x, k7f)),
                                       _mm_cmpeq_epi8(x, colon));
      const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
      if (mask != 0) {
        p += std::countr_zero(mask);
        break;
      }
      p += 16;
    }
#endif
    while (p < end && *p != ':' && !is_ctl(*p)) ++p;
    if (p == end || *p != '\t') return p;
    ++p;  // HT may stand between the name and the colon
  }
}

struct LineEnd {
  const char* end;   // where the line's content stops (at its CR, or at the buffer's end)
  const char* next;  // the start of the next line
  bool complete;     // a CRLF ends the line
  bool bad;          // a control character other than HT, or a CR or LF not in a CRLF
};

// Scans one line from p; with `fold`, CRLF followed by SP or HT continues it (RFC 3261 §7.3.1).
inline LineEnd scan_line(const char* p, const char* end, bool fold) {
  bool bad = false;
  for (;;) {
    p = find_ctl(p, end);
    if (p == end) return {end, end, false, bad};
    if (*p == '\r' && end - p == 1) return {p, end, false, bad};  // the LF may still come
    if (*p == '\r' && p[1] == '\n') {
      if (fold && end - p >= 3 && is_ws(p[2])) {
        p += 3;
        continue;
      }
      return {p, p + 2, true, bad};
    }
    if (*p != '\t') bad = true;
    ++p;
  }
}

// The slow path for a header line in which scan_line found a control character: the line is still
// valid if every such character is the escaped one of a quoted-pair inside a quoted string (RFC
// 3261 §25.1 lets quoted-pair escape %x00-09 / %x0B-0C / %x0E-7F; RFC 4475 §3.1.1.3 does it).
// `line` runs from the start of the value to the line's final CR, folds included.
bool controls_only_escaped(std::string_view line) {
  const size_t n = line.size();
  bool quoted = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = line[i];
    if (c == '\r') {
      if (i + 2 >= n || line[i + 1] != '\n' || !is_ws(line[i + 2])) return false;  // not a fold
      i += 2;
    } else if (quoted && c == '\\') {
      ++i;
      if (i >= n || line[i] == '\r' || line[i] == '\n') return false;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (is_ctl(c) && c != '\t') {
      return false;
    }
  }
  return true;
}

// "SIP/2.0", case-insensitively (RFC 3261 §7.1).
inline bool is_sip_2_0(std::string_view v) { return iequals(v, "SIP/2.0"); }
// "SIP" "/" 1*DIGIT "." 1*DIGIT: a version, if not one privox speaks.
bool is_sip_version(std::string_view v) {
  if (!istarts_with(v, "SIP/")) return false;
  const size_t dot = v.find('.', 4);
  if (dot == npos) return false;
  const std::string_view major = v.substr(4, dot - 4);
  const std::string_view minor = v.substr(dot + 1);
  return !major.empty() && !minor.empty() && all_of(major, kDigit) && all_of(minor, kDigit);
}

// A header name known at compile time, as the words classify_header compares: a name of n >= 8
// characters as the 8-byte words at 0, n - 8 and (above 16) 8; a shorter one as 4-byte words at 0
// and n - 4. OR-ing 0x20 into the letter positions only lower-cases exactly: for a lower-case
// letter L, c | 0x20 == L holds only for L and its upper case.
struct NameKey {
  std::string_view name;
  Header id;
  uint64_t word[3];
  uint64_t mask[3];
};

constexpr uint64_t pack(std::string_view s, size_t at, size_t len, bool letter_mask) {
  uint64_t w = 0;
  for (size_t j = 0; j < len; ++j) {
    const char c = s[at + j];
    const uint64_t b = letter_mask ? ((c >= 'a' && c <= 'z') ? 0x20 : 0) : static_cast<unsigned char>(c);
    w |= b << (8 * j);
  }
  return w;
}

consteval NameKey key(std::string_view lower_name, Header id) {
  const size_t n = lower_name.size();
  const size_t len = n >= 8 ? 8 : 4;
  const size_t at[3] = {0, n - len, n > 16 ? size_t{8} : size_t{0}};
  NameKey k{lower_name, id, {}, {}};
  for (size_t w = 0; w < 3; ++w) {
    k.word[w] = pack(lower_name, at[w], len, false);
    k.mask[w] = pack(lower_name, at[w], len, true);
  }
  return k;
}

inline uint64_t load_word(const char* p, size_t len) {
  if (len == 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    return x;
  }
  uint32_t x;
  std::memcpy(&x, p, 4);
  return x;
}

inline Header match(std::string_view name, const NameKey& k) {
  const size_t n = k.name.size();
  if (name.size() != n) return Header::other;
  if constexpr (std::endian::native == std::endian::little) {
    const size_t len = n >= 8 ? 8 : 4;
    const char* p = name.data();
    if ((load_word(p, len) | k.mask[0]) != k.word[0]) return Header::other;
    if ((load_word(p + n - len, len) | k.mask[1]) != k.word[1]) return Header::other;
    if (n > 16 && (load_word(p + 8, 8) | k.mask[2]) != k.word[2]) return Header::other;
    return k.id;
  } else {
    return iequals(name, k.name) ? k.id : Header::other;
  }
}

// For the two names under four characters.
inline Header match_short(std::string_view name, std::string_view lower_name, Header id) {
  return iequals(name, lower_name) ? id : Header::other;
}

}  // namespace

// ---- Small public functions ----

Method parse_method(std::string_view t) {
  switch (t.size()) {
    case 3:
      if (t == "ACK") return Method::ack;
      if (t == "BYE") return Method::bye;
      break;
    case 4:
      if (t == "INFO") return Method::info;
      break;
    case 5:
      if (t == "PRACK") return Method::prack;
      if (t == "REFER") return Method::refer;
      break;
    case 6:
      if (t == "INVITE") return Method::invite;
      if (t == "CANCEL") return Method::cancel;
      if (t == "UPDATE") return Method::update;
      if (t == "NOTIFY") return Method::notify;
      break;
    case 7:
      if (t == "OPTIONS") return Method::options;
      if (t == "MESSAGE") return Method::message;
      if (t == "PUBLISH") return Method::publish;
      break;
    case 8:
      if (t == "REGISTER") return Method::register_;
      break;
    case 9:
      if (t == "SUBSCRIBE") return Method::subscribe;
      break;
    default:
      break;
  }
  return Method::unknown;
}

std::string_view to_string(Method method) {
  switch (method) {
    case Method::invite:
      return "INVITE";
    case Method::ack:
      return "ACK";
    case Method::bye:
      return "BYE";
    case Method::cancel:
      return "CANCEL";
    case Method::register_:
      return "REGISTER";
    case Method::options:
      return "OPTIONS";
    case Method::message:
      return "MESSAGE";
    case Method::info:
      return "INFO";
    case Method::prack:
      return "PRACK";
    case Method::update:
      return "UPDATE";
    case Method::subscribe:
      return "SUBSCRIBE";
    case Method::notify:
      return "NOTIFY";
    case Method::refer:
      return "REFER";
    case Method::publish:
      return "PUBLISH";
    case Method::unknown:
      break;
  }
  return "";
}

// A switch on length, then on the first letter, then one case-insensitive comparison.
Header classify_header(std::string_view n) {
  if (n.empty()) return Header::other;
  const char c = lower(n[0]);
  switch (n.size()) {
    case 1:
      switch (c) {
        case 'v':
          return Header::via;
        case 'f':
          return Header::from;
        case 't':
          return Header::to;
        case 'i':
          return Header::call_id;
        case 'm':
          return Header::contact;
        case 'l':
          return Header::content_length;
        case 'c':
          return Header::content_type;
        case 'k':
          return Header::supported;
        case 's':
          return Header::subject;
        case 'o':
          return Header::event;
        case 'e':
          return Header::content_encoding;
        default:
          return Header::other;
      }
    case 2:
      return match_short(n, "to", Header::to);
    case 3:
      return match_short(n, "via", Header::via);
    case 4:
      return c == 'f' ? match(n, key("from", Header::from)) : match(n, key("cseq", Header::cseq));
    case 5:
      switch (c) {
        case 'r':
          return match(n, key("route", Header::route));
        case 'a':
          return match(n, key("allow", Header::allow));
        case 'e':
          return match(n, key("event", Header::event));
        default:
          return Header::other;
      }
    case 6:
      return match(n, key("server", Header::server));
    case 7:
      switch (c) {
        case 'c':
          return lower(n[1]) == 'a' ? match(n, key("call-id", Header::call_id))
                                    : match(n, key("contact", Header::contact));
        case 'e':
          return match(n, key("expires", Header::expires));
        case 'p':
          return match(n, key("privacy", Header::privacy));
        case 'r':
          return match(n, key("require", Header::require));
        case 's':
          return match(n, key("subject", Header::subject));
        default:
          return Header::other;
      }
    case 9:
      return match(n, key("supported", Header::supported));
    case 10:
      return match(n, key("user-agent", Header::user_agent));
    case 11:
      return c == 'm' ? match(n, key("min-expires", Header::min_expires))
                      : match(n, key("retry-after", Header::retry_after));
    case 12:
      switch (c) {
        case 'm':
          return match(n, key("max-forwards", Header::max_forwards));
        case 'r':
          return match(n, key("record-route", Header::record_route));
        case 'c':
          return match(n, key("content-type", Header::content_type));
        default:
          return Header::other;
      }
    case 13:
      return c == 'a' ? match(n, key("authorization", Header::authorization))
                      : match(n, key("proxy-require", Header::proxy_require));
    case 14:
      return match(n, key("content-length", Header::content_length));
    case 16:
      return c == 'w' ? match(n, key("www-authenticate", Header::www_authenticate))
                      : match(n, key("content-encoding", Header::content_encoding));
    case 18:
      return match(n, key("proxy-authenticate", Header::proxy_authenticate));
    case 19:
      return lower(n[1]) == 'r' ? match(n, key("proxy-authorization", Header::proxy_authorization))
                                : match(n, key("p-asserted-identity", Header::p_asserted_identity));
    case 20:
      return match(n, key("p-preferred-identity", Header::p_preferred_identity));
    default:
      return Header::other;
  }
}

std::optional<std::string_view> Uri::param(std::string_view name) const { return find_param(params, name); }
std::optional<std::string_view> NameAddr::param(std::string_view name) const { return find_param(params, name); }
std::optional<std::string_view> Via::param(std::string_view name) const { return find_param(params, name); }

// ---- URI, name-addr, Via ----

// The parsers below fill a caller's struct, so that parse_message writes straight into the Message;
// on failure the struct holds partial results.
namespace {

// A URI at s[0]; returns where it stops, or npos.
size_t parse_uri_prefix(std::string_view s, Uri& u) {
  u = Uri{};
  if (s.empty() || !is(s[0], kAlpha)) return npos;
  const size_t colon = skip_class(s, 1, kScheme);
  if (colon >= s.size() || s[colon] != ':') return npos;
  u.scheme = s.substr(0, colon);
  const std::string_view rest = s.substr(colon + 1);
  size_t e;
  if (equals_lower(u.scheme, "sip") || equals_lower(u.scheme, "sips")) {
    e = parse_sip_uri(rest, u);
  } else if (equals_lower(u.scheme, "tel")) {
    e = parse_tel_uri(rest, u);
  } else {
    e = skip_class(rest, 0, kOpaque);
  }
  if (e == npos || e == 0) return npos;
  return colon + 1 + e;
}

bool parse_uri_into(std::string_view s, Uri& u) { return parse_uri_prefix(s, u) == s.size(); }

// name-addr = [ display-name ] LAQUOT addr-spec RAQUOT, or a bare addr-spec, then *( SEMI param ).
bool parse_name_addr_into(std::string_view value, NameAddr& na) {
  const std::string_view s = trim_lws(value);
  const size_t n = s.size();
  na.display = {};
  na.uri_text = {};
  na.params = {};
  na.wildcard = false;
  if (n == 0 || (n == 1 && s[0] == '*')) {
    na.uri = Uri{};
    na.wildcard = n == 1;
    return n == 1;
  }
  size_t laquot = npos;
  if (s[0] == '"') {
    const size_t q = skip_quoted(s, 0);
    if (q == npos) return false;
    na.display = s.substr(1, q - 2);
    laquot = skip_lws(s, q);
    if (laquot >= n || s[laquot] != '<') return false;
  } else {
    // An unquoted display-name is *(token LWS); anything else before '<' makes this an addr-spec.
    size_t j = 0;
    while (j < n && (is(s[j], kToken) || is_lws(s[j]))) ++j;
    if (j < n && s[j] == '<') {
      na.display = trim_lws(s.substr(0, j));
      laquot = j;
    }
  }
  size_t rest;
  if (laquot != npos) {
    // No LWS inside the brackets: the URI must end exactly at '>' (RFC 4475 §3.1.2.14).
    const std::string_view inner = s.substr(laquot + 1);
    const size_t e = parse_uri_prefix(inner, na.uri);
    if (e == npos || e >= inner.size() || inner[e] != '>') return false;
    na.uri_text = inner.substr(0, e);
    rest = laquot + e + 2;
  } else {
    // RFC 3261 §20.10: a URI holding ',', '?' or ';' must be in <>, so ';' starts the params.
    size_t e = 0;
    while (e < n && s[e] != ';' && !is_lws(s[e])) ++e;
    na.uri_text = s.substr(0, e);
    if (na.uri_text.find_first_of("?,") != npos || !parse_uri_into(na.uri_text, na.uri)) return false;
    rest = e;
  }
  rest = skip_lws(s, rest);
  if (rest == n) return true;
  if (s[rest] != ';') return false;
  na.params = trim_lws(s.substr(rest + 1));
  return scan_generic_params(s, rest + 1) == n;
}

// via-parm = sent-protocol LWS sent-by *( SEMI via-params ), SLASH and COLON with SWS around.
// Returns where it stops (the end, or the ',' before another via-parm), or npos.
size_t parse_via_prefix(std::string_view s, Via& v) {
  const size_t n = s.size();
  v = Via{};
  size_t e = skip_class(s, 0, kToken);
  if (!equals_lower(s.substr(0, e), "sip")) return npos;
  size_t i = skip_lws(s, e);
  if (i >= n || s[i] != '/') return npos;
  i = skip_lws(s, i + 1);
  e = skip_class(s, i, kToken);
  if (s.substr(i, e - i) != "2.0") return npos;
  i = skip_lws(s, e);
  if (i >= n || s[i] != '/') return npos;
  i = skip_lws(s, i + 1);
  e = skip_class(s, i, kToken);
  if (e == i) return npos;
  v.transport = s.substr(i, e - i);
  i = skip_lws(s, e);
  if (i == e) return npos;  // LWS between sent-protocol and sent-by is mandatory
  i = parse_host(s, i, v.host, v.ipv6);
  if (i == npos) return npos;
  i = skip_lws(s, i);
  if (i < n && s[i] == ':') {
    i = parse_port(s, skip_lws(s, i + 1), v.port);
    if (i == npos) return npos;
    i = skip_lws(s, i);
  }
  if (i >= n || s[i] != ';') return i;
  e = scan_generic_params(s, i + 1);
  if (e == npos) return npos;
  v.params = trim_lws(s.substr(i + 1, e - i - 1));
  return e;
}

bool parse_via_into(std::string_view one_value, Via& v) {
  const std::string_view s = trim_lws(one_value);
  return parse_via_prefix(s, v) == s.size();
}

}  // namespace

std::optional<std::string> uri_header(std::string_view headers, std::string_view name) {
  std::string out;
  while (!headers.empty()) {
    const size_t amp = headers.find('&');
    std::string_view field = headers.substr(0, amp);
    headers.remove_prefix(amp == std::string_view::npos ? headers.size() : amp + 1);
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos || !iequals_ascii(field.substr(0, eq), name)) continue;
    const std::string_view value = field.substr(eq + 1);
    for (size_t i = 0; i < value.size(); ++i) {
      char c = value[i];
      if (c == '%') {
        if (i + 2 >= value.size()) return std::nullopt;
        unsigned byte = 0;
        for (size_t k = 1; k <= 2; ++k) {
          const char h = value[i + k];
          const int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
          if (digit < 0) return std::nullopt;
          byte = byte * 16 + static_cast<unsigned>(digit);
        }
        c = static_cast<char>(byte);
        i += 2;
      }
      if (c < 0x21 || c > 0x7e) return std::nullopt;  // a header value set from a URI: no CR, LF or controls
      out += c;
    }
    if (out.empty() || out.size() > 512) return std::nullopt;
    return out;
  }
  return std::string();
}

std::optional<Uri> parse_uri(std::string_view text) {
  Uri u;
  if (!parse_uri_into(text, u)) return std::nullopt;
  return u;
}

std::optional<NameAddr> parse_name_addr(std::string_view value) {
  NameAddr na;
  if (!parse_name_addr_into(value, na)) return std::nullopt;
  return na;
}

std::optional<Via> parse_via(std::string_view one_value) {
  Via v;
  if (!parse_via_into(one_value, v)) return std::nullopt;
  return v;
}

// ---- Messages ----

const HeaderField* Message::first(Header id) const {
  for (size_t i = 0; i < header_count_; ++i) {
    if (headers_[i].id == id) return &headers_[i];
  }
  return nullptr;
}

struct Parser {
  static bool parse(std::string_view bytes, Message& m, ParseError& error);
};

bool Parser::parse(std::string_view bytes, Message& m, ParseError& error) {
  m.bytes_ = {};
  m.method_ = Method::unknown;
  m.method_text_ = {};
  m.request_uri_text_ = {};
  m.request_uri_ = Uri{};
  m.status_ = 0;
  m.reason_ = {};
  m.header_count_ = 0;
  m.call_id_ = {};
  m.cseq_ = CSeq{};
  m.max_forwards_ = -1;
  m.body_ = {};

  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (end - p >= 2 && p[0] == '\r' && p[1] == '\n') p += 2;  // RFC 3261 §7.5
  const char* const start = p;

  const char* first_error = nullptr;
  int error_status = 400;
  auto fail = [&](const char* reason, int status = 400) {
    if (first_error == nullptr) {
      first_error = reason;
      error_status = status;
    }
  };

  if (p == end) {
    error.reason = "Empty message";
    error.can_respond = false;
    error.status = 400;
    return false;
  }

  // Start line (RFC 3261 §7.1, §7.2).
  const LineEnd sl = scan_line(p, end, /*fold=*/false);
  const std::string_view line(p, static_cast<size_t>(sl.end - p));
  const bool is_response = istarts_with(line, "SIP/");
  bool request_line_ok = false;
  if (!sl.complete) {
    fail("Message ends in the start line");
  } else if (sl.bad) {
    fail("Invalid character in start line");
  } else if (is_response) {
    const size_t sp = line.find(' ');
    const std::string_view version = line.substr(0, sp);
    if (!is_sip_2_0(version)) {
      fail(is_sip_version(version) ? "Unsupported SIP version" : "Malformed status line");
    } else {
      // Status-Code is exactly three digits, 100-699; the Reason-Phrase may be empty.
      const std::string_view code = sp == npos ? std::string_view{} : line.substr(sp + 1, 3);
      const bool code_ok = code.size() == 3 && all_of(code, kDigit) && code[0] >= '1' && code[0] <= '6' &&
                           (line.size() == sp + 4 || line[sp + 4] == ' ');
      if (!code_ok) {
        fail("Invalid status code");
      } else {
        m.status_ = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
        m.reason_ = line.size() > sp + 4 ? line.substr(sp + 5) : std::string_view{};
      }
    }
  } else {
    // Method SP Request-URI SP SIP-Version, exactly one SP each (RFC 4475 §3.1.2.9, §3.1.2.10).
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == npos ? npos : line.find(' ', sp1 + 1);
    if (sp2 == npos || sp1 == 0 || !all_of(line.substr(0, sp1), kToken) || sp2 == sp1 + 1) {
      fail("Malformed request line");
    } else {
      const std::string_view method = line.substr(0, sp1);
      const std::string_view uri_text = line.substr(sp1 + 1, sp2 - sp1 - 1);
      const std::string_view version = line.substr(sp2 + 1);
      m.method_ = parse_method(method);
      m.method_text_ = method;
      m.request_uri_text_ = uri_text;
      if (!is_sip_2_0(version)) {
        if (is_sip_version(version)) {
          fail("Unsupported SIP version", 505);
        } else {
          fail("Malformed request line");
        }
      }
      // Headers are not allowed in a Request-URI (RFC 3261 §19.1.1, RFC 4475 §3.1.2.11).
      if (!parse_uri_into(uri_text, m.request_uri_) || !m.request_uri_.headers.empty()) {
        m.request_uri_ = Uri{};
        fail("Malformed Request-URI");
      } else {
        request_line_ok = true;
      }
    }
  }
  p = sl.next;

  // Header lines (RFC 3261 §7.3).
  bool have_via = false, have_from = false, have_to = false, have_call_id = false, have_cseq = false;
  bool via_ok = false, from_ok = false, to_ok = false, call_id_ok = false, cseq_ok = false;
  bool have_max_forwards = false, have_content_length = false, content_length_ok = false;
  bool too_many = false;
  bool headers_ended = false;
  uint64_t content_length = 0;
  size_t count = 0;

  while (p < end) {
    if (p[0] == '\r' && end - p >= 2 && p[1] == '\n') {
      p += 2;
      headers_ended = true;
      break;
    }
    // field-name HCOLON: a token, maybe SP or HT ("TO :", RFC 4475 §3.1.1.1), then ':'. A name
    // classify_header recognises matched a literal, so only other names need the token check.
    const char* const name_begin = p;
    const char* const colon = find_colon(p, end);
    const char* name_end = colon;
    while (name_end > name_begin && is_ws(name_end[-1])) --name_end;
    const std::string_view name(name_begin, static_cast<size_t>(name_end - name_begin));
    const Header id = classify_header(name);
    const bool name_ok = colon < end && *colon == ':' && !name.empty() && (id != Header::other || all_of(name, kToken));
    const char* const value_begin = colon < end && *colon == ':' ? colon + 1 : colon;
    const LineEnd le = scan_line(value_begin, end, /*fold=*/true);
    p = le.next;
    if (!le.complete) break;
    if (!name_ok) {
      fail("Malformed header line");
      continue;
    }
    if (le.bad && !controls_only_escaped({value_begin, static_cast<size_t>(le.end - value_begin)})) {
      fail("Invalid character in header");
      continue;
    }
    const std::string_view value = trim_lws({value_begin, static_cast<size_t>(le.end - value_begin)});
    if (count == Message::kMaxHeaders) {
      too_many = true;
      fail("Too many headers");
    } else {
      m.headers_[count++] = HeaderField{id, name, value};
    }

    switch (id) {
      case Header::via:
        if (!have_via) {
          have_via = true;
          // The first via-parm ends at the value's end or at the ',' before the next one.
          const size_t e = parse_via_prefix(value, m.top_via_);
          if (e != npos && (e == value.size() || value[e] == ',')) {
            via_ok = true;
          } else {
            fail("Malformed Via header");
          }
        }
        break;
      case Header::from:
      case Header::to: {
        const bool is_from = id == Header::from;
        if (std::exchange(is_from ? have_from : have_to, true)) {
          fail(is_from ? "Duplicate From header" : "Duplicate To header");
          break;
        }
        NameAddr& na = is_from ? m.from_ : m.to_;
        if (parse_name_addr_into(value, na) && !na.wildcard) {
          (is_from ? from_ok : to_ok) = true;
        } else {
          fail(is_from ? "Malformed From header" : "Malformed To header");
        }
        break;
      }
      case Header::call_id:
        if (std::exchange(have_call_id, true)) {
          fail("Duplicate Call-ID header");
        } else if (valid_call_id(value)) {
          m.call_id_ = value;
          call_id_ok = true;
        } else {
          fail("Malformed Call-ID header");
        }
        break;
      case Header::cseq:
        if (std::exchange(have_cseq, true)) {
          fail("Duplicate CSeq header");
        } else if (parse_cseq(value, m.cseq_)) {
          cseq_ok = true;
        } else {
          fail("Malformed CSeq");
        }
        break;
      case Header::max_forwards: {
        uint64_t hops = 0;
        if (std::exchange(have_max_forwards, true)) {
          fail("Duplicate Max-Forwards header");
        } else if (parse_decimal(value, 255, hops) && hops <= 255) {
          m.max_forwards_ = static_cast<int>(hops);
        } else {
          fail("Invalid Max-Forwards");
        }
        break;
      }
      case Header::content_length:
        if (std::exchange(have_content_length, true)) {
          fail("Duplicate Content-Length header");
        } else if (parse_decimal(value, uint64_t{1} << 40, content_length)) {
          content_length_ok = true;
        } else {
          fail("Malformed Content-Length");
        }
        break;
      case Header::contact:
        for_each_value(value, [&fail](std::string_view v) {
          NameAddr contact;
          if (parse_name_addr_into(v, contact)) return true;
          fail("Malformed Contact header");
          return false;
        });
        break;
      default:
        break;
    }
  }
  if (!headers_ended) fail("Message ends before the empty line after the headers");
  // Leave nothing from a half-parsed value or from the previous message.
  if (!via_ok) m.top_via_ = Via{};
  if (!from_ok) m.from_ = NameAddr{};
  if (!to_ok) m.to_ = NameAddr{};

  if (!have_via) fail("Missing Via header");
  if (!have_from) fail("Missing From header");
  if (!have_to) fail("Missing To header");
  if (!have_call_id) fail("Missing Call-ID header");
  if (!have_cseq) fail("Missing CSeq header");
  if (request_line_ok && cseq_ok && m.cseq_.method_text != m.method_text_) {
    fail("CSeq method does not match request method");
  }

  // Body (RFC 3261 §18.3, §20.14): cut to Content-Length; shorter than it is an error.
  const char* body_end = end;
  if (headers_ended) {
    const size_t available = static_cast<size_t>(end - p);
    if (!have_content_length) {
      m.body_ = {p, available};
    } else if (content_length_ok) {
      if (content_length > available) {
        fail("Content-Length larger than body");
      } else {
        m.body_ = {p, static_cast<size_t>(content_length)};
        body_end = p + content_length;
      }
    }
  }
  m.bytes_ = {start, static_cast<size_t>(body_end - start)};
  m.header_count_ = count;

  if (first_error != nullptr) {
    error.reason = first_error;
    error.status = error_status;
    // A 400 copies every Via; with headers left out some could be missing, so none is sent.
    error.can_respond =
        !is_response && m.method_ != Method::ack && via_ok && from_ok && to_ok && call_id_ok && cseq_ok && !too_many;
    return false;
  }
  error.reason.clear();
  error.can_respond = false;
  error.status = 400;
  return true;
}

bool parse_message(std::string_view bytes, Message& out, ParseError& error) { return Parser::parse(bytes, out, error); }

// ---- TCP framing ----

namespace {

Frame invalid_frame(const char* reason) {
  Frame f;
  f.kind = Frame::invalid;
  f.reason = reason;
  return f;
}

Frame sized_frame(Frame::Kind kind, size_t length) {
  Frame f;
  f.kind = kind;
  f.length = length;
  return f;
}

// A request line ends with " SIP/..."; a status line starts with "SIP/".
bool looks_like_start_line(std::string_view line) {
  if (istarts_with(line, "SIP/")) return true;
  const size_t sp = line.rfind(' ');
  return sp != npos && istarts_with(line.substr(sp + 1), "SIP/");
}

}  // namespace

// frame_stream(), which also tells (in `pending`) the whole message's length when its headers are
// complete but its body is not.
Frame frame_stream_impl(std::string_view stream, size_t max_message_bytes, size_t* pending) {
  const size_t size = stream.size();
  if (size == 0) return Frame{};

  // Keep-alives (RFC 5626 §4.4.1): "\r\n\r\n" is a ping, "\r\n" a pong.
  if (stream[0] == '\r' || stream[0] == '\n') {
    if (stream[0] == '\n') return invalid_frame("Bare LF in stream");
    if (size < 2) return Frame{};
    if (stream[1] != '\n') return invalid_frame("Bare CR in stream");
    if (size == 2 || stream[2] != '\r') return sized_frame(Frame::keepalive, 2);
    if (size == 3) return Frame{};
    return sized_frame(Frame::keepalive, stream[3] == '\n' ? 4 : 2);
  }

  // Only the first max_message_bytes can belong to this message; once that many bytes are here
  // without a complete header block, more data cannot help.
  const size_t limit = std::min(size, max_message_bytes);
  const bool at_limit = size >= max_message_bytes;
  const char* const begin = stream.data();
  const char* const end = begin + limit;
  auto need_more = [at_limit]() { return at_limit ? invalid_frame("Message too large") : Frame{}; };

  if (limit == 0) return need_more();
  if (!is(stream[0], kToken)) return invalid_frame("Malformed start line");
  const LineEnd sl = scan_line(begin, end, /*fold=*/false);
  if (sl.bad) return invalid_frame("Invalid character in start line");
  if (!sl.complete) return need_more();
  if (!looks_like_start_line({begin, static_cast<size_t>(sl.end - begin)})) {
    return invalid_frame("Malformed start line");
  }

  const char* p = sl.next;
  bool have_length = false;
  uint64_t length = 0;
  for (;;) {
    if (end - p < 2) return need_more();
    if (p[0] == '\r' && p[1] == '\n') {
      p += 2;
      break;
    }
    const char* q = p;
    while (q < end && is(*q, kToken)) ++q;
    const std::string_view name(p, static_cast<size_t>(q - p));
    while (q < end && is_ws(*q)) ++q;
    const bool has_colon = q < end && *q == ':';
    const char* const value_begin = has_colon ? q + 1 : q;
    const LineEnd le = scan_line(value_begin, end, /*fold=*/true);
    if (!le.complete) return need_more();
    if (le.bad && (!has_colon || !controls_only_escaped({value_begin, static_cast<size_t>(le.end - value_begin)}))) {
      return invalid_frame("Invalid character in header");
    }
    if (has_colon && (name.size() == 1 || name.size() == 14) && classify_header(name) == Header::content_length) {
      uint64_t v = 0;
      if (!parse_decimal(trim_lws({value_begin, static_cast<size_t>(le.end - value_begin)}), uint64_t{1} << 40, v)) {
        return invalid_frame("Malformed Content-Length");
      }
      if (have_length && v != length) return invalid_frame("Conflicting Content-Length headers");
      have_length = true;
      length = v;
    }
    p = le.next;
  }

  const size_t header_bytes = static_cast<size_t>(p - begin);
  if (!have_length) return invalid_frame("Missing Content-Length header");  // RFC 3261 §18.3
  if (length > max_message_bytes - header_bytes) return invalid_frame("Message too large");
  if (size - header_bytes < length) {
    if (pending) *pending = header_bytes + static_cast<size_t>(length);
    return Frame{};
  }
  return sized_frame(Frame::message, header_bytes + static_cast<size_t>(length));
}

Frame frame_stream(std::string_view stream, size_t max_message_bytes) {
  return frame_stream_impl(stream, max_message_bytes, nullptr);
}

void StreamFramer::reset() {
  searched_ = 0;
  frame_length_ = 0;
  start_checked_ = false;
}

Frame StreamFramer::next(std::string_view stream) {
  const size_t size = stream.size();
  if (size == 0) return Frame{};
  // Keep-alives are decided by their first four bytes at most.
  if (stream[0] == '\r' || stream[0] == '\n') {
    examined_ += std::min<size_t>(size, 4);
    Frame f = frame_stream_impl(stream.substr(0, std::min<size_t>(size, 4)), max_, nullptr);
    if (f.kind != Frame::incomplete) reset();
    return f;
  }
  // The headers were complete: only the body's length is awaited.
  if (frame_length_ != 0) {
    if (size < frame_length_) return Frame{};
    const size_t length = frame_length_;
    reset();
    return sized_frame(Frame::message, length);
  }
  auto decide = [&](size_t scanned) {
    examined_ += scanned;
    size_t pending = 0;
    Frame f = frame_stream_impl(stream, max_, &pending);
    if (f.kind == Frame::incomplete && pending != 0) frame_length_ = pending;
    else if (f.kind != Frame::incomplete) reset();
    return f;
  };
  // The start line is checked as soon as it is whole, so that a stream of garbage is refused at
  // once rather than when the limit is reached. Once per message.
  // No '\n' was in the bytes searched before (or the start line would have been checked then).
  if (!start_checked_) {
    examined_ += size - searched_;
    if (std::memchr(stream.data() + searched_, '\n', size - searched_) != nullptr) {
      start_checked_ = true;
      Frame f = decide(size);
      if (f.kind != Frame::incomplete || frame_length_ != 0) return f;
    }
  }
  // The headers end at the first empty line: the first CRLF CRLF (a fold is CRLF then SP or HT).
  const size_t from = searched_ >= 3 ? searched_ - 3 : 0;
  examined_ += size - from;
  const std::string_view tail = stream.substr(from);
  const size_t at = tail.find("\r\n\r\n");
  if (at == std::string_view::npos) {
    searched_ = size;
    if (size >= max_) return decide(0);  // no header block fits: frame_stream says so
    return Frame{};
  }
  searched_ = size;
  return decide(from + at + 4);
}

}  // namespace privox::sip
