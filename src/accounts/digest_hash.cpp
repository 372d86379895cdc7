#include "accounts/digest_hash.h"

#include <openssl/evp.h>

#include <memory>

namespace privox::accounts {
namespace {

// OpenSSL 3 looks an algorithm up in its provider store on every EVP_DigestInit unless it is given
// a fetched EVP_MD, so each is fetched once. They stay alive to the end of the process on purpose.
const EVP_MD* evp_md(DigestAlgorithm algorithm) {
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  switch (algorithm) {
    case DigestAlgorithm::md5:
      return md5;
    case DigestAlgorithm::sha256:
      return sha256;
    case DigestAlgorithm::unknown:
      break;
  }
  return nullptr;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

}  // namespace

std::string_view to_string(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::md5:
      return "MD5";
    case DigestAlgorithm::sha256:
      return "SHA-256";
    case DigestAlgorithm::unknown:
      break;
  }
  return "";
}

DigestAlgorithm parse_digest_algorithm(std::string_view text) {
  if (iequals(text, "MD5")) return DigestAlgorithm::md5;
  if (iequals(text, "SHA-256")) return DigestAlgorithm::sha256;
  return DigestAlgorithm::unknown;
}

size_t digest_size(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::md5:
      return 16;
    case DigestAlgorithm::sha256:
      return 32;
    case DigestAlgorithm::unknown:
      break;
  }
  return 0;
}

bool digest_hash(DigestAlgorithm algorithm, std::initializer_list<std::string_view> parts, uint8_t* out) {
  struct CtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = evp_md(algorithm);
  if (md == nullptr || ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) return false;
  for (std::string_view part : parts)
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) return false;
  unsigned int len = 0;
  return EVP_DigestFinal_ex(ctx.get(), out, &len) == 1;
}

void digest_hex(const uint8_t* data, size_t size, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
}

std::string digest_ha1(DigestAlgorithm algorithm, std::string_view user, std::string_view realm,
                       std::string_view password) {
  const size_t size = digest_size(algorithm);
  uint8_t digest[kMaxDigestSize];
  if (size == 0 || !digest_hash(algorithm, {user, ":", realm, ":", password}, digest)) return "";
  std::string out(2 * size, '0');
  digest_hex(digest, size, out.data());
  return out;
}

}  // namespace privox::accounts
