#include "sip/digest.h"

#include <openssl/crypto.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "common/random.h"

namespace privox::sip {
namespace {

using accounts::kMaxDigestSize;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes exactly 2 * size hex digits (either case) into `out`.
bool from_hex(std::string_view hex, uint8_t* out, size_t size) {
  if (hex.size() != 2 * size) return false;
  for (size_t i = 0; i < size; ++i) {
    const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

// ---- parsing -------------------------------------------------------------------------------

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// Character classes as one table look-up each: the quoted-string scan is most of the parse.
enum CharClass : uint8_t {
  kToken = 1,   // RFC 3261 §25.1 token characters
  kQdtext = 2,  // what a quoted string holds as it is: not '"', '\\' or a control character
};
constexpr std::array<uint8_t, 256> kCharClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0x20; c < 0x100; ++c) t[static_cast<size_t>(c)] = kQdtext;
  t[0x7f] = 0;
  t['"'] = 0;
  t['\\'] = 0;
  t['\t'] = kQdtext;
  for (int c = 0; c < 0x80; ++c) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("-.!%*_+`'~").find(static_cast<char>(c)) != std::string_view::npos;
    if (token) t[static_cast<size_t>(c)] |= kToken;
  }
  return t;
}();

bool has_class(char c, CharClass cls) { return (kCharClass[static_cast<unsigned char>(c)] & cls) != 0; }

// The parameters privox reads; each may appear once.
enum Param : unsigned {
  kUsername,
  kRealm,
  kNonce,
  kUri,
  kResponse,
  kAlgorithm,
  kCnonce,
  kOpaque,
  kQop,
  kNc,
  kParamCount,
};
constexpr std::string_view kParamNames[kParamCount] = {
    "username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "opaque", "qop", "nc",
};

// The Param a name (any case) stands for, or kParamCount for one privox ignores.
unsigned param_index(std::string_view name) {
  auto is = [&](Param p) { return iequals(name, kParamNames[p]); };
  switch (name.size()) {
    case 2:
      return is(kNc) ? kNc : kParamCount;
    case 3:
      return is(kUri) ? kUri : is(kQop) ? kQop : kParamCount;
    case 5:
      return is(kRealm) ? kRealm : is(kNonce) ? kNonce : kParamCount;
    case 6:
      return is(kCnonce) ? kCnonce : is(kOpaque) ? kOpaque : kParamCount;
    case 8:
      return is(kUsername) ? kUsername : is(kResponse) ? kResponse : kParamCount;
    case 9:
      return is(kAlgorithm) ? kAlgorithm : kParamCount;
    default:
      return kParamCount;
  }
}

class CredentialsParser {
 public:
  explicit CredentialsParser(std::string_view s) : s_(s) {}

