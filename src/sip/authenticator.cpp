#include "sip/authenticator.h"

#include <algorithm>

#include "sip/source.h"

namespace privox::sip {
namespace {

bool accepts(const ExtensionInfo& line, DigestAlgorithm algorithm) {
  const auto& only = line.challenge_algorithms;
  return only.empty() || std::find(only.begin(), only.end(), algorithm) != only.end();
}

}  // namespace

void Authenticator::failed(const Peer& from, const Message& request, std::string_view login, bool known,
                           std::string_view reason) {
  if (failures_) failures_->on_auth_failure(from, {request.method_text(), login, known, reason});
}

AuthOutcome Authenticator::authenticate(const Message& request, bool proxy, const Peer& from) {
  const Header kind = proxy ? Header::proxy_authorization : Header::authorization;
  const auto source = SourceKey::of(from).bytes();
  for (const HeaderField& h : request.headers()) {
    if (h.id != kind) continue;
    const auto credentials = parse_digest_credentials(h.value);
    if (!credentials || credentials->realm != realm_) continue;
    const bool sha256 = credentials->algorithm == DigestAlgorithm::sha256;
    const ExtensionInfo* extension = directory_.by_sip_user(credentials->username);
    std::string_view ha1 = !extension ? std::string_view{} : sha256 ? extension->ha1_sha256 : extension->ha1_md5;
    if (from.websocket()) {  // the flow's own login and password, or nothing
      const FlowCredential* flow = flows_ ? flows_->credential_of(from) : nullptr;
      const bool flows_line = flow && extension && credentials->username == flow->sip_user;
      ha1 = !flows_line ? std::string_view{} : sha256 ? flow->ha1_sha256 : flow->ha1_md5;
    }
    // An unknown user, or one without a stored HA1, costs the same work as a known one and fails
    // the same way: digest, burn, report.
    const bool known = !ha1.empty();
    // A line set to SHA-256 takes no MD5 response, even a right one: that is what the setting is for.
    const bool allowed = !extension || accepts(*extension, credentials->algorithm);
    if (!known || !allowed) ha1 = dummy_ha1(sha256 ? DigestAlgorithm::sha256 : DigestAlgorithm::md5);
    // The digest covers the uri the client names; it must be this request's (RFC 3261 §22.4).
    const bool uri_matches = credentials->uri == request.request_uri_text();
    const bool verified = verify_digest(*credentials, request.method_text(), ha1);
    if (!verified || !uri_matches || !known || !allowed) {
      nonces_.burn(credentials->nonce, source);
      failed(from, request, credentials->username, known,
             !allowed ? "wrong_algorithm" : verified ? "wrong_uri" : "wrong_response");
      return {};
    }
    switch (nonces_.check(credentials->nonce, credentials->nc, source)) {
      case NonceCheck::ok:
        if (failures_) failures_->on_auth_success(from, *extension);
        return {extension, false};
      case NonceCheck::stale:
      case NonceCheck::replayed: return {nullptr, true};
      case NonceCheck::burned:
        failed(from, request, credentials->username, known, "nonce_reused");
        return {};
      case NonceCheck::invalid: return {};
    }
  }
  return {};
}

const ExtensionInfo* Authenticator::line_named(const Message& request, bool proxy) {
  const Header kind = proxy ? Header::proxy_authorization : Header::authorization;
  for (const HeaderField& h : request.headers()) {
    if (h.id != kind) continue;
    const auto credentials = parse_digest_credentials(h.value);
    if (credentials && credentials->realm == realm_) return directory_.by_sip_user(credentials->username);
  }
  return directory_.by_sip_user(proxy ? request.from().uri.user : request.to().uri.user);
}

std::vector<std::string> Authenticator::challenges(bool stale, const Peer& to, const Message& request, bool proxy) {
  const ExtensionInfo* line = line_named(request, proxy);
  const std::vector<DigestAlgorithm>& algorithms =
      line && !line->challenge_algorithms.empty() ? line->challenge_algorithms : algorithms_;
  const std::string nonce = nonces_.issue(SourceKey::of(to).bytes());
  std::vector<std::string> out;
  out.reserve(algorithms.size());
  for (DigestAlgorithm a : algorithms) out.push_back(digest_challenge(realm_, nonce, a, stale));
  return out;
}

}  // namespace privox::sip
