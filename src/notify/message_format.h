#pragma once
// The RFC 5322 form of an Email: what SmtpMailer hands the relay. Kept apart from the transport so
// that the format is tested without a relay.
//
// Thread-safety: free functions without state.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "notify/mailer.h"

namespace privox::notify {

// A bare address (local@domain): `invalid_argument` naming `field` for anything else, including
// CR, LF, spaces, angle brackets and commas (no header or envelope injection, one recipient).
Status check_address(std::string_view field, std::string_view address);

// "Thu, 01 Jan 2026 12:00:00 +0000"
std::string rfc5322_date(int64_t now_us);

// A header value as it goes on the wire: ASCII as is, anything else as RFC 2047 encoded words
// (UTF-8, base64), folded so that no line passes 78 characters.
std::string encode_header_value(std::string_view value);

// The whole message with CRLF line ends: Date, Message-ID, From, To, Subject, MIME-Version,
// Content-Type (text/plain; charset=utf-8), Content-Transfer-Encoding, the extra headers, a blank
// line and the body. `invalid_argument` naming the field when the subject or any header name or
// value holds CR or LF (header injection), a header name is not a token, or an extra header
// would replace one the mailer sets. The body is sent 8bit, or quoted-printable when a line
// would pass SMTP's 998-octet limit. With attachments the message is multipart/mixed (a random
// boundary): the text, then each file in base64 with its Content-Disposition filename;
// `invalid_argument` on "attachments" for a name that is not plain or a type that is not
// type/subtype. The returned string holds the attachments' bytes (base64): wipe it when they are
// secret (SmtpMailer does).
Result<std::string> format_message(std::string_view from, const Email& email, int64_t now_us,
                                   std::span<const Attachment> attachments = {});

}  // namespace privox::notify
