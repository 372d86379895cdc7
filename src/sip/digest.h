#pragma once
// SIP digest authentication (RFC 3261 §22, RFC 7616, RFC 8760) for the registrar and the proxy:
// MD5 and SHA-256, qop=auth. privox never stores a password, only HA1 = H(user:realm:password)
// per algorithm, so this module works from HA1 values.
//
// How a request is authenticated (the order matters):
//   1. Parse each Authorization / Proxy-Authorization value with parse_digest_credentials() and
//      pick the one whose realm is ours. None → 401/407 with digest_challenge() for every
//      algorithm in kChallengeAlgorithms, in that order, sharing one NonceService::issue() nonce.
//   2. Look up the HA1 for (username, realm, algorithm). An unknown user gets dummy_ha1() and goes
//      through step 3 unchanged, so that neither the answer nor its timing tells users apart.
//      Also check that `uri` names the Request-URI (RFC 3261 §22.4); that needs the message.
//   3. verify_digest(). False → a fresh challenge (stale=false).
//      Also false for an unknown user or a wrong uri: NonceService::burn() the nonce, so that it
//      never opens a door again (a password guesser needs a fresh challenge per guess, and every
//      guess is counted), and count the failure against the source (sip/source_guard.h).
//   4. Only now NonceService::check(nonce, nc): ok → accepted; stale or replayed → a fresh
//      challenge with stale=true (the client knew the password; it retries without asking the
//      user); invalid → a fresh challenge with stale=false; burned → a failure like step 3 (the
//      nonce already carried a wrong response: this is a guess). Nonces are bound to the source
//      they were issued to (sip/source.h), so a forger elsewhere can neither burn a genuine
//      client's nonce nor spend one; and checking the nonce after the digest means a forger cannot
//      burn a genuine client's nonce counts.
//
// Thread-safety: the free functions may be called from any thread. NonceService is thread-safe.

#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "accounts/digest_hash.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"

namespace privox::sip {

// The algorithms and HA1 come from provisioning's side (accounts/digest_hash.h), so that what is
// stored is exactly what is checked.
using accounts::DigestAlgorithm;
using accounts::digest_ha1;
using accounts::parse_digest_algorithm;
using accounts::to_string;

// The algorithms privox challenges with, one WWW-Authenticate / Proxy-Authenticate header each,
// most preferred first (RFC 8760 §2.4: SHA-256 before MD5, for clients that take the first).
inline constexpr std::array<DigestAlgorithm, 2> kChallengeAlgorithms = {DigestAlgorithm::sha256, DigestAlgorithm::md5};

// A fixed HA1 of the algorithm's length that no password produces (random, drawn once per
// process), for an unknown user: verify_digest() against it costs what it costs for a real user,
// and fails. "" for `unknown`.
std::string_view dummy_ha1(DigestAlgorithm algorithm);

// One Authorization / Proxy-Authorization value with the Digest scheme (RFC 3261 §25.1
// digest-response, RFC 7616 §3.4). Every view points either into the header value it was parsed
// from, which must outlive this struct, or into `unescaped`, which copies of this struct share:
// values are copied only when they held backslash escapes or folded lines. Quoted values are
// without their quotes.
struct DigestCredentials {
  std::string_view username;
  std::string_view realm;
  std::string_view nonce;
  std::string_view uri;
  std::string_view response;  // as sent; verify_digest() checks its form
  std::string_view cnonce;    // present whenever qop is; empty without qop
  std::string_view opaque;    // empty when absent
  // As sent ("auth"); empty when the client sent none (RFC 2069).
  std::string_view qop;
  // The 8 hex digits as sent, hashed as they are, and their value. Without qop both are empty / 0
  // whatever the client sent: the response does not cover them, so NonceService lets such a nonce
  // through once.
  std::string_view nc_text;
  uint32_t nc = 0;
  DigestAlgorithm algorithm = DigestAlgorithm::md5;  // MD5 when the client named none
  std::string_view algorithm_text;                   // as sent; empty when absent

