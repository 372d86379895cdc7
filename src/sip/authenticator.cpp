#include "sip/authenticator.h"

namespace privox::sip {

AuthOutcome Authenticator::authenticate(const Message& request, bool proxy) {
  const Header kind = proxy ? Header::proxy_authorization : Header::authorization;
  for (const HeaderField& h : request.headers()) {
    if (h.id != kind) continue;
    const auto credentials = parse_digest_credentials(h.value);
    if (!credentials || credentials->realm != realm_) continue;
    const ExtensionInfo* extension = directory_.by_sip_user(credentials->username);
    const bool sha256 = credentials->algorithm == DigestAlgorithm::sha256;
    std::string_view ha1 = !extension ? std::string_view{} : sha256 ? extension->ha1_sha256 : extension->ha1_md5;
    // An unknown user, or one without a stored HA1, costs the same work as a known one and fails.
    const bool known = !ha1.empty();
    if (!known) ha1 = dummy_ha1(sha256 ? DigestAlgorithm::sha256 : DigestAlgorithm::md5);
    // The digest covers the uri the client names; it must be this request's (RFC 3261 §22.4).
    const bool uri_matches = credentials->uri == request.request_uri_text();
    const bool verified = verify_digest(*credentials, request.method_text(), ha1);
    if (!verified || !uri_matches || !known) return {};
    switch (nonces_.check(credentials->nonce, credentials->nc)) {
      case NonceCheck::ok: return {extension, false};
      case NonceCheck::stale:
      case NonceCheck::replayed: return {nullptr, true};
      case NonceCheck::invalid: return {};
    }
  }
  return {};
}

std::vector<std::string> Authenticator::challenges(bool stale) const {
  const std::string nonce = nonces_.issue();
  std::vector<std::string> out;
  for (DigestAlgorithm a : algorithms_) out.push_back(digest_challenge(realm_, nonce, a, stale));
  return out;
}

}  // namespace privox::sip
