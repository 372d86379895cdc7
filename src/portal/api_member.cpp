// The routes of a logged-in member and office manager: their own record, call and message logs
// and phone lines.
#include <fmt/format.h>

#include "accounts/accounts.h"
#include "portal/api_internal.h"
#include "portal/json_out.h"
#include "sip/store_bindings.h"
#include "traffic/cdr.h"

namespace privox::portal {
namespace {

// The member's own fields, opened under their key. The payment token is left out: it is for the
// provider, not for people.
Result<nlohmann::json> own_fields(store::Session& s, const privacy::Keyring& keys, const std::string& id) {
  std::vector<const privacy::FieldSpec*> fields;
  for (const privacy::FieldSpec* f : accounts::member_fields())
    if (f->in_access_export) fields.push_back(f);
  Result<accounts::FieldValues> values = accounts::open_member_fields(s, keys, id, fields);
  if (!values.ok()) {
    if (values.error().code == ErrorCode::erased) return Error{ErrorCode::not_found, "id", "no such member"};
    return values.error();
  }
  nlohmann::json out = nlohmann::json::object();
  for (auto& [name, value] : *values) out[name] = std::move(value);
  return out;
}

// The lines whose records and registrations the caller may see: their own, or the company's for an
// office manager.
Result<std::vector<accounts::Extension>> visible_lines(accounts::Extensions& extensions, const Principal& who) {
  if (is_staff(who.role)) return std::vector<accounts::Extension>();
  PRIVOX_ASSIGN(std::vector<accounts::Extension> all, extensions.list(who.company_id));
  if (who.role == Role::office_manager) return all;
  std::vector<accounts::Extension> own;
  for (auto& x : all)
    if (x.member_id == who.subject_id) own.push_back(std::move(x));
  return own;
}

std::optional<std::pair<int64_t, std::string>> parse_cursor(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  const std::optional<int64_t> at = traffic::parse_time(text.substr(0, dot));
  int64_t us = 0;
  for (char c : text.substr(0, dot)) {
    if (c < '0' || c > '9' || us > (INT64_MAX - 9) / 10) return std::nullopt;
    us = us * 10 + (c - '0');
  }
  (void)at;
  return std::pair{us, std::string(text.substr(dot + 1))};
}

// One item of the call log: the keys in nlohmann's (sorted) order, so the page is the document
// nlohmann would print (a test compares them byte for byte).
void append_record_json(std::string& out, const traffic::CdrRow& r) {
  out += "{\"answered_at\":";
  json_out::append_time(out, r.answered_at_us);
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
http::Response call_log_response(const std::vector<traffic::CdrRow>& rows, size_t limit) {
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
  http::Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

}  // namespace

void Portal::Impl::mount_records(http::Router& r) {
  r.add(verb::get, "/api/v1/me", [this](const Exchange& e) -> Response {
    auto gate = require_session(*this, e, false);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const Caller& c = std::get<Caller>(gate);
    nlohmann::json out = {{"subject_id", c.who.subject_id}, {"company_id", c.who.company_id},
                          {"role", to_string(c.who.role)}, {"csrf_token", auth.csrf_for(c.token)}};
    Status done = store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
      if (is_staff(c.who.role)) {
        PRIVOX_ASSIGN(std::string email, auth.staff_email(s, c.who.subject_id));
        out["fields"] = {{"email", email}};
        return {};
      }
      PRIVOX_ASSIGN(out["fields"], own_fields(s, keys, c.who.subject_id));
      if (auto co = accounts::find_company(s, c.who.company_id); co.ok()) out["company_name"] = co->name;
      PRIVOX_TRY(audit.append(s, {c.who.subject_id, "member.show_own", c.who.subject_id, "service",
                                  {{"fields_shown", out["fields"].size()}}}));
      return {};
    });
    if (!done.ok()) return error_response(done.error());
    return http::json_response(status::ok, out);
  });

  r.add(verb::patch, "/api/v1/me", [this](const Exchange& e) -> Response {
    auto gate = require_session(*this, e, true);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const Caller& c = std::get<Caller>(gate);
    if (is_staff(c.who.role))
      return http::json_error(status::forbidden, "staff logins have no member record to correct", "role");
    auto parsed = json_body(e);
    if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
    accounts::FieldValues corrections;
    for (const auto& [key, value] : std::get<nlohmann::json>(parsed).items()) {
      if (!value.is_string()) return http::json_error(status::bad_request, "must be a string", key);
      if (key == "payment_token" || key.rfind("card_", 0) == 0)
        return http::json_error(status::bad_request, "payment details change through the payment provider", key);
      corrections[key] = value.get<std::string>();
    }
    auto corrected = accounts.correct_member(c.who.subject_id, corrections, c.who.subject_id);
    if (!corrected.ok()) return error_response(corrected.error());
    return http::json_response(status::ok, {{"corrected", *corrected}});
  });

