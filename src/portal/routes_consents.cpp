// Consents: shown and changed by members, and the performance-cookie consent by visitors without
// an account too (remembered under the privox_visitor cookie).
//
// A visitor's id is the server's: "v-" and a UUIDv7, made when the visitor first records a
// decision, handed out in the cookie with its MAC (Keyring::token_mac, a master-derived key kept
// in the data directory) as "ID.MAC" in hex. A cookie whose MAC does not verify, compared in
// constant time, is no visitor at all. Any well-formed id used to be accepted, a member's
// included, which let strangers read a member's consent history and append to it; a visitor id
// now cannot be chosen, and its "v-" keeps it apart from every member's id. Decisions are
// rate-limited per visitor address, or per member (portal.consent_writes_per_hour).
#include <sodium.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "common/ids.h"
#include "ledgers/notice.h"
#include "portal/rate_limit.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

constexpr int64_t kYearS = 365LL * 24 * 3600;
constexpr std::string_view kVisitorPrefix = "v-";

std::string visitor_mac(const privacy::Keyring& keys, std::string_view id) {
  const std::string mac = keys.token_mac("portal-visitor", id);
  return to_hex(reinterpret_cast<const uint8_t*>(mac.data()), mac.size());
}

// The cookie's value for a visitor id the server made.
std::string visitor_cookie(const privacy::Keyring& keys, const std::string& id) {
  return id + "." + visitor_mac(keys, id);
}

// The visitor id of a cookie this server issued; nullopt for anything else.
std::optional<std::string> verified_visitor(const privacy::Keyring& keys, const std::optional<std::string>& cookie) {
  if (!cookie) return std::nullopt;
  const size_t dot = cookie->find('.');
  if (dot == std::string::npos) return std::nullopt;
  const std::string id = cookie->substr(0, dot);
  const std::string_view presented = std::string_view(*cookie).substr(dot + 1);
  if (!id.starts_with(kVisitorPrefix) || !is_valid_id(id.substr(kVisitorPrefix.size()))) return std::nullopt;
  const std::string expected = visitor_mac(keys, id);
  if (presented.size() != expected.size() || sodium_memcmp(expected.data(), presented.data(), expected.size()) != 0)
    return std::nullopt;
  return id;
}

nlohmann::json consent_json(const consent::ConsentRecord& c) {
  return {{"purpose", consent::to_string(c.purpose)}, {"given", c.given}, {"at", format_utc(c.at_us)},
          {"method", consent::to_string(c.method)},   {"channel", c.channel}, {"notice_version", c.notice_version}};
}

}  // namespace

Response consents_show(Portal::Impl& p, const Exchange& e, const std::optional<Caller>& c) {
  const std::string subject =
      c ? c->who.subject_id : verified_visitor(p.keys, e.cookie(kVisitorCookie)).value_or(std::string());
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
    const std::optional<std::string> visitor = verified_visitor(p.keys, e.cookie(kVisitorCookie));
    new_visitor = !visitor;
    subject = visitor ? *visitor : std::string(kVisitorPrefix) + new_id(p.clock.now_us());
  }
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  if (!body.contains("given") || !body["given"].is_boolean())
    return http::json_error(status::bad_request, "must be true or false", "given");
  const bool given = body["given"].get<bool>();
  // An append-only ledger must not be anyone's to fill: a member's decisions count against them, a
  // visitor's against their address.
  auto wait = take_rate(p.store, p.keys, p.clock, "consent", c ? subject : e.client_address(),
                        p.options.auth_limits.consent_writes);
  if (!wait.ok()) return error_response(wait.error());
  if (*wait > 0) return rate_refusal(*wait, "consent decisions");
  auto record = p.consents.record({subject, purpose, given, consent::ConsentMethod::form, "web", ledgers::notice_version()},
                                  c ? subject : "portal:visitor");
  if (!record.ok()) return error_response(record.error());
  Response res = http::json_response(status::ok, consent_json(*record));
  if (new_visitor)  // strictly necessary: it is how the visitor's choice is remembered
    res.insert(http::bhttp::field::set_cookie, cookie_header(kVisitorCookie, visitor_cookie(p.keys, subject), kYearS, e.tls()));
  if (purpose == consent::ConsentPurpose::cookies_performance) apply_performance_cookie(res, given, true, e.tls());
  return res;
}

}  // namespace privox::portal::routes
