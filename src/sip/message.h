#pragma once
// SIP messages (RFC 3261 §7, §20, §25), parsed without copying: every string_view in a Message
// points into the buffer it was parsed from, which must outlive the Message. The parser is the
// product's own hot path and its first line of defence: a message RFC 3261 makes invalid is
// reported with a reason phrase fit for a 400 response, and no input can crash it, hang it or
// make it read outside the buffer (sip/message_fuzz.cpp runs it under libFuzzer).
//
// Thread-safety: free functions and const methods only; a Message is immutable once parsed.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace privox::sip {

enum class Method : uint8_t {
  unknown,  // an extension method; method_text() has its name
  invite,
  ack,
  bye,
  cancel,
  register_,
  options,
  message,
  info,
  prack,
  update,
  subscribe,
  notify,
  refer,
  publish,
};
Method parse_method(std::string_view token);  // case-sensitive, as RFC 3261 §7.1 requires
std::string_view to_string(Method method);    // "INVITE", ...; "" for unknown

// Headers privox reads, recognised by full and compact name (case-insensitive). Others are `other`.
enum class Header : uint8_t {
  other,
  via,                  // v
  from,                 // f
  to,                   // t
  call_id,              // i
  cseq,
  contact,              // m
  max_forwards,
  route,
  record_route,
  content_length,       // l
  content_type,         // c
  expires,
  min_expires,
  authorization,
  proxy_authorization,
  www_authenticate,
  proxy_authenticate,
  user_agent,
  server,
  privacy,
  p_asserted_identity,
  p_preferred_identity,
  supported,            // k
  require,
  proxy_require,
  allow,
  retry_after,
  subject,              // s
  event,                // o
  content_encoding,     // e
};
Header classify_header(std::string_view name);

struct HeaderField {
  Header id = Header::other;
  std::string_view name;   // as received
  std::string_view value;  // leading and trailing whitespace removed; folded lines (CRLF + SP/HT)
                           // stay inside and count as whitespace for every sub-parser below
};

// sip: and sips: URIs are split into the parts below; tel: puts the number in `user` and its
// parameters in `params`. Any other absoluteURI scheme (RFC 3261 §19.1.1 lets From, To and the
// Request-URI carry one) parses with only `scheme` set, so that a UAS can answer 416.
struct Uri {
  std::string_view scheme;    // "sip", "sips" or "tel" (lower-cased comparison), or another scheme
  std::string_view user;      // as received, %-escapes not decoded; empty when absent
  std::string_view password;  // empty when absent
  std::string_view host;      // IPv6 references without their brackets; empty for tel:
  uint16_t port = 0;          // 0 when absent
  bool ipv6 = false;
  std::string_view params;    // raw "transport=udp;lr" after the first ';' (excludes '?headers')
  std::string_view headers;   // raw text after '?', empty when absent

  // A uri-parameter's value (case-insensitive name); "" for a flag such as ;lr; nullopt if absent.
  // Values are as received: %-escapes not decoded, a quoted value keeps its quotes, folding and
  // whitespace around ';' and '=' are skipped (the same holds for NameAddr::param and Via::param).
  std::optional<std::string_view> param(std::string_view name) const;
};
// `text` is the bare URI: no surrounding whitespace or < >. Returns nullopt when it is not one.
std::optional<Uri> parse_uri(std::string_view text);
// The value of header `name` (case-insensitive) among a URI's headers (Uri::headers, the text after
// '?', RFC 3261 §19.1.1: "Replaces=call%40host%3Bto-tag%3Da&..."), %-decoded, for a request built
// from the URI (a REFER's Refer-To, RFC 3891 §5). Empty when it is absent; nullopt when it is
// malformed, longer than 512 bytes, or decodes to anything but printable ASCII without spaces: a
// value that goes into a header must never carry CR, LF or controls.
std::optional<std::string> uri_header(std::string_view headers, std::string_view name);

// name-addr or addr-spec with header parameters: From, To, Contact, Route, Record-Route,
// P-Asserted-Identity. One value, not a comma-separated list.
struct NameAddr {
  std::string_view display;   // without quotes; escapes not decoded; empty when absent
  std::string_view uri_text;  // the URI exactly as between < > (or the addr-spec)
  Uri uri;
  std::string_view params;    // raw header params after the URI, e.g. "tag=abc;expires=60"
  bool wildcard = false;      // Contact: *

  std::optional<std::string_view> param(std::string_view name) const;  // as Uri::param
  std::string_view tag() const { return param("tag").value_or(std::string_view{}); }
};
std::optional<NameAddr> parse_name_addr(std::string_view value);

struct Via {
  std::string_view transport;  // "UDP", "TCP", "TLS", ...
  std::string_view host;       // IPv6 without brackets
  uint16_t port = 0;           // 0 when absent
  bool ipv6 = false;
  std::string_view params;     // raw "branch=z9hG4bK...;rport"

  std::optional<std::string_view> param(std::string_view name) const;
  std::string_view branch() const { return param("branch").value_or(std::string_view{}); }
};
std::optional<Via> parse_via(std::string_view one_value);

struct CSeq {
  uint32_t number = 0;  // at most 2^31 - 1 (RFC 3261 §8.1.1.5)
  Method method = Method::unknown;
  std::string_view method_text;
};

// Calls `each` for every top-level comma-separated element of a header value (commas inside
// quotes or <> do not split), trimmed; empty elements are skipped. Returns false, stopping early,
// when `each` does (`each` returns bool, or void to never stop).
template <class F>
bool for_each_value(std::string_view value, F&& each);