  std::optional<DigestCredentials> parse() {
    skip_lws();
    const std::string_view scheme = token();
    if (!iequals(scheme, "Digest")) return std::nullopt;
    const size_t after_scheme = i_;
    skip_lws();
    if (i_ == after_scheme || at_end()) return std::nullopt;  // "Digest" LWS digest-response

    DigestCredentials out;
    std::string_view* fields[kParamCount] = {
        &out.username,       &out.realm,  &out.nonce,  &out.uri, &out.response,
        &out.algorithm_text, &out.cnonce, &out.opaque, &out.qop, &out.nc_text,
    };
    unsigned seen = 0;
    while (true) {
      skip_lws();
      if (at_end()) break;
      if (s_[i_] == ',') {  // an empty list element (RFC 9110 §5.6.1 asks recipients to skip them)
        ++i_;
        continue;
      }
      const std::string_view name = token();
      if (name.empty()) return std::nullopt;
      skip_lws();
      if (at_end() || s_[i_] != '=') return std::nullopt;
      ++i_;
      skip_lws();
      std::optional<std::string_view> value = param_value();
      if (!value) return std::nullopt;
      if (const unsigned p = param_index(name); p != kParamCount) {
        if (seen & (1u << p)) return std::nullopt;
        seen |= 1u << p;
        *fields[p] = *value;
      }
      skip_lws();
      if (at_end()) break;
      if (s_[i_] != ',') return std::nullopt;
      ++i_;
    }

    constexpr unsigned kRequired = 1u << kUsername | 1u << kRealm | 1u << kNonce | 1u << kUri | 1u << kResponse;
    if ((seen & kRequired) != kRequired) return std::nullopt;

    if (seen & (1u << kAlgorithm)) out.algorithm = parse_digest_algorithm(out.algorithm_text);

    if (seen & (1u << kQop)) {
      if (!(seen & (1u << kCnonce)) || !(seen & (1u << kNc)) || out.qop.empty()) return std::nullopt;
      if (out.nc_text.size() != 8) return std::nullopt;
      uint32_t nc = 0;
      for (char c : out.nc_text) {
        const int v = hex_value(c);
        if (v < 0) return std::nullopt;
        nc = nc << 4 | static_cast<uint32_t>(v);
      }
      out.nc = nc;
    } else {
      // Without qop the response covers neither nc nor cnonce, so a count the client sent anyway
      // proves nothing: drop it, so the nonce is good for one request (see NonceService).
      out.nc_text = {};
      out.cnonce = {};
      out.nc = 0;
    }
    out.unescaped = std::move(buffer_);
    return out;
  }

 private:
  bool at_end() const { return i_ >= s_.size(); }

  // Skips SP, HTAB and folds (CRLF, or a bare LF, followed by SP or HTAB).
  void skip_lws() {
    while (!at_end()) {
      const char c = s_[i_];
      if (is_wsp(c)) {
        ++i_;
      } else if (c == '\r' && i_ + 2 < s_.size() && s_[i_ + 1] == '\n' && is_wsp(s_[i_ + 2])) {
        i_ += 3;
      } else if (c == '\n' && i_ + 1 < s_.size() && is_wsp(s_[i_ + 1])) {
        i_ += 2;
      } else {
        break;
      }
    }
  }

  // The length of the fold starting at `at` (CRLF or LF, then 1*WSP), or 0 when there is none.
  size_t fold_length(size_t at) const {
    size_t j = at;
    if (j < s_.size() && s_[j] == '\r') ++j;
    if (j >= s_.size() || s_[j] != '\n') return 0;
    ++j;
    if (j >= s_.size() || !is_wsp(s_[j])) return 0;
    while (j < s_.size() && is_wsp(s_[j])) ++j;
    return j - at;
  }

  // Advances i_ past characters of class `cls`.
  void skip_class(CharClass cls) {
    const char* p = s_.data() + i_;
    const char* const end = s_.data() + s_.size();
    while (p < end && has_class(*p, cls)) ++p;
    i_ = static_cast<size_t>(p - s_.data());
  }

  std::string_view token() {
    const size_t start = i_;
    skip_class(kToken);
    return s_.substr(start, i_ - start);
  }

  std::optional<std::string_view> param_value() {
    if (at_end()) return std::nullopt;
    if (s_[i_] == '"') return quoted_string();
    std::string_view t = token();
    if (t.empty()) return std::nullopt;
    return t;
  }

