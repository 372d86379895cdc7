#pragma once
// STUN Binding requests on the SIP UDP port (RFC 5389 §6, as RFC 5626 §4.4.2 uses them): a phone
// behind NAT that registered with SIP Outbound sends one every Flow-Timer seconds to keep its NAT
// mapping open and to learn whether the mapping changed, and privox answers with the address and
// port the request came from (XOR-MAPPED-ADDRESS). Nothing else of STUN is served: no
// authentication, no other method; a request with an attribute privox must understand but does
// not (RFC 5389 §7.3.1) is not answered.
//
// Only the 20-byte header and the attributes' framing are read (sip/stun_fuzz.cpp fuzzes it): a
// library such as libre would bring an event loop of its own for these few bytes.
//
// Thread-safety: plain functions.

#include <optional>
#include <string>
#include <string_view>

#include "sip/transport.h"

namespace privox::sip {

// True when the datagram may be STUN rather than SIP: its first two bits are zero (RFC 5389 §6),
// which no SIP message's first byte (a letter) has.
inline bool looks_like_stun(std::string_view datagram) {
  return !datagram.empty() && (static_cast<unsigned char>(datagram[0]) & 0xc0) == 0;
}

// The Binding success response for a well-formed Binding request from `from`, or nullopt for
// anything else (a response, an indication, a malformed or unsupported request).
std::optional<std::string> stun_binding_response(std::string_view datagram, const Peer& from);

}  // namespace privox::sip