  std::shared_ptr<const char[]> unescaped;  // shared: copies of the struct keep their views valid
};

// Parses a credentials value such as `Digest username="alice", realm="privox", ...`. The scheme is
// case-insensitive; parameter names are case-insensitive tokens; values are tokens or quoted
// strings (backslash escapes decoded); a folded line (CRLF followed by SP or HTAB) counts as
// whitespace, and inside a quoted string as one SP. Unknown parameters are ignored; empty list
// elements are skipped.
//
// Returns nullopt, never crashing, for anything else: another scheme, a syntax error, a parameter
// named twice, a missing username / realm / nonce / uri / response, qop without cnonce or nc, or
// an nc that is not 8 hex digits. An algorithm other than MD5 / SHA-256 parses (so the caller can
// answer with a challenge) as DigestAlgorithm::unknown.
std::optional<DigestCredentials> parse_digest_credentials(std::string_view header_value);

// `Digest realm="privox", nonce="...", algorithm=SHA-256, qop="auth"` with `, stale=true` appended
// when `stale`. Quotes and backslashes in realm or nonce are escaped and control characters
// dropped, so no input can break the header. Returns "" for DigestAlgorithm::unknown.
std::string digest_challenge(std::string_view realm, std::string_view nonce, DigestAlgorithm algorithm, bool stale);

// Whether `credentials.response` is the digest of a request with `method` (the request's method,
// as sent) under `ha1_hex` (lowercase hex as digest_ha1() returns it, for credentials.algorithm):
//   qop=auth:  H(HA1:nonce:nc:cnonce:qop:H(method:uri))     (RFC 7616 §3.4.1)
//   no qop:    H(HA1:nonce:H(method:uri))                   (RFC 2069; MD5 only, see digest.cpp)
// The comparison takes constant time; the work done depends only on what the client sent and on
// the algorithm, never on the HA1. Returns false for an unknown algorithm, qop other than "auth"
// (auth-int is not offered), no qop with SHA-256, an HA1 of the wrong length, or a response that
// is not hex of the algorithm's length. It does not check the nonce: see NonceService::check().
bool verify_digest(const DigestCredentials& credentials, std::string_view method, std::string_view ha1_hex);

enum class NonceCheck : uint8_t {
  ok,
  stale,     // issued by a node with our key but expired (or forgotten): challenge with stale=true
  invalid,   // not one of ours: forged, garbled or issued under another key
  replayed,  // nc not above the highest this node accepted for the nonce: a replay
  burned,    // this node saw the nonce with a wrong response: a guess, never accepted again
};
std::string_view to_string(NonceCheck check);

// Issues and checks nonces that carry their own proof of origin, so any privox node that shares
// the key checks any node's nonce without shared state. Wire format, base64url without padding
// (54 characters):
//   [issue time, µs since the epoch, 8 bytes big-endian | 16 random bytes | 16-byte tag]
// where tag = keyed BLAKE2b-128 of the first 24 bytes followed by the bytes the nonce is bound to
// (personalised "privox sip nonce"): the source it was issued to (SourceKey::bytes()), so that a
// nonce checks only from there and cannot be handed round a botnet. The binding is not on the
// wire; check() and burn() are given it again.
//
// A nonce that came back with a wrong response is burned (burn()): from then on this node answers
// it `burned` whatever the response, so that guessing a password costs a round trip per guess
// instead of reusing one nonce tens of thousands of times a second.
//
// Replays are caught per node: for every nonce it has accepted, a node remembers the highest nc
// and accepts only higher ones (a client without qop sends none, nc 0, and so gets one request
// per nonce). The table forgets a nonce when it expires, and holds at most `max_tracked` nonces:
// past that the earliest accepted are evicted, and any nonce issued no later than an evicted one
// is then answered `stale`, never `ok`, so eviction cannot reopen a replay. A request replayed to
// a different node within the lifetime is not caught here (TLS and the transaction layer are).
//
// Thread-safety: every method may be called from any thread.
class NonceService {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr int64_t kDefaultLifetimeUs = 300'000'000;  // 5 minutes
  static constexpr size_t kDefaultMaxTracked = 1'000'000;     // ~90 MB when full
  // Nonces from a node whose clock runs up to this far ahead are still accepted.
  static constexpr int64_t kMaxClockSkewUs = 10'000'000;
  static constexpr size_t kNonceLength = 54;

  // `key` is copied (and wiped when the service is destroyed); `clock` must outlive the service.
  NonceService(std::span<const uint8_t, kKeySize> key, const Clock& clock, int64_t lifetime_us = kDefaultLifetimeUs,
               size_t max_tracked = kDefaultMaxTracked);
  ~NonceService();
  NonceService(const NonceService&) = delete;
  NonceService& operator=(const NonceService&) = delete;

  // At most this many bytes of binding are covered; longer bindings are cut.
  static constexpr size_t kMaxBinding = 32;

  std::string issue(std::span<const uint8_t> bound_to = {}) const;

  // Checks a nonce a client sent back with nonce count `nc` (DigestCredentials::nc), from the
  // source `bound_to` it must have been issued to, and, when the answer is `ok`, records nc as the
  // highest accepted. Call it only once the digest verified.
  NonceCheck check(std::string_view nonce, uint32_t nc, std::span<const uint8_t> bound_to = {}) EXCLUDES(mu_);

  // The nonce came back from `bound_to` with a response that did not verify: every later check()
  // of it answers `burned`. Nothing happens for a nonce that is not ours, not bound to that
  // source, or expired (check() refuses those anyway).
  void burn(std::string_view nonce, std::span<const uint8_t> bound_to = {}) EXCLUDES(mu_);

  size_t tracked_for_test() const EXCLUDES(mu_);

 private:
  static constexpr size_t kBodySize = 24;  // time + random: what the tag covers
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kRawSize = kBodySize + kTagSize;

  using NonceId = std::array<uint8_t, 16>;  // the random part, which tells nonces apart
  struct NonceIdHash {
    size_t operator()(const NonceId& id) const;
  };
  struct Tracked {
    int64_t issued_us;
    uint32_t highest_nc;
    bool burned = false;
  };

  void tag(const uint8_t* body, std::span<const uint8_t> bound_to, uint8_t* out) const;
  // Decodes a nonce and checks its tag for `bound_to`; false for anything not ours.
  bool open(std::string_view nonce, std::span<const uint8_t> bound_to, int64_t& issued_us, NonceId& id) const;
  // Issued more than the lifetime ago, or more than kMaxClockSkewUs ahead of this node's clock.
  bool expired(int64_t issued_us, int64_t now_us) const;
  // Drops expired entries and, past the cap, the earliest accepted ones.
  void trim_locked(int64_t now_us, size_t room_for) REQUIRES(mu_);

  // Constant after construction.
  std::array<uint8_t, kKeySize> key_;
  const Clock& clock_;
  const int64_t lifetime_us_;
  const size_t max_tracked_;

  mutable Mutex mu_;
  std::unordered_map<NonceId, Tracked, NonceIdHash> tracked_ GUARDED_BY(mu_);
  std::deque<NonceId> order_ GUARDED_BY(mu_);  // acceptance order
  // The latest issue time among evicted nonces.
  int64_t evicted_up_to_us_ GUARDED_BY(mu_) = std::numeric_limits<int64_t>::min();
};

}  // namespace privox::sip