  // A quoted-string at i_ (RFC 3261 §25.1). Returns its content: a view into the input when it
  // holds no escapes or folds, else a decoded copy in buffer_.
  std::optional<std::string_view> quoted_string() {
    ++i_;  // the opening quote
    const size_t start = i_;
    bool plain = true;
    while (true) {
      skip_class(kQdtext);
      if (at_end()) return std::nullopt;
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') break;
      if (c == '\\') {
        // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F). Escaped control characters are refused
        // as well: no client needs them, and a NUL or a line break has no business in a user name.
        if (i_ + 1 >= s_.size()) return std::nullopt;
        const auto e = static_cast<unsigned char>(s_[i_ + 1]);
        if ((e < 0x20 && e != '\t') || e >= 0x7f) return std::nullopt;
        plain = false;
        i_ += 2;
      } else if (c == '\r' || c == '\n') {
        const size_t fold = fold_length(i_);
        if (fold == 0) return std::nullopt;
        plain = false;
        i_ += fold;
      } else {
        return std::nullopt;  // any other control character
      }
    }
    const std::string_view raw = s_.substr(start, i_ - start);
    ++i_;  // the closing quote
    if (plain) return raw;

    // Decoded values are never longer than their raw text, so one buffer the size of the input
    // holds them all, and views into it stay valid while it fills.
    if (buffer_ == nullptr) buffer_ = std::shared_ptr<char[]>(new char[s_.size()]);
    char* const begin = buffer_.get() + used_;
    char* out = begin;
    for (size_t j = start; j < start + raw.size();) {
      const char c = s_[j];
      if (c == '\\') {
        *out++ = s_[j + 1];
        j += 2;
      } else if (c == '\r' || c == '\n') {
        *out++ = ' ';
        j += fold_length(j);
      } else {
        *out++ = c;
        ++j;
      }
    }
    const auto size = static_cast<size_t>(out - begin);
    used_ += size;
    return std::string_view(begin, size);
  }

