// The call and message logs: a member's lines, an office manager's company, or staff for a
// purpose, newest first, a page at a time.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "portal/json_out.h"
#include "portal/routes.h"
#include "traffic/cdr.h"

namespace privox::portal::routes {
namespace {

// Items per page when the query names no limit, and the most it may name.
constexpr int64_t kDefaultLimit = 50, kMaxLimit = 200;

// "<started_at_us>.<id>", as call_log_response writes next_cursor.
std::optional<std::pair<int64_t, std::string>> parse_cursor(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  int64_t us = 0;
  for (char c : text.substr(0, dot)) {
    if (c < '0' || c > '9' || us > (INT64_MAX - 9) / 10) return std::nullopt;
    us = us * 10 + (c - '0');
  }
  return std::pair{us, std::string(text.substr(dot + 1))};
}

// One item of the call log: the keys in nlohmann's (sorted) order, so the page is the document
// nlohmann would print (a test compares them byte for byte).
void append_record_json(std::string& out, const traffic::CdrRow& r) {
  out += "{\"answered_at\":";
  json_out::append_time(out, r.answered_at_us);
  // Whether each leg was encrypted on the wire (TLS and SRTP); absent when not known.
  if (r.callee_encrypted) out += *r.callee_encrypted ? ",\"callee_encrypted\":true" : ",\"callee_encrypted\":false";
  if (r.caller_encrypted) out += *r.caller_encrypted ? ",\"caller_encrypted\":true" : ",\"caller_encrypted\":false";
  if (r.cost_micros) {  // a rated call: its cost as an exact decimal, and the currency
    out += ",\"cost\":";
    json_out::append_string(out, traffic::cost_text(*r.cost_micros));
    out += ",\"cost_currency\":";
    json_out::append_string(out, r.cost_currency);
  }
  out += ",\"destination\":";
  json_out::append_optional(out, r.destination);
  out += ",\"direction\":";
  json_out::append_string(out, r.direction);
  out += fmt::format(",\"duration_ms\":{},\"ended_at\":", r.duration_ms);
  json_out::append_time(out, r.ended_at_us);
  out += ",\"extension_id\":";
  json_out::append_string(out, r.subject_id);
  out += ",\"id\":";
  json_out::append_string(out, r.id);
  out += ",\"outcome\":";
  json_out::append_string(out, r.outcome);
  out += ",\"source\":";
  // A caller who withheld their number stays withheld (P13).
  json_out::append_optional(out, r.source_withheld ? std::nullopt : r.source);
  out += r.source_withheld ? ",\"source_withheld\":true" : ",\"source_withheld\":false";
  out += ",\"started_at\":";
  json_out::append_string(out, format_utc(r.started_at_us));
  out += ",\"type\":";
  json_out::append_string(out, r.kind);
  out += '}';
}

// {"items": [the first `limit` rows], "next_cursor": "<started_at_us>.<id>" of the last item shown
// when more rows followed, else null}. The call log is the portal's hottest answer (issue 5), so it
// is written straight into one string (json_out.h) rather than built as a nlohmann tree.
Response call_log_response(const std::vector<traffic::CdrRow>& rows, size_t limit) {
  std::string body;
  body.reserve(64 + 400 * std::min(rows.size(), limit));
  body += "{\"items\":[";
  for (size_t i = 0; i < rows.size() && i < limit; ++i) {
    if (i) body += ',';
    append_record_json(body, rows[i]);
  }
  body += "],\"next_cursor\":";
  if (rows.size() > limit)
    json_out::append_string(body, fmt::format("{}.{}", rows[limit - 1].started_at_us, rows[limit - 1].id));
  else body += "null";
  body += '}';
  Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

// A page of the log as the query string asks for it: the store's query and the page's size. The
// query asks for one row more than the page shows, which tells whether another page follows.
struct LogPage {
  traffic::CdrQuery query;
  size_t limit = 0;
};

// The query string's filters and page (type, direction, from, to, limit, cursor), each refused
// with a 400 naming it.
std::variant<LogPage, Response> log_page(const Exchange& e, bool messages) {
  traffic::CdrQuery q;
  q.newest_first = true;
  q.purpose = privacy::Purpose::service;
  q.kind = messages ? "sms" : e.query_param("type").value_or("voice");
  if (q.kind != "voice" && q.kind != "sms") return http::json_error(status::bad_request, "must be voice or sms", "type");
  if (messages && q.kind != "sms") return http::json_error(status::bad_request, "messages are sms", "type");
  q.direction = e.query_param("direction").value_or("");
  if (!q.direction.empty() && q.direction != "internal" && q.direction != "outbound" && q.direction != "inbound")
    return http::json_error(status::bad_request, "must be internal, outbound or inbound", "direction");
  for (const char* bound : {"from", "to"}) {
    const auto text = e.query_param(bound);
    if (!text) continue;
    const std::optional<int64_t> at = traffic::parse_time(*text);
    if (!at) return http::json_error(status::bad_request, "is not a date, a UTC time or epoch seconds", bound);
    (std::string_view(bound) == "from" ? q.since_us : q.until_us) = *at;
  }
  int64_t limit = kDefaultLimit;
  if (auto text = e.query_param("limit")) {
    limit = std::atoll(text->c_str());
    if (limit < 1 || limit > kMaxLimit || text->find_first_not_of("0123456789") != std::string::npos)
      return http::json_error(status::bad_request, "must be a whole number from 1 to 200", "limit");
  }
  q.limit = static_cast<size_t>(limit) + 1;
  if (auto cursor = e.query_param("cursor")) {
    q.after = parse_cursor(*cursor);
    if (!q.after) return http::json_error(status::bad_request, "is not a cursor this API gave", "cursor");
  }
  return LogPage{std::move(q), static_cast<size_t>(limit)};
}

Response call_log(Portal::Impl& p, const Exchange& e, const Caller& c, bool messages) {
  auto parsed = log_page(e, messages);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  traffic::CdrQuery& q = std::get<LogPage>(parsed).query;
  if (is_staff(c.who.role)) {
    // Staff name a purpose (and may narrow to one company); members see their lines' own log.
    auto purpose = staff_purpose(e, c.who);
    if (auto* refusal = std::get_if<Response>(&purpose)) return std::move(*refusal);
    q.purpose = std::get<privacy::Purpose>(purpose);
    if (auto company = e.query_param("company_id")) q.company_id = *company;
  } else {
    auto lines = visible_lines(p.extensions, c.who);
    if (!lines.ok()) return error_response(lines.error());
    q.company_id = c.who.company_id;
    q.call_log = true;
    const std::optional<std::string> only = e.query_param("extension");
    for (const auto& x : *lines)
      if (!only || *only == x.id) q.subject_ids.push_back(x.id);
    if (only && q.subject_ids.empty()) return http::json_error(status::not_found, "no such line of yours", "extension");
    if (q.subject_ids.empty()) return http::json_response(status::ok, {{"items", nlohmann::json::array()}});
  }
  auto rows = traffic::list_records(p.store, p.keys, p.clock, q, c.who.subject_id);
  if (!rows.ok()) return error_response(rows.error());
  return call_log_response(*rows, std::get<LogPage>(parsed).limit);
}

}  // namespace

Response calls_list(Portal::Impl& p, const Exchange& e, const Caller& c) { return call_log(p, e, c, false); }

Response messages_list(Portal::Impl& p, const Exchange& e, const Caller& c) { return call_log(p, e, c, true); }

}  // namespace privox::portal::routes