class Message {
 public:
  static constexpr size_t kMaxHeaders = 96;

  bool is_request() const { return status_ == 0; }
  // The request's method, or for a response the method of its CSeq.
  Method method() const { return is_request() ? method_ : cseq_.method; }
  std::string_view method_text() const { return is_request() ? method_text_ : cseq_.method_text; }
  std::string_view request_uri_text() const { return request_uri_text_; }
  const Uri& request_uri() const { return request_uri_; }
  int status() const { return status_; }
  std::string_view reason() const { return reason_; }

  std::span<const HeaderField> headers() const { return {headers_, header_count_}; }
  const HeaderField* first(Header id) const;
  // The first value of a header kind; empty when the message has none.
  std::string_view first_value(Header id) const {
    const HeaderField* h = first(id);
    return h ? h->value : std::string_view{};
  }
  // Every value of a header kind, comma lists expanded, in order (Via, Route, Record-Route, Contact).
  // Only kinds whose grammar is a comma list are split (Via, Contact, Route, Record-Route,
  // P-Asserted-Identity, P-Preferred-Identity, Supported, Require, Proxy-Require, Allow,
  // Content-Encoding); every other kind, `other` included, yields each header's whole value,
  // since commas inside Authorization or Date values do not separate values. `each` as in
  // for_each_value: returning false stops.
  template <class F>
  void for_each(Header id, F&& each) const;

  const Via& top_via() const { return top_via_; }
  const NameAddr& from() const { return from_; }
  const NameAddr& to() const { return to_; }
  std::string_view call_id() const { return call_id_; }
  const CSeq& cseq() const { return cseq_; }
  int max_forwards() const { return max_forwards_; }  // -1 when absent
  std::string_view body() const { return body_; }
  std::string_view bytes() const { return bytes_; }   // the whole message as parsed

 private:
  friend struct Parser;
  std::string_view bytes_;
  Method method_ = Method::unknown;
  std::string_view method_text_;
  std::string_view request_uri_text_;
  Uri request_uri_;
  int status_ = 0;
  std::string_view reason_;
  HeaderField headers_[kMaxHeaders];
  size_t header_count_ = 0;
  Via top_via_;
  NameAddr from_, to_;
  std::string_view call_id_;
  CSeq cseq_;
  int max_forwards_ = -1;
  std::string_view body_;
};

struct ParseError {
  // A reason phrase for the 400 response, naming what is wrong ("Missing Call-ID header").
  std::string reason;
  // False when not even a response can be formed (no usable Via, From, To, Call-ID, CSeq): the
  // message is then dropped silently, as RFC 3261 §18.1.2 lets a transport do. Always false for
  // a response and for ACK (neither is ever answered), and when more than kMaxHeaders headers
  // kept some Via headers out of `out`.
  bool can_respond = false;
  // The response code to send: 505 for a well-formed but unsupported SIP version, else 400.
  int status = 400;
};

// Parses one complete message (a UDP datagram, or one frame from frame_stream). Leading CRLFs are
// skipped (RFC 3261 §7.5). A body longer than Content-Length is cut to it; without Content-Length
// the body is the rest of `bytes`. On failure returns false and fills `error`; `out` then holds
// every header line that could be read and, when error.can_respond, the top Via, From, To,
// Call-ID and CSeq, so that the 400 can be formed from it. No heap allocation on success.
bool parse_message(std::string_view bytes, Message& out, ParseError& error);

// TCP framing (RFC 3261 §18.3): how long the first message in `stream` is. Leading CRLFs
// (keep-alives) count as their own frames of type `keepalive`: "\r\n\r\n" (an RFC 5626 ping,
// length 4, to answer with "\r\n") or "\r\n" (a pong, length 2); "\r\n\r" waits for one more
// byte. A message needs Content-Length; the frame it reports ends with the body, ready for
// parse_message. `invalid` means the stream cannot be resynchronised: answer if possible and close
// the connection. Each call rescans from the start, so call it once per read, not per byte.
struct Frame {
  enum Kind { incomplete, message, keepalive, invalid } kind = incomplete;
  size_t length = 0;   // bytes this frame takes from the stream when complete
  std::string reason;  // for invalid
};
Frame frame_stream(std::string_view stream, size_t max_message_bytes = 65535);

// frame_stream() for a stream that arrives a little at a time (a slow or hostile peer): it
// remembers how far it looked, so n bytes framed over any number of reads cost O(n) in all, where
// calling frame_stream() after every read costs O(n²). Its answers are frame_stream()'s, at the
// latest once the header block (up to the empty line) is there: before that it reports only a
// malformed start line, a header block past the limit, or incomplete.
//
// Thread-safety: one connection's, used by one thread.
class StreamFramer {
 public:
  explicit StreamFramer(size_t max_message_bytes = 65535) : max_(max_message_bytes) {}
  // The first frame of `stream`: the connection's buffered bytes from where the last complete
  // frame ended. Bytes already seen must be unchanged; more may have been appended. A complete
  // frame (message or keep-alive) or an invalid one starts the framer over.
  Frame next(std::string_view stream);
  void reset();
  // Bytes looked at so far, over every call (for the test that framing stays linear).
  uint64_t examined_for_test() const { return examined_; }

 private:
  size_t max_;
  size_t searched_ = 0;      // bytes of the stream searched for the empty line that ends the headers
  size_t frame_length_ = 0;  // once the headers are complete: the whole message's length
  bool start_checked_ = false;
  uint64_t examined_ = 0;
};

}  // namespace privox::sip

#include "sip/message_inl.h"
