#pragma once
// The token in a marketing message's unsubscribe link (RFC 8058): it names the recipient and the
// consent purpose it withdraws, and only privox can make one. Its form, base64url without padding:
//   version (1) || purpose (1) || nonce (16 random) || subject id (36) || MAC (32)
// where the MAC is Keyring::token_mac("unsubscribe", everything before it). The nonce makes every
// message's link different; verification recomputes the MAC and compares it in constant time.
// Tokens do not expire: an unsubscribe link must work for as long as the message is read.
//
// Thread-safety: free functions over an immutable Keyring.

#include <string>
#include <string_view>

#include "common/result.h"
#include "consent/consent.h"
#include "privacy/keyring.h"

namespace privox::notify {

struct UnsubscribeToken {
  std::string subject_id;
  consent::ConsentPurpose purpose = consent::ConsentPurpose::marketing_email;
};

std::string make_unsubscribe_token(const privacy::Keyring& keys, std::string_view subject_id,
                                   consent::ConsentPurpose purpose);

// The subject and purpose of a genuine token; `invalid_argument` on field "token" for anything
// else (malformed, truncated, altered, or made under another master key).
Result<UnsubscribeToken> verify_unsubscribe_token(const privacy::Keyring& keys, std::string_view token);

}  // namespace privox::notify