  for (const bool messages : {false, true}) {
    const std::string path = messages ? "/api/v1/messages" : "/api/v1/calls";
    r.add(verb::get, path, [this, messages](const Exchange& e) -> Response {
      auto gate = require_session(*this, e, false);
      if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
      const Caller& c = std::get<Caller>(gate);
      traffic::CdrQuery q;
      q.newest_first = true;
      q.purpose = privacy::Purpose::service;
      q.kind = messages ? "sms" : e.query_param("type").value_or("voice");
      if (q.kind != "voice" && q.kind != "sms")
        return http::json_error(status::bad_request, "must be voice or sms", "type");
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
      int64_t limit = 50;
      if (auto text = e.query_param("limit")) {
        limit = std::atoll(text->c_str());
        if (limit < 1 || limit > 200 || text->find_first_not_of("0123456789") != std::string::npos)
          return http::json_error(status::bad_request, "must be a whole number from 1 to 200", "limit");
      }
      q.limit = static_cast<size_t>(limit) + 1;  // one more tells whether another page follows
      if (auto cursor = e.query_param("cursor")) {
        q.after = parse_cursor(*cursor);
        if (!q.after) return http::json_error(status::bad_request, "is not a cursor this API gave", "cursor");
      }
      std::string actor = c.who.subject_id;
      if (is_staff(c.who.role)) {
        auto purpose = staff_purpose(e, c.who);
        if (auto* refusal = std::get_if<Response>(&purpose)) return std::move(*refusal);
        q.purpose = std::get<privacy::Purpose>(purpose);
        if (auto company = e.query_param("company_id")) q.company_id = *company;
      } else {
        auto lines = visible_lines(extensions, c.who);
        if (!lines.ok()) return error_response(lines.error());
        q.company_id = c.who.company_id;
        q.call_log = true;
        const std::optional<std::string> only = e.query_param("extension");
        for (const auto& x : *lines)
          if (!only || *only == x.id) q.subject_ids.push_back(x.id);
        if (only && q.subject_ids.empty())
          return http::json_error(status::not_found, "no such line of yours", "extension");
        if (q.subject_ids.empty()) return http::json_response(status::ok, {{"items", nlohmann::json::array()}});
      }
      auto rows = traffic::list_records(store, keys, clock, q, actor);
      if (!rows.ok()) return error_response(rows.error());
      return call_log_response(*rows, static_cast<size_t>(limit));
    });
  }

  r.add(verb::get, "/api/v1/extensions", [this](const Exchange& e) -> Response {
    auto gate = require_session(*this, e, false);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const Caller& c = std::get<Caller>(gate);
    if (is_staff(c.who.role)) return http::json_error(status::forbidden, "lines belong to a company's portal", "role");
    auto lines = visible_lines(extensions, c.who);
    if (!lines.ok()) return error_response(lines.error());
    nlohmann::json items = nlohmann::json::array();
    Status done = store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
      items = nlohmann::json::array();
      const int64_t now = clock.now_us();
      for (const accounts::Extension& x : *lines) {
        PRIVOX_ASSIGN(std::vector<sip::StoredDevice> stored, sip::stored_devices(s, keys, x.id, now, false));
        nlohmann::json devices = nlohmann::json::array();
        for (const sip::StoredDevice& d : stored)
          devices.push_back({{"equipment", d.user_agent}, {"expires_at", format_utc(d.expires_at_us)}});
        items.push_back({{"id", x.id}, {"number", x.number}, {"sip_user", x.sip_user},
                         {"member_id", x.member_id ? nlohmann::json(*x.member_id) : nlohmann::json(nullptr)},
                         {"did", x.did ? nlohmann::json(*x.did) : nlohmann::json(nullptr)},
                         {"registered", !devices.empty()}, {"devices", devices}});
      }
      return {};
    });
    if (!done.ok()) return error_response(done.error());
    return http::json_response(status::ok, {{"items", items}});
  });

  r.add(verb::post, "/api/v1/extensions", [this](const Exchange& e) -> Response {
    auto gate = require_session(*this, e, true);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const Caller& c = std::get<Caller>(gate);
    if (c.who.role != Role::office_manager)
      return http::json_error(status::forbidden, "only the office manager adds lines", "role");
    auto parsed = json_body(e);
    if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
    const nlohmann::json& body = std::get<nlohmann::json>(parsed);
    std::optional<Response> bad;
    accounts::NewExtension input;
    input.company_id = c.who.company_id;
    input.number = string_field(body, "number", bad).value_or("");
    input.password = string_field(body, "password", bad).value_or("");
    input.member_id = string_field(body, "member_id", bad);
    input.did = string_field(body, "did", bad);
    if (bad) return std::move(*bad);
    auto id = extensions.add_extension(input, c.who.subject_id);
    if (!id.ok()) return error_response(id.error());
    auto x = extensions.find(*id);
    if (!x.ok()) return error_response(x.error());
    return http::json_response(status::created,
                               {{"id", x->id}, {"number", x->number}, {"sip_user", x->sip_user},
                                {"member_id", x->member_id ? nlohmann::json(*x->member_id) : nlohmann::json(nullptr)},
                                {"did", x->did ? nlohmann::json(*x->did) : nlohmann::json(nullptr)},
                                {"registered", false}, {"devices", nlohmann::json::array()}});
  });

  r.add(verb::post, "/api/v1/extensions/{id}/password", [this](const Exchange& e) -> Response {
    auto gate = require_session(*this, e, true);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const Caller& c = std::get<Caller>(gate);
    if (c.who.role != Role::office_manager)
      return http::json_error(status::forbidden, "only the office manager resets line passwords", "role");
    const std::string id(e.param("id"));
    auto x = extensions.find(id);
    // Another company's line is answered exactly like a line that does not exist.
    if (!x.ok() || x->company_id != c.who.company_id)
      return http::json_error(status::not_found, "no such line in your company", "id");
    auto parsed = json_body(e);
    if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
    std::optional<Response> bad;
    const std::string password = string_field(std::get<nlohmann::json>(parsed), "password", bad).value_or("");
    if (bad) return std::move(*bad);
    if (Status s = extensions.reset_password(id, password, c.who.subject_id); !s.ok()) return error_response(s.error());
    return Response{status::no_content, 11};
  });
}

}  // namespace privox::portal
