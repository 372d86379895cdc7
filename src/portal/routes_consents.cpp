// Consents: shown and changed by members, and the performance-cookie consent by visitors without
// an account too (remembered under the privox_visitor cookie).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "ledgers/notice.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

constexpr int64_t kYearS = 365LL * 24 * 3600;

nlohmann::json consent_json(const consent::ConsentRecord& c) {
  return {{"purpose", consent::to_string(c.purpose)}, {"given", c.given}, {"at", format_utc(c.at_us)},
          {"method", consent::to_string(c.method)},   {"channel", c.channel}, {"notice_version", c.notice_version}};
}

}  // namespace

Response consents_show(Portal::Impl& p, const Exchange& e, const std::optional<Caller>& c) {
  std::string subject = c ? c->who.subject_id : e.cookie(kVisitorCookie).value_or("");
  if (!c && !is_valid_id(subject)) subject.clear();
  nlohmann::json current = nlohmann::json::array(), history = nlohmann::json::array();
  if (!subject.empty()) {
    auto now = p.consents.current(subject);
    if (!now.ok()) return error_response(now.error());
    for (const auto& [purpose, record] : *now) current.push_back(consent_json(record));
    auto all = p.consents.history(subject);
    if (!all.ok()) return error_response(all.error());
    for (const auto& record : *all) history.push_back(consent_json(record));
  }
  return http::json_response(status::ok,
                             {{"current", current}, {"history", history}, {"notice_version", ledgers::notice_version()}});
}

std::optional<Response> consent_purpose_check(const Exchange& e) {
  const std::string named(e.param("purpose"));
  if (named == "cookies_functionality" || named == "cookies_targeting")
    return http::json_error(status::bad_request, "privox sets no functionality or targeting cookies", "purpose");
  if (!consent::parse_consent_purpose(named))
    return http::json_error(status::bad_request, fmt::format("'{}' is not a consent purpose", named), "purpose");
  return std::nullopt;
}

Response consent_set(Portal::Impl& p, const Exchange& e, const std::optional<Caller>& c) {
  // The table runs consent_purpose_check before the gate; asking again keeps this handler whole on
  // its own (the check refuses exactly what does not parse).
  const std::optional<consent::ConsentPurpose> named = consent::parse_consent_purpose(e.param("purpose"));
  if (!named) return *consent_purpose_check(e);
  const consent::ConsentPurpose purpose = *named;
  std::string subject;
  bool new_visitor = false;
  if (c) {
    if (is_staff(c->who.role)) return http::json_error(status::forbidden, "only members give consent here", "role");
    subject = c->who.subject_id;
  } else {
    if (purpose != consent::ConsentPurpose::cookies_performance)
      return http::json_error(status::unauthorized, "log in to change this consent", "privox_session");
    subject = e.cookie(kVisitorCookie).value_or("");
    new_visitor = !is_valid_id(subject);
    if (new_visitor) subject = new_id(p.clock.now_us());
  }
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  if (!body.contains("given") || !body["given"].is_boolean())
    return http::json_error(status::bad_request, "must be true or false", "given");
  const bool given = body["given"].get<bool>();
  auto record = p.consents.record({subject, purpose, given, consent::ConsentMethod::form, "web", ledgers::notice_version()},
                                  c ? subject : "portal:visitor");
  if (!record.ok()) return error_response(record.error());
  Response res = http::json_response(status::ok, consent_json(*record));
  if (new_visitor)  // strictly necessary: it is how the visitor's choice is remembered
    res.insert(http::bhttp::field::set_cookie, cookie_header(kVisitorCookie, subject, kYearS, e.tls()));
  if (purpose == consent::ConsentPurpose::cookies_performance) apply_performance_cookie(res, given, true, e.tls());
  return res;
}

}  // namespace privox::portal::routes
