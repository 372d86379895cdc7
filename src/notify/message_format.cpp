#include "notify/message_format.h"

#include <fmt/format.h>
#include <sodium.h>

#include <array>
#include <cctype>
#include <ctime>
#include <vector>

#include "common/bytes.h"
#include "common/ids.h"

namespace privox::notify {
namespace {

constexpr size_t kMaxLineOctets = 998;  // RFC 5322 2.1.1
constexpr size_t kQpLineChars = 76;     // RFC 2045 6.7
constexpr size_t kEncodedWordBytes = 45;  // base64s to 60 chars: an encoded word stays under 75

bool is_ascii(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

bool is_token(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string base64(std::string_view raw) {
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// A chunk never splits a UTF-8 sequence: each encoded word must decode on its own (RFC 2047 5).
size_t utf8_chunk_end(std::string_view s, size_t begin, size_t max_bytes) {
  size_t end = std::min(s.size(), begin + max_bytes);
  while (end > begin && end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return end == begin ? std::min(s.size(), begin + max_bytes) : end;
}

Status check_header_text(const std::string& field, std::string_view value) {
  if (value.find_first_of("\r\n") != std::string_view::npos)
    return invalid(field, "must be one line: CR and LF are refused in mail headers");
  if (value.size() > kMaxLineOctets) return invalid(field, "is longer than a mail header line may be");
  return {};
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = text.find_first_of("\r\n", begin);
    if (end == std::string_view::npos) {
      if (begin < text.size()) lines.push_back(text.substr(begin));
      break;
    }
    lines.push_back(text.substr(begin, end - begin));
    begin = end + ((text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ? 2 : 1);
  }
  return lines;
}

void append_qp_line(std::string& out, std::string_view line) {
  size_t width = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    const bool last = i + 1 == line.size();
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
    const std::string piece = literal ? std::string(1, static_cast<char>(c)) : fmt::format("={:02X}", c);
    if (width + piece.size() > kQpLineChars - 1) {  // leave room for the soft break's '='
      out += "=\r\n";
      width = 0;
    }
    out += piece;
    width += piece.size();
  }
  out += "\r\n";
}

struct Body {
  std::string encoding;
  std::string text;
};

Body encode_body(std::string_view text) {
  const std::vector<std::string_view> lines = split_lines(text);
  bool plain = is_ascii(text);
  for (const std::string_view line : lines) plain = plain && line.size() <= kMaxLineOctets;
  Body body{plain ? "7bit" : "quoted-printable", {}};
  for (const std::string_view line : lines) {
    if (plain) {
      body.text.append(line).append("\r\n");
    } else {
      append_qp_line(body.text, line);
    }
  }
  return body;
}

std::string domain_of(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? "localhost" : std::string(address.substr(at + 1));
}

constexpr size_t kBase64LineBytes = 57;  // 76 characters of base64 a line (RFC 2045 6.8)
constexpr size_t kMaxFilename = 100;

// An attachment's name goes in a quoted parameter as it is: plain characters only, no path.
bool is_plain_filename(std::string_view name) {
  if (name.empty() || name.size() > kMaxFilename || name.front() == '.') return false;
  for (const char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
  return true;
}

// type/subtype, each a token of letters, digits and "+-.".
bool is_media_type(std::string_view type) {
  const size_t slash = type.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == type.size()) return false;
  for (size_t i = 0; i < type.size(); ++i) {
    const char c = type[i];
    if (i != slash && !(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.')) return false;
  }
  return true;
}

Status check_attachments(std::span<const Attachment> attachments) {
  for (const Attachment& a : attachments) {
    if (!is_plain_filename(a.filename))
      return invalid("attachments", fmt::format("'{}' is not a plain file name (letters, digits, '.', '-', '_')",
                                                a.filename));
    if (!is_media_type(a.content_type))
      return invalid("attachments", fmt::format("'{}' is not a media type (type/subtype)", a.content_type));
  }
  return {};
}

// Appends `raw` as base64 in lines of 76 characters. The one line buffer is wiped after: an
// attachment may be secret (a recording), and `out` was reserved by the caller, so it does not
// leave copies behind as it grows.
void append_base64_lines(std::string& out, std::string_view raw) {
  std::array<char, sodium_base64_ENCODED_LEN(kBase64LineBytes, sodium_base64_VARIANT_ORIGINAL)> line{};
  for (size_t at = 0; at < raw.size(); at += kBase64LineBytes) {
    const size_t n = std::min(kBase64LineBytes, raw.size() - at);
    sodium_bin2base64(line.data(), line.size(), reinterpret_cast<const unsigned char*>(raw.data()) + at, n,
                      sodium_base64_VARIANT_ORIGINAL);
    out.append(line.data()).append("\r\n");
  }
  sodium_memzero(line.data(), line.size());
}

// What the whole message needs at most beyond its headers and text, so it is reserved at once.
size_t attachments_size(std::span<const Attachment> attachments) {
  size_t size = 0;
  for (const Attachment& a : attachments)
    size += (a.data.size() / kBase64LineBytes + 1) * 78 + 2 * a.filename.size() + a.content_type.size() + 256;
  return size;
}

std::string new_boundary() {
  std::array<uint8_t, 16> random{};
  randombytes_buf(random.data(), random.size());
  // "=_" never occurs in base64 or quoted-printable text, so no part can hold the boundary.
  return "=_privox_" + to_hex(random.data(), random.size());
}

constexpr std::array<std::string_view, 8> kMailerHeaders = {
    "date", "message-id", "from", "to", "subject", "mime-version", "content-type", "content-transfer-encoding"};

}  // namespace

Status check_address(std::string_view field, std::string_view address) {
  const std::string name(field);
  if (address.empty()) return invalid(name, "an email address is needed");
  if (address.find_first_of(" \t\r\n<>,;\"()[]\\") != std::string_view::npos || !is_ascii(address))
    return invalid(name, fmt::format("'{}' is not a plain email address (local@domain)", address));
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size() || address.size() > 254)
    return invalid(name, fmt::format("'{}' is not an email address (local@domain)", address));
  return {};
}

std::string rfc5322_date(int64_t now_us) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = static_cast<std::time_t>(now_us / 1'000'000);
  std::tm t{};
  gmtime_r(&seconds, &t);
  return fmt::format("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} +0000", kDays.at(static_cast<size_t>(t.tm_wday)),
                     t.tm_mday, kMonths.at(static_cast<size_t>(t.tm_mon)), t.tm_year + 1900, t.tm_hour, t.tm_min,
                     t.tm_sec);
}

std::string encode_header_value(std::string_view value) {
  if (is_ascii(value)) return std::string(value);
  std::string out;
  for (size_t begin = 0; begin < value.size();) {
    const size_t end = utf8_chunk_end(value, begin, kEncodedWordBytes);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(value.substr(begin, end - begin)) + "?=";
    begin = end;
  }
  return out;
}

Result<std::string> format_message(std::string_view from, const Email& email, int64_t now_us,
                                   std::span<const Attachment> attachments) {
  PRIVOX_TRY(check_header_text("subject", email.subject));
  for (const auto& [name, value] : email.headers) {
    if (!is_token(name)) return invalid("headers", fmt::format("'{}' is not a header name", name));
    for (const std::string_view own : kMailerHeaders)
      if (lower(name) == own) return invalid("headers", fmt::format("the mailer sets {} itself", name));
    PRIVOX_TRY(check_header_text(fmt::format("headers.{}", name), value));
  }
  PRIVOX_TRY(check_attachments(attachments));
  const Body body = encode_body(email.text);
  std::string out;
  size_t headers_size = 0;
  for (const auto& [name, value] : email.headers) headers_size += name.size() + 2 * value.size() + 8;
  out.reserve(2048 + 2 * email.subject.size() + headers_size + body.text.size() + attachments_size(attachments));
  out += "Date: " + rfc5322_date(now_us) + "\r\n";
  out += "Message-ID: <" + new_id(now_us) + "@" + domain_of(from) + ">\r\n";
  out += fmt::format("From: {}\r\n", from);
  out += fmt::format("To: {}\r\n", email.to);
  out += "Subject: " + encode_header_value(email.subject) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  const std::string text_headers =
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: " + body.encoding + "\r\n";
  const std::string boundary = attachments.empty() ? std::string() : new_boundary();
  out += boundary.empty() ? text_headers : "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n";
  for (const auto& [name, value] : email.headers) out += name + ": " + encode_header_value(value) + "\r\n";
  out += "\r\n";
  if (boundary.empty()) {
    out += body.text;
    return out;  // moved, not copied: the message may hold a secret attachment
  }
  // RFC 2046 5.1: the text first, then each file. The CRLF before a delimiter belongs to it: the
  // text keeps its own last line break, and a base64 part's last one serves.
  out += "This is a message in several parts (MIME).\r\n--" + boundary + "\r\n" + text_headers + "\r\n";
  out += body.text;
  out += "\r\n";
  for (const Attachment& a : attachments) {
    out += "--" + boundary + "\r\n";
    out += fmt::format("Content-Type: {}; name=\"{}\"\r\n", a.content_type, a.filename);
    out += fmt::format("Content-Disposition: attachment; filename=\"{}\"\r\n", a.filename);
    out += "Content-Transfer-Encoding: base64\r\n\r\n";
    append_base64_lines(out, a.data);
  }
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace privox::notify
