#include "notify/unsubscribe_token.h"

#include <sodium.h>

#include <array>

#include "common/ids.h"

namespace privox::notify {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kNonceBytes = 16;
constexpr size_t kIdChars = 36;
constexpr size_t kSignedBytes = 2 + kNonceBytes + kIdChars;
constexpr size_t kTokenBytes = kSignedBytes + privacy::Keyring::kTokenMacBytes;
constexpr std::string_view kDomain = "unsubscribe";

uint8_t purpose_code(consent::ConsentPurpose purpose) {
  uint8_t code = 0;
  for (const consent::ConsentPurpose p : consent::kConsentPurposes) {
    if (p == purpose) return code;
    ++code;
  }
  return code;
}

Error bad_token() {
  return invalid("token", "this unsubscribe link is not valid; copy the whole link from the message, or write to "
                          "the controller's contact address");
}

}  // namespace

std::string make_unsubscribe_token(const privacy::Keyring& keys, std::string_view subject_id,
                                   consent::ConsentPurpose purpose) {
  std::string raw;
  raw.push_back(static_cast<char>(kVersion));
  raw.push_back(static_cast<char>(purpose_code(purpose)));
  std::array<uint8_t, kNonceBytes> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  raw.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  raw.append(subject_id);
  raw += keys.token_mac(kDomain, raw);
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const uint8_t*>(raw.data()), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);
  return out;
}

Result<UnsubscribeToken> verify_unsubscribe_token(const privacy::Keyring& keys, std::string_view token) {
  if (token.empty() || token.size() > 2 * kTokenBytes) return bad_token();
  std::string raw(kTokenBytes + 1, '\0');
  size_t raw_size = 0;
  if (sodium_base642bin(reinterpret_cast<uint8_t*>(raw.data()), raw.size(), token.data(), token.size(), nullptr,
                        &raw_size, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      raw_size != kTokenBytes)
    return bad_token();
  raw.resize(raw_size);
  const std::string_view signed_part = std::string_view(raw).substr(0, kSignedBytes);
  const std::string expected = keys.token_mac(kDomain, signed_part);
  if (sodium_memcmp(expected.data(), raw.data() + kSignedBytes, expected.size()) != 0) return bad_token();
  const auto code = static_cast<uint8_t>(raw[1]);
  if (static_cast<uint8_t>(raw[0]) != kVersion || code >= std::size(consent::kConsentPurposes)) return bad_token();
  UnsubscribeToken out{std::string(signed_part.substr(2 + kNonceBytes)), consent::kConsentPurposes[code]};
  if (!is_valid_id(out.subject_id)) return bad_token();
  return out;
}

}  // namespace privox::notify
