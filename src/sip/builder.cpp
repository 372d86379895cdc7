#include "sip/builder.h"

#include <charconv>

#include "common/ascii.h"

namespace privox::sip {
namespace {

void append_status_line(std::string& out, int status, std::string_view reason) {
  char digits[8];
  const auto end = std::to_chars(digits, digits + sizeof digits, status).ptr;
  out += "SIP/2.0 ";
  out.append(digits, end);
  out += ' ';
  out += reason;
  out += "\r\n";
}

void append_number_header(std::string& out, std::string_view name, long value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  append_header(out, name, std::string_view(digits, static_cast<size_t>(end - digits)));
}

void append_body(std::string& out, std::string_view body) {
  append_number_header(out, "Content-Length", static_cast<long>(body.size()));
  out += "\r\n";
  out += body;
}

// Copies a header, dropping its first comma-separated value; nothing when it had only one.
// Appends `h` without its first `drop` values; returns how many it dropped (fewer when it has fewer).
int append_without_first_values(std::string& out, const HeaderField& h, int drop) {
  int dropped = 0;
  std::string rest;
  for_each_value(h.value, [&](std::string_view v) {
    if (dropped < drop) {
      ++dropped;
    } else {
      if (!rest.empty()) rest += ", ";
      rest += v;
    }
    return true;
  });
  if (!rest.empty()) append_header(out, h.name, rest);
  return dropped;
}

void append_without_first_value(std::string& out, const HeaderField& h) { append_without_first_values(out, h, 1); }

bool listed(std::span<const Header> ids, Header id) {
  for (Header h : ids)
    if (h == id) return true;
  return false;
}

// The CSeq line of an ACK or CANCEL: the request's number with a new method.
void append_cseq(std::string& out, const Message& request, std::string_view method) {
  char digits[16];
  const auto end = std::to_chars(digits, digits + sizeof digits, request.cseq().number).ptr;
  std::string value(digits, end);
  value += ' ';
  value += method;
  append_header(out, "CSeq", value);
}

}  // namespace

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

std::string build_response(const Message& request, int status, std::string_view reason, std::string_view to_tag,
                           std::span<const ExtraHeader> extra, std::string_view body) {
  std::string out;
  out.reserve(512 + body.size());
  append_status_line(out, status, reason);
  for (const HeaderField& h : request.headers()) {
    switch (h.id) {
      case Header::via:
      case Header::from:
      case Header::call_id:
      case Header::cseq:
        append_header(out, h.name, h.value);
        break;
      case Header::to:
        if (status > 100 && !to_tag.empty() && request.to().tag().empty()) {
          std::string value(h.value);
          value += ";tag=";
          value += to_tag;
          append_header(out, h.name, value);
        } else {
          append_header(out, h.name, h.value);
        }
        break;
      default:
        break;
    }
  }
  for (const ExtraHeader& e : extra) append_header(out, e.name, e.value);
  append_body(out, body);
  return out;
}

std::string build_not_durable(const Message& request, ErrorCode code, std::string_view reason, std::string_view to_tag) {
  const int status = not_durable_status(code);
  if (status != 503) return build_response(request, status, reason, to_tag);
  const std::string retry_after = std::to_string(kStoreRetryAfterS);
  const ExtraHeader extra[] = {{"Retry-After", retry_after}};
  return build_response(request, status, reason, to_tag, extra);
}

std::string build_bad_request(std::string_view raw, int status, std::string_view reason) {
  std::string out;
  out.reserve(512);
  append_status_line(out, status, reason);
  bool copying = false;
  size_t pos = raw.find("\r\n");  // skip the start line
  while (pos != std::string_view::npos && pos + 2 < raw.size()) {
    const size_t start = pos + 2;
    const size_t end = raw.find("\r\n", start);
    const std::string_view line = raw.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (line.empty()) break;  // end of headers
    if (line.front() == ' ' || line.front() == '\t') {
      if (copying) (out += line) += "\r\n";  // a folded continuation of a copied header
    } else {
      const size_t colon = line.find(':');
      std::string_view name = line.substr(0, colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      const Header id = colon == std::string_view::npos ? Header::other : classify_header(name);
      copying = id == Header::via || id == Header::from || id == Header::to || id == Header::call_id ||
                id == Header::cseq;
      if (copying) (out += line) += "\r\n";
    }
    pos = end;
  }
  append_body(out, {});
  return out;
}

std::string build_forward(const Message& request, const ForwardEdits& edits) {
  std::string out;
  out.reserve(request.bytes().size() + 256);
  out += request.method_text();
  out += ' ';
  out += edits.request_uri.empty() ? request.request_uri_text() : edits.request_uri;
  out += " SIP/2.0\r\n";
  if (!edits.via.empty()) append_header(out, "Via", edits.via);
  if (!edits.record_route.empty()) append_header(out, "Record-Route", edits.record_route);
  if (!edits.route.empty()) append_header(out, "Route", edits.route);
  int routes_to_pop = edits.pop_route ? (edits.pop_second_route ? 2 : 1) : 0;
  for (const HeaderField& h : request.headers()) {
    if (listed(edits.remove, h.id)) continue;
    switch (h.id) {
      case Header::max_forwards:
      case Header::content_length:
        break;  // rewritten below
      case Header::route:
        if (routes_to_pop > 0) {
          routes_to_pop -= append_without_first_values(out, h, routes_to_pop);
        } else {
          append_header(out, h.name, h.value);
        }
        break;
      case Header::from:
        append_header(out, h.name, edits.from.empty() ? h.value : edits.from);
        break;
      default:
        append_header(out, h.name, h.value);
    }
  }
  append_number_header(out, "Max-Forwards", request.max_forwards() < 0 ? 70 : request.max_forwards() - 1);
  for (const ExtraHeader& e : edits.extra) append_header(out, e.name, e.value);
  append_body(out, edits.body.value_or(request.body()));
  return out;
}

std::string build_response_forward(const Message& response, std::optional<std::string_view> body) {
  std::string out;
  out.reserve(response.bytes().size());
  append_status_line(out, response.status(), response.reason());
  bool via_popped = false;
  for (const HeaderField& h : response.headers()) {
    if (h.id == Header::content_length) continue;
    if (h.id == Header::via && !via_popped) {
      append_without_first_value(out, h);
      via_popped = true;
      continue;
    }
    append_header(out, h.name, h.value);
  }
  append_body(out, body.value_or(response.body()));
  return out;
}

// ACK and CANCEL share the INVITE's Request-URI, top Via (the one this transaction added), From,
// Call-ID, Route set and CSeq number (RFC 3261 §9.1, §17.1.1.3); they differ in method and in
// whose To they carry: an ACK takes the response's, which holds the callee's tag.
static std::string build_same_transaction(std::string_view method, const Message& request, const HeaderField* to) {
  std::string out;
  out.reserve(512);
  out += method;
  out += ' ';
  out += request.request_uri_text();
  out += " SIP/2.0\r\n";
  bool via_done = false;
  for (const HeaderField& h : request.headers()) {
    if (h.id == Header::via && !via_done) {
      std::string_view top;
      for_each_value(h.value, [&](std::string_view v) {
        top = v;
        return false;
      });
      append_header(out, "Via", top);
      via_done = true;
    } else if (h.id == Header::from || h.id == Header::call_id || h.id == Header::route) {
      append_header(out, h.name, h.value);
    }
  }
  if (to) append_header(out, "To", to->value);
  append_cseq(out, request, method);
  append_header(out, "Max-Forwards", "70");
  append_body(out, {});
  return out;
}

std::string build_ack(const Message& request, const Message& response) {
  return build_same_transaction("ACK", request, response.first(Header::to));
}

std::string build_cancel(const Message& request) {
  return build_same_transaction("CANCEL", request, request.first(Header::to));
}

bool carries_sdp(const Message& m) {
  if (m.body().empty()) return false;
  std::string_view type = m.first_value(Header::content_type);
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return iequals_ascii(type, "application/sdp");
}

}  // namespace privox::sip
