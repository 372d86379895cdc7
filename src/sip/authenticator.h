#pragma once
// Digest authentication of REGISTER (401, WWW-Authenticate) and of calls and messages (407,
// Proxy-Authenticate), in the order sip/digest.h prescribes. Unknown users are challenged and
// verified exactly like known ones, so extensions cannot be enumerated.
//
// Thread-safety: the SIP worker thread only.

#include <string>
#include <vector>

#include "sip/digest.h"
#include "sip/directory.h"
#include "sip/message.h"

namespace privox::sip {

struct AuthOutcome {
  const ExtensionInfo* extension = nullptr;  // set when the request is authenticated
  bool stale = false;                        // challenge again with stale=true
};

class Authenticator {
 public:
  // `algorithms`: what to challenge with, in the order the challenges are sent. Many deployed
  // phones (and sipsak) read only the first challenge and give up on one they do not know, so the
  // default puts MD5 first; operators whose devices all speak RFC 8760 put SHA-256 first.
  Authenticator(Directory& directory, NonceService& nonces, std::string realm,
                std::vector<DigestAlgorithm> algorithms = {DigestAlgorithm::md5, DigestAlgorithm::sha256})
      : directory_(directory), nonces_(nonces), realm_(std::move(realm)), algorithms_(std::move(algorithms)) {}

  // Checks the request's Authorization (`proxy` false) or Proxy-Authorization (`proxy` true).
  AuthOutcome authenticate(const Message& request, bool proxy);

  // The challenge header values to send, one per algorithm, sharing one fresh nonce.
  std::vector<std::string> challenges(bool stale) const;
  const std::string& realm() const { return realm_; }

 private:
  Directory& directory_;
  NonceService& nonces_;
  const std::string realm_;
  const std::vector<DigestAlgorithm> algorithms_;
};

}  // namespace privox::sip
