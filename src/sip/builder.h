#pragma once
// Building SIP messages from parsed ones: local responses (RFC 3261 §8.2.6), requests forwarded by
// the proxy (§16.6), responses forwarded upstream (§16.7), and the ACK and CANCEL a client
// transaction sends (§17.1.1.3, §9.1). Each writes one contiguous string, copying the header
// lines it keeps verbatim, and always ends with a freshly computed Content-Length.
//
// Thread-safety: free functions, no shared state.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "sip/message.h"

namespace privox::sip {

struct ExtraHeader {
  std::string_view name;
  std::string_view value;
};

// A response to `request`: every Via in order, From, To (with `to_tag` added when the request's
// To has none and status > 100), Call-ID, CSeq, then `extra`, then Content-Length and `body`.
std::string build_response(const Message& request, int status, std::string_view reason, std::string_view to_tag,
                           std::span<const ExtraHeader> extra = {}, std::string_view body = {});

// How long a request refused because the store could not make its change durable (an outage, a
// PostgreSQL failover in progress) is told to wait before trying again.
inline constexpr int kStoreRetryAfterS = 10;

// The status of the answer to a request whose change the store could not make durable: 503 when
// the store was unavailable (the sender tries again, as it would a busy server), else 500.
inline int not_durable_status(ErrorCode code) { return code == ErrorCode::unavailable ? 503 : 500; }
// That answer: not_durable_status(code), with Retry-After on a 503.
std::string build_not_durable(const Message& request, ErrorCode code, std::string_view reason, std::string_view to_tag);

// The From a withheld caller's request carries past privox (RFC 3323 §4.1.1.3).
inline constexpr std::string_view kAnonymousFrom = "\"Anonymous\" <sip:anonymous@anonymous.invalid>";

struct ForwardEdits {
  std::string_view request_uri;    // the new Request-URI; empty keeps it
  std::string_view via;            // this proxy's Via value, put on top
  std::string_view record_route;   // a Record-Route value put on top; empty adds none
  std::string_view route;          // a Route value put before the request's own; empty adds none
  bool pop_route = false;          // drop the first Route value (it named this proxy)
  bool pop_second_route = false;   // and the second: this proxy's other entry of a double Record-Route (RFC 5658)
  std::string_view from;           // a replacement From value (caller-ID privacy); empty keeps it
  std::span<const Header> remove;  // further headers to drop, e.g. P-Asserted-Identity
  std::span<const ExtraHeader> extra;
  std::optional<std::string_view> body;  // a replacement body (the media relay's SDP); absent keeps it
};

// `request` as this proxy forwards it; Max-Forwards is decremented (or set to 70 when absent).
std::string build_forward(const Message& request, const ForwardEdits& edits);

// `response` without its top Via value, as it goes upstream; `body` replaces its body when given
// (the media relay's SDP), with the same Content-Type.
std::string build_response_forward(const Message& response, std::optional<std::string_view> body = std::nullopt);

// The ACK a client INVITE transaction sends for a non-2xx final `response` to `request`.
std::string build_ack(const Message& request, const Message& response);

// The CANCEL for `request` (an INVITE this proxy sent).
std::string build_cancel(const Message& request);

// The error response (400, or 505 for an unsupported SIP version) for bytes that did not parse
// but whose Via, From, To, Call-ID and CSeq lines can be copied (ParseError::can_respond).
std::string build_bad_request(std::string_view raw, int status, std::string_view reason);

// The body is an SDP (RFC 3264) offer or answer, which the media relay rewrites and the media
// endpoint answers.
bool carries_sdp(const Message& m);

// Appends "Name: value\r\n".
void append_header(std::string& out, std::string_view name, std::string_view value);

}  // namespace privox::sip