  std::string_view s_;
  size_t i_ = 0;
  std::shared_ptr<char[]> buffer_;
  size_t used_ = 0;
};

void append_quoted(std::string& out, std::string_view value) {
  out += '"';
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) continue;  // never let a value break the header
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

std::string_view dummy_ha1(DigestAlgorithm algorithm) {
  // Random rather than derived from anything, so there is no password to find. sodium_init() is
  // idempotent and thread-safe; calling it here spares callers an ordering rule.
  static const std::array<std::string, 2> kDummies = [] {
    if (sodium_init() < 0) std::abort();  // cannot happen: libsodium found no randomness source
    uint8_t random[16 + 32];
    randombytes_buf(random, sizeof random);
    std::array<std::string, 2> out{std::string(32, '0'), std::string(64, '0')};
    accounts::digest_hex(random, 16, out[0].data());
    accounts::digest_hex(random + 16, 32, out[1].data());
    sodium_memzero(random, sizeof random);
    return out;
  }();
  switch (algorithm) {
    case DigestAlgorithm::md5:
      return kDummies[0];
    case DigestAlgorithm::sha256:
      return kDummies[1];
    case DigestAlgorithm::unknown:
      break;
  }
  return "";
}

std::optional<DigestCredentials> parse_digest_credentials(std::string_view header_value) {
  return CredentialsParser(header_value).parse();
}

std::string digest_challenge(std::string_view realm, std::string_view nonce, DigestAlgorithm algorithm, bool stale) {
  if (algorithm == DigestAlgorithm::unknown) return "";
  std::string out;
  out.reserve(64 + realm.size() + nonce.size());
  out += "Digest realm=";
  append_quoted(out, realm);
  out += ", nonce=";
  append_quoted(out, nonce);
  out += ", algorithm=";
  out += to_string(algorithm);
  out += ", qop=\"auth\"";
  if (stale) out += ", stale=true";
  return out;
}

// Why a response without qop is accepted, and only for MD5: RFC 2069 clients (old desk phones and
// ATAs still in the field) never send qop, and RFC 3261 §22.4 keeps them working. Without qop the
// response covers no client nonce and no count, so the same nonce always yields the same response;
// NonceService then takes nc as 0 and lets each nonce through once, which keeps replays out at the
// price of a fresh challenge per request for these phones. SHA-256 arrived with RFC 7616/8760,
// which require qop, so no legitimate SHA-256 client lacks it and none is let through without.
bool verify_digest(const DigestCredentials& credentials, std::string_view method, std::string_view ha1_hex) {
  const DigestAlgorithm md = credentials.algorithm;
  const size_t size = digest_size(credentials.algorithm);
  if (size == 0) return false;
  if (ha1_hex.size() != 2 * size) return false;
  uint8_t given[kMaxDigestSize];
  if (!from_hex(credentials.response, given, size)) return false;

  const bool with_qop = !credentials.qop.empty();
  if (with_qop) {
    if (!iequals(credentials.qop, "auth") || credentials.nc_text.size() != 8) return false;
  } else if (credentials.algorithm != DigestAlgorithm::md5) {
    return false;
  }

  uint8_t ha2[kMaxDigestSize];
  if (!accounts::digest_hash(md, {method, ":", credentials.uri}, ha2)) return false;
  char ha2_hex[2 * kMaxDigestSize];
  accounts::digest_hex(ha2, size, ha2_hex);
  const std::string_view ha2_text(ha2_hex, 2 * size);

  uint8_t expected[kMaxDigestSize];
  const bool hashed = with_qop ? accounts::digest_hash(md,
                                      {ha1_hex, ":", credentials.nonce, ":", credentials.nc_text, ":",
                                       credentials.cnonce, ":", credentials.qop, ":", ha2_text},
                                      expected)
                               : accounts::digest_hash(md, {ha1_hex, ":", credentials.nonce, ":", ha2_text}, expected);
  return hashed && CRYPTO_memcmp(expected, given, size) == 0;
}

std::string_view to_string(NonceCheck check) {
  switch (check) {
    case NonceCheck::ok:
      return "ok";
    case NonceCheck::stale:
      return "stale";
    case NonceCheck::invalid:
      return "invalid";
    case NonceCheck::replayed:
      return "replayed";
    case NonceCheck::burned:
      return "burned";
  }
  return "";
}

// ---- NonceService ----------------------------------------------------------------------------

size_t NonceService::NonceIdHash::operator()(const NonceId& id) const {
  // The id is random and covered by the tag, so a client cannot pick ids that collide.
  size_t h = 0;
  std::memcpy(&h, id.data(), sizeof h);
  return h;
}

NonceService::NonceService(std::span<const uint8_t, kKeySize> key, const Clock& clock, int64_t lifetime_us,
                           size_t max_tracked)
    : clock_(clock), lifetime_us_(lifetime_us), max_tracked_(std::max<size_t>(max_tracked, 1)) {
  if (sodium_init() < 0) std::abort();  // cannot happen; idempotent when main already called it
  std::copy(key.begin(), key.end(), key_.begin());
}

NonceService::~NonceService() { sodium_memzero(key_.data(), key_.size()); }

void NonceService::tag(const uint8_t* body, std::span<const uint8_t> bound_to, uint8_t* out) const {
  static constexpr uint8_t kPersonal[crypto_generichash_blake2b_PERSONALBYTES] = {
      'p', 'r', 'i', 'v', 'o', 'x', ' ', 's', 'i', 'p', ' ', 'n', 'o', 'n', 'c', 'e'};
  uint8_t input[kBodySize + kMaxBinding];
  const size_t bound = std::min(bound_to.size(), kMaxBinding);
  std::memcpy(input, body, kBodySize);
  if (bound > 0) std::memcpy(input + kBodySize, bound_to.data(), bound);
  crypto_generichash_blake2b_salt_personal(out, kTagSize, input, kBodySize + bound, key_.data(), key_.size(), nullptr,
                                           kPersonal);
}

bool NonceService::expired(int64_t issued_us, int64_t now_us) const {
  return now_us - issued_us > lifetime_us_ || issued_us - now_us > kMaxClockSkewUs;
}

std::string NonceService::issue(std::span<const uint8_t> bound_to) const {
  uint8_t raw[kRawSize];
  const auto now = static_cast<uint64_t>(clock_.now_us());
  for (int i = 0; i < 8; ++i) raw[i] = static_cast<uint8_t>(now >> (56 - 8 * i));
  random_bytes(raw + 8, kBodySize - 8);
  tag(raw, bound_to, raw + kBodySize);
  char text[sodium_base64_ENCODED_LEN(kRawSize, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof text, raw, kRawSize, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  static_assert(sizeof text == kNonceLength + 1);
  return std::string(text, kNonceLength);
}

bool NonceService::open(std::string_view nonce, std::span<const uint8_t> bound_to, int64_t& issued_us,
                        NonceId& id) const {
  if (nonce.size() != kNonceLength) return false;
  uint8_t raw[kRawSize];
  size_t raw_size = 0;
  if (sodium_base642bin(raw, sizeof raw, nonce.data(), nonce.size(), nullptr, &raw_size, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      raw_size != kRawSize) {
    return false;
  }
  uint8_t expected[kTagSize];
  tag(raw, bound_to, expected);
  if (sodium_memcmp(expected, raw + kBodySize, kTagSize) != 0) return false;
  uint64_t issued_bits = 0;
  for (int i = 0; i < 8; ++i) issued_bits = issued_bits << 8 | raw[i];
  issued_us = static_cast<int64_t>(issued_bits);
  std::copy(raw + 8, raw + kBodySize, id.begin());
  return true;
}

NonceCheck NonceService::check(std::string_view nonce, uint32_t nc, std::span<const uint8_t> bound_to) {
  int64_t issued_us = 0;
  NonceId id;
  if (!open(nonce, bound_to, issued_us, id)) return NonceCheck::invalid;
  const int64_t now_us = clock_.now_us();
  if (expired(issued_us, now_us)) return NonceCheck::stale;

  MutexLock lock(mu_);
  trim_locked(now_us, 0);
  if (auto it = tracked_.find(id); it != tracked_.end()) {
    if (it->second.burned) return NonceCheck::burned;
    if (nc <= it->second.highest_nc) return NonceCheck::replayed;
    it->second.highest_nc = nc;
    return NonceCheck::ok;
  }
  // Not tracked: either never accepted (or burned) here, or so and evicted since. Only the first is
  // safe to accept, and anything issued no later than an evicted nonce might be the second.
  if (issued_us <= evicted_up_to_us_) return NonceCheck::stale;
  trim_locked(now_us, 1);
  tracked_.emplace(id, Tracked{issued_us, nc});
  order_.push_back(id);
  return NonceCheck::ok;
}

void NonceService::burn(std::string_view nonce, std::span<const uint8_t> bound_to) {
  int64_t issued_us = 0;
  NonceId id;
  if (!open(nonce, bound_to, issued_us, id)) return;
  const int64_t now_us = clock_.now_us();
  if (expired(issued_us, now_us)) return;
  MutexLock lock(mu_);
  trim_locked(now_us, 0);
  if (auto it = tracked_.find(id); it != tracked_.end()) {
    it->second.burned = true;
    return;
  }
  if (issued_us <= evicted_up_to_us_) return;  // check() answers it stale, never ok
  trim_locked(now_us, 1);
  tracked_.emplace(id, Tracked{issued_us, 0, true});
  order_.push_back(id);
}

void NonceService::trim_locked(int64_t now_us, size_t room_for) {
  // Entries leave in the order they came. One whose nonce expired behind a younger head waits for
  // the head; it counts against the cap until then, and its nonce is refused as stale regardless.
  while (!order_.empty()) {
    const auto it = tracked_.find(order_.front());
    const bool too_old = now_us - it->second.issued_us > lifetime_us_;
    const bool over_cap = tracked_.size() + room_for > max_tracked_;
    if (!too_old && !over_cap) break;
    if (!too_old) evicted_up_to_us_ = std::max(evicted_up_to_us_, it->second.issued_us);
    tracked_.erase(it);
    order_.pop_front();
  }
}

size_t NonceService::tracked_for_test() const {
  MutexLock lock(mu_);
  return tracked_.size();
}

}  // namespace privox::sip
