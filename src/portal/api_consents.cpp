// Consents (cookies for visitors too), rights requests, optional data from the mobile app, the
// privacy notice and what the pages need before login.
#include <fmt/format.h>

#include "common/ids.h"
#include "portal/api_internal.h"
#include "ledgers/notice.h"
#include "consent/optional_data.h"
#include "rights/requests.h"
#include "store/settings.h"

namespace privox::portal {
namespace {

constexpr int64_t kYearS = 365LL * 24 * 3600;

nlohmann::json consent_json(const consent::ConsentRecord& c) {
  return {{"purpose", consent::to_string(c.purpose)}, {"given", c.given}, {"at", format_utc(c.at_us)},
          {"method", consent::to_string(c.method)},   {"channel", c.channel}, {"notice_version", c.notice_version}};
}

// Member routes that take no staff: the caller, or the refusal.
std::variant<Caller, Response> require_member(const Portal::Impl& p, const Exchange& e, bool state_changing) {
  auto gate = require_session(p, e, state_changing);
  if (auto* c = std::get_if<Caller>(&gate); c && is_staff(c->who.role))
    return http::json_error(status::forbidden, "only members have this", "role");
  return gate;
}

}  // namespace

// The performance cookie follows the consent: set while it holds, expired when it does not.
void apply_performance_cookie(Response& res, bool holds, bool had_cookie, bool tls) {
  if (holds) res.insert(http::bhttp::field::set_cookie, fmt::format("{}=1; Path=/; Max-Age={}; SameSite=Strict{}",
                                                                    kPerformanceCookie, kYearS, tls ? "; Secure" : ""));
  else if (had_cookie)
    res.insert(http::bhttp::field::set_cookie,
               fmt::format("{}=; Path=/; Max-Age=0; SameSite=Strict{}", kPerformanceCookie, tls ? "; Secure" : ""));
}

void Portal::Impl::mount_consents(http::Router& r) {
  r.add(verb::get, "/api/v1/consents", [this](const Exchange& e) -> Response {
    const std::optional<Caller> c = optional_session(*this, e);
    std::string subject = c ? c->who.subject_id : e.cookie(kVisitorCookie).value_or("");
    if (!c && !is_valid_id(subject)) subject.clear();
    nlohmann::json current = nlohmann::json::array(), history = nlohmann::json::array();
    if (!subject.empty()) {
      auto now = consents.current(subject);
      if (!now.ok()) return error_response(now.error());
      for (const auto& [purpose, record] : *now) current.push_back(consent_json(record));
      auto all = consents.history(subject);
      if (!all.ok()) return error_response(all.error());
      for (const auto& record : *all) history.push_back(consent_json(record));
    }
    return http::json_response(status::ok,
                               {{"current", current}, {"history", history}, {"notice_version", ledgers::notice_version()}});
  });

  r.add(verb::put, "/api/v1/consents/{purpose}", [this](const Exchange& e) -> Response {
    const std::string named(e.param("purpose"));
    if (named == "cookies_functionality" || named == "cookies_targeting")
      return http::json_error(status::bad_request, "privox sets no functionality or targeting cookies", "purpose");
    const std::optional<consent::ConsentPurpose> purpose = consent::parse_consent_purpose(named);
    if (!purpose) return http::json_error(status::bad_request, fmt::format("'{}' is not a consent purpose", named), "purpose");
    std::optional<Caller> c = optional_session(*this, e);
    std::string subject;
    bool new_visitor = false;
    if (c) {
      if (!auth.csrf_matches(c->token, e.header("X-CSRF-Token")))
        return http::json_error(status::forbidden, "missing or wrong CSRF token", "X-CSRF-Token");
      if (is_staff(c->who.role)) return http::json_error(status::forbidden, "only members give consent here", "role");
      subject = c->who.subject_id;
    } else {
      if (*purpose != consent::ConsentPurpose::cookies_performance)
        return http::json_error(status::unauthorized, "log in to change this consent", "privox_session");
      subject = e.cookie(kVisitorCookie).value_or("");
      new_visitor = !is_valid_id(subject);
      if (new_visitor) subject = new_id(clock.now_us());
    }
    auto parsed = json_body(e);
    if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
    const nlohmann::json& body = std::get<nlohmann::json>(parsed);
    if (!body.contains("given") || !body["given"].is_boolean())
      return http::json_error(status::bad_request, "must be true or false", "given");
    const bool given = body["given"].get<bool>();
    auto record = consents.record({subject, *purpose, given, consent::ConsentMethod::form, "web", ledgers::notice_version()},
                                  c ? subject : "portal:visitor");
    if (!record.ok()) return error_response(record.error());
    Response res = http::json_response(status::ok, consent_json(*record));
    if (new_visitor)  // strictly necessary: it is how the visitor's choice is remembered
      res.insert(http::bhttp::field::set_cookie, cookie_header(kVisitorCookie, subject, kYearS, e.tls()));
    if (*purpose == consent::ConsentPurpose::cookies_performance)
      apply_performance_cookie(res, given, true, e.tls());
    return res;
  });

  r.add(verb::post, "/api/v1/requests", [this](const Exchange& e) -> Response {
    auto gate = require_member(*this, e, true);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const Caller& c = std::get<Caller>(gate);
    auto parsed = json_body(e);
    if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
    const nlohmann::json& body = std::get<nlohmann::json>(parsed);
    std::optional<Response> bad;
    const std::string kind_text = string_field(body, "kind", bad).value_or("");
    if (bad) return std::move(*bad);
    const std::optional<rights::RequestKind> kind = rights::parse_request_kind(kind_text);
    if (!kind) return http::json_error(status::bad_request, "must be access, rectify or erase", "kind");
    rights::NewRequest input{c.who.subject_id, *kind, {}, "portal"};
    if (body.contains("corrections")) {
      if (!body["corrections"].is_object())
        return http::json_error(status::bad_request, "must be an object of field names to values", "corrections");
      for (const auto& [field, value] : body["corrections"].items()) {
        if (!value.is_string()) return http::json_error(status::bad_request, "must be a string", field);
        input.corrections[field] = value.get<std::string>();
      }
    }
    rights::Requests requests(store, keys, clock);
    auto opened = requests.open(input, c.who.subject_id);
    if (!opened.ok()) return error_response(opened.error());
    return http::json_response(status::created, opened->to_json(clock.now_us()));
  });

  // The privacy centre lists the member's requests, so a reload still shows what was opened.
  r.add(verb::get, "/api/v1/requests", [this](const Exchange& e) -> Response {
    auto gate = require_member(*this, e, false);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const Caller& c = std::get<Caller>(gate);
    rights::Requests requests(store, keys, clock);
    auto listed = requests.list({.include_closed = true, .member_id = c.who.subject_id});
    if (!listed.ok()) return error_response(listed.error());
    nlohmann::json items = nlohmann::json::array();
    for (const rights::Request& request : *listed) items.push_back(request.to_json(clock.now_us()));
    return http::json_response(status::ok, {{"items", items}});
  });

  r.add(verb::get, "/api/v1/privacy-notice", [this](const Exchange&) -> Response {
    auto notice = ledgers::privacy_notice(store);
    if (!notice.ok()) return error_response(notice.error());
    return http::json_response(status::ok, *notice);
  });

  r.add(verb::get, "/api/v1/portal-config", [this](const Exchange&) -> Response {
    store::Settings settings(store);
    nlohmann::json controller = nlohmann::json::object();
    for (const char* key : {"controller.name", "controller.address", "controller.email", "controller.phone"}) {
      auto value = settings.text(key);
      if (!value.ok()) return error_response(value.error());
      controller[std::string(key).substr(11)] = *value;
    }
    return http::json_response(
        status::ok, {{"payment_provider_url", options.payments ? options.payments->browser_origin() : std::string()},
                     {"notice_version", ledgers::notice_version()},
                     {"controller", controller}});
  });

  auto kind_of = [](const Exchange& e) { return consent::parse_optional_kind(e.param("kind")); };
  r.add(verb::post, "/api/v1/optional-data/{kind}", [this, kind_of](const Exchange& e) -> Response {
    auto gate = require_member(*this, e, true);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const auto kind = kind_of(e);
    if (!kind) return http::json_error(status::bad_request, "must be contacts, location or social_profile", "kind");
    auto parsed = json_body(e);
    if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
    const nlohmann::json& body = std::get<nlohmann::json>(parsed);
    if (!body.contains("value")) return http::json_error(status::bad_request, "is required", "value");
    const std::string& who = std::get<Caller>(gate).who.subject_id;
    consent::OptionalData data(store, keys, clock);
    if (Status s = data.put(who, *kind, body["value"], who); !s.ok())
      return s.error().code == ErrorCode::conflict ? http::json_error(status::forbidden, s.error().message, "consent")
                                                   : error_response(s.error());
    return http::json_response(status::created, {{"kind", consent::to_string(*kind)},
                                                 {"value", body["value"]},
                                                 {"updated_at", format_utc(clock.now_us())}});
  });
  r.add(verb::get, "/api/v1/optional-data/{kind}", [this, kind_of](const Exchange& e) -> Response {
    auto gate = require_member(*this, e, false);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const auto kind = kind_of(e);
    if (!kind) return http::json_error(status::bad_request, "must be contacts, location or social_profile", "kind");
    const std::string& who = std::get<Caller>(gate).who.subject_id;
    auto items = consent::OptionalData(store, keys, clock).list(who, who);
    if (!items.ok()) return error_response(items.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : *items)
      if (item.kind == *kind)
        out.push_back({{"kind", consent::to_string(item.kind)}, {"value", item.value},
                       {"updated_at", format_utc(item.updated_at_us)}});
    return http::json_response(status::ok, {{"items", out}});
  });
  r.add(verb::delete_, "/api/v1/optional-data/{kind}", [this, kind_of](const Exchange& e) -> Response {
    auto gate = require_member(*this, e, true);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const auto kind = kind_of(e);
    if (!kind) return http::json_error(status::bad_request, "must be contacts, location or social_profile", "kind");
    const std::string& who = std::get<Caller>(gate).who.subject_id;
    auto removed = consent::OptionalData(store, keys, clock).remove(who, *kind, who);
    if (!removed.ok()) return error_response(removed.error());
    return http::json_response(status::ok, {{"deleted", *removed}});
  });
}

}  // namespace privox::portal
