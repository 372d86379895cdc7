#pragma once
// The hashes of SIP digest authentication (RFC 7616, RFC 8760), shared by provisioning, which
// stores HA1 = H(user ":" realm ":" password) instead of a device password (extensions.h), and by
// the SIP authenticator, which checks responses against those HA1s (sip/digest.h). One
// implementation, so that what provisioning stores is exactly what SIP verifies.
//
// Thread-safety: free functions; each thread hashes with its own reused context.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace privox::accounts {

enum class DigestAlgorithm : uint8_t {
  unknown,  // anything else a client named (MD5-sess, SHA-512-256, ...); never verifies
  md5,
  sha256,
};
// "MD5", "SHA-256"; "" for unknown.
std::string_view to_string(DigestAlgorithm algorithm);
// Case-insensitive "MD5" / "SHA-256"; anything else is unknown.
DigestAlgorithm parse_digest_algorithm(std::string_view text);

inline constexpr size_t kMaxDigestSize = 32;  // SHA-256
// 16 for MD5, 32 for SHA-256, 0 for unknown.
size_t digest_size(DigestAlgorithm algorithm);

// H(parts concatenated) into `out` (digest_size bytes). False for `unknown`, or when the OpenSSL
// build refuses the algorithm (MD5 under a FIPS-only provider).
bool digest_hash(DigestAlgorithm algorithm, std::initializer_list<std::string_view> parts, uint8_t* out);
// `size` bytes as 2 * size lowercase hex digits into `out`.
void digest_hex(const uint8_t* data, size_t size, char* out);

// HA1 = H(user ":" realm ":" password) in lowercase hex (MD5: 32 characters, SHA-256: 64): what
// privox stores instead of a password, one per algorithm. Returns "" when digest_hash fails.
std::string digest_ha1(DigestAlgorithm algorithm, std::string_view user, std::string_view realm,
                       std::string_view password);

}  // namespace privox::accounts
