#pragma once
// Digest authentication of REGISTER (401, WWW-Authenticate) and of calls and messages (407,
// Proxy-Authenticate), in the order sip/digest.h prescribes. Unknown users are challenged and
// verified exactly like known ones, with the same work and the same answer, so extensions cannot
// be enumerated: one look-up in the in-memory directory either way, the digest computed against a
// dummy HA1 for an unknown user, the nonce burned and the failure reported either way.
//
// Every nonce is bound to the source it was issued to (sip/source.h), and a nonce that came back
// with a wrong response is burned (NonceService::burn), so each password guess costs a round trip
// and is reported to the AuthFailures observer (sip/source_guard.h bans the source after a few).
//
// Thread-safety: the SIP worker thread only.

#include <string>
#include <string_view>
#include <vector>

#include "sip/digest.h"
#include "sip/directory.h"
#include "sip/message.h"
#include "sip/transport.h"

namespace privox::sip {

struct AuthOutcome {
  const ExtensionInfo* extension = nullptr;  // set when the request is authenticated
  bool stale = false;                        // challenge again with stale=true
};

// One request whose credentials did not authenticate it: a wrong password, an unknown login, a
// digest over another uri, or a nonce that already carried a wrong response. A request without
// credentials (the first half of every digest exchange) is not a failure.
struct AuthFailure {
  std::string_view method;
  std::string_view login;  // the digest username as sent: never log it in clear
  bool known_login = false;
  // "wrong_response", "wrong_uri", "nonce_reused", or "wrong_algorithm" (a digest in an algorithm
  // the line is not challenged with)
  std::string_view reason;
};

// Told of every failure, and of every line that authenticated, on the SIP worker thread; must not
// block.
class AuthFailures {
 public:
  virtual ~AuthFailures() = default;
  virtual void on_auth_failure(const Peer& from, const AuthFailure& failure) = 0;
  virtual void on_auth_success(const Peer& /*from*/, const ExtensionInfo& /*line*/) {}
};

class Authenticator {
 public:
  // `algorithms`: what to challenge with, in the order the challenges are sent. Many deployed
  // phones (and sipsak) read only the first challenge and give up on one they do not know, so the
  // default puts MD5 first; operators whose devices all speak RFC 8760 put SHA-256 first.
  Authenticator(Directory& directory, NonceService& nonces, std::string realm,
                std::vector<DigestAlgorithm> algorithms = {DigestAlgorithm::md5, DigestAlgorithm::sha256})
      : directory_(directory), nonces_(nonces), realm_(std::move(realm)), algorithms_(std::move(algorithms)) {}

  // Before the first request; nullptr (the default) reports failures to no one.
  void set_failures(AuthFailures* failures) { failures_ = failures; }
  // Before the first request: where a WebSocket flow's credential is found. A request over a
  // WebSocket authenticates only as its flow's line with its flow's password (FlowCredential), never
  // with a line's device password; without this, no request over a WebSocket authenticates.
  void set_flow_credentials(const FlowCredentials* flows) { flows_ = flows; }
  const FlowCredentials* flow_credentials() const { return flows_; }

  // Checks the request's Authorization (`proxy` false) or Proxy-Authorization (`proxy` true),
  // sent from `from`.
  AuthOutcome authenticate(const Message& request, bool proxy, const Peer& from);

  // The challenge header values to send to `to`, one per algorithm, sharing one fresh nonce bound
  // to that source. The algorithms are the line's (ExtensionInfo::challenge_algorithms) when the
  // request names one that has its own, else the node's: the login its credentials name, else the
  // To user of a REGISTER (`proxy` false) or the From user of a call or message (`proxy` true),
  // as phones send their login there. A login that names no line gets the node's, as a line that
  // follows the default does, so a challenge tells apart only lines whose company or office
  // manager chose otherwise, and only to someone who already knows their random login.
  std::vector<std::string> challenges(bool stale, const Peer& to, const Message& request, bool proxy);
  const std::string& realm() const { return realm_; }

 private:
  const ExtensionInfo* line_named(const Message& request, bool proxy);
  void failed(const Peer& from, const Message& request, std::string_view login, bool known, std::string_view reason);

  Directory& directory_;
  NonceService& nonces_;
  const std::string realm_;
  const std::vector<DigestAlgorithm> algorithms_;
  AuthFailures* failures_ = nullptr;
  const FlowCredentials* flows_ = nullptr;
};

}  // namespace privox::sip
