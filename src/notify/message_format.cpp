#include "notify/message_format.h"

#include <fmt/format.h>
#include <sodium.h>

#include <array>
#include <cctype>
#include <ctime>
#include <vector>

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

Result<std::string> format_message(std::string_view from, const Email& email, int64_t now_us) {
  PRIVOX_TRY(check_header_text("subject", email.subject));
  for (const auto& [name, value] : email.headers) {
    if (!is_token(name)) return invalid("headers", fmt::format("'{}' is not a header name", name));
    for (const std::string_view own : kMailerHeaders)
      if (lower(name) == own) return invalid("headers", fmt::format("the mailer sets {} itself", name));
    PRIVOX_TRY(check_header_text(fmt::format("headers.{}", name), value));
  }
  const Body body = encode_body(email.text);
  std::string out;
  out += "Date: " + rfc5322_date(now_us) + "\r\n";
  out += "Message-ID: <" + new_id(now_us) + "@" + domain_of(from) + ">\r\n";
  out += fmt::format("From: {}\r\n", from);
  out += fmt::format("To: {}\r\n", email.to);
  out += "Subject: " + encode_header_value(email.subject) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: " + body.encoding + "\r\n";
  for (const auto& [name, value] : email.headers) out += name + ": " + encode_header_value(value) + "\r\n";
  out += "\r\n";
  out += body.text;
  return out;
}

}  // namespace privox::notify
