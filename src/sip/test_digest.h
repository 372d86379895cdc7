#pragma once
// What a phone answers a digest challenge with (RFC 7616, qop=auth, a fixed cnonce), for the tests
// that play one: the Authorization or Proxy-Authorization value for `method` on `uri`, and the
// nonce a challenge carries. The realm is privox's default, "privox".

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "accounts/digest_hash.h"

namespace privox::sip::test {

inline std::string digest_credentials(std::string_view method, std::string_view uri, std::string_view login,
                                      std::string_view password, std::string_view nonce, std::string_view nc = "00000001",
                                      accounts::DigestAlgorithm algorithm = accounts::DigestAlgorithm::md5) {
  const std::string ha1 = accounts::digest_ha1(algorithm, login, "privox", password);
  const size_t size = accounts::digest_size(algorithm);
  uint8_t ha2[accounts::kMaxDigestSize], response[accounts::kMaxDigestSize];
  char ha2_hex[2 * accounts::kMaxDigestSize], response_hex[2 * accounts::kMaxDigestSize];
  accounts::digest_hash(algorithm, {method, ":", uri}, ha2);
  accounts::digest_hex(ha2, size, ha2_hex);
  accounts::digest_hash(algorithm, {ha1, ":", nonce, ":", nc, ":", "c0ffee", ":", "auth", ":", {ha2_hex, 2 * size}},
                        response);
  accounts::digest_hex(response, size, response_hex);
  return fmt::format("Digest username=\"{}\", realm=\"privox\", nonce=\"{}\", uri=\"{}\", response=\"{}\", "
                     "algorithm={}, cnonce=\"c0ffee\", qop=auth, nc={}",
                     login, nonce, uri, std::string_view(response_hex, 2 * size), accounts::to_string(algorithm), nc);
}

// The nonce of a 401 or 407 (its WWW-Authenticate or Proxy-Authenticate value, or the whole response).
inline std::string nonce_in(std::string_view challenge) {
  const size_t at = challenge.find("nonce=\"");
  if (at == std::string_view::npos) return {};
  const size_t end = challenge.find('"', at + 7);
  return std::string(challenge.substr(at + 7, end == std::string_view::npos ? std::string_view::npos : end - at - 7));
}

}  // namespace privox::sip::test
