#pragma once
// Shared by the portal's route files (api*.cpp): the portal's state and the checks every route
// makes (session, CSRF, role, purpose, JSON body). Not a public header.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <variant>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "http/server.h"
#include "portal/api.h"
#include "portal/auth.h"
#include "portal/payments.h"
#include "privacy/audit.h"
#include "consent/consent.h"

namespace privox::portal {

using http::Exchange;
using http::Response;
using http::bhttp::status;
using http::bhttp::verb;

inline constexpr std::string_view kSessionCookie = "privox_session";
inline constexpr std::string_view kVisitorCookie = "privox_visitor";
inline constexpr std::string_view kPerformanceCookie = "privox_perf";

struct Portal::Impl {
  store::Store& store;
  const privacy::Keyring& keys;
  const Clock& clock;
  PortalOptions options;
  Auth auth;
  accounts::Accounts accounts;
  accounts::Extensions extensions;
  consent::ConsentLedger consents;
  privacy::AuditChain audit;

  Impl(store::Store& s, const privacy::Keyring& k, const Clock& c, PortalOptions o)
      : store(s), keys(k), clock(c), options(o), auth(s, k, c, o.auth_limits), accounts(s, k, c),
        extensions(s, k, c), consents(s, k, c), audit(k, c) {}

  void mount_account(http::Router& r);
  void mount_records(http::Router& r);
  void mount_consents(http::Router& r);
  void mount_admin(http::Router& r);
  void mount_pages(http::Router& r);
};

// Who is calling, once the checks passed.
struct Caller {
  Principal who;
  std::string token;
};

// An error's HTTP answer: invalid 400, not_found and erased 404, conflict 409, unavailable 503,
// anything else 500 (its message stays in the log).
Response error_response(const Error& error);

// The session of the request, or the refusal to send: 401 without a live session; 403 naming
// X-CSRF-Token when `state_changing` and the header is missing or wrong.
std::variant<Caller, Response> require_session(const Portal::Impl& p, const Exchange& e, bool state_changing);
// The live session, if any, without refusing (pages, consents).
std::optional<Caller> optional_session(const Portal::Impl& p, const Exchange& e);

// The request body as a JSON object, or a 400 / 415 naming what is wrong.
std::variant<nlohmann::json, Response> json_body(const Exchange& e);
// A string member of the body: nullopt when absent or null; `bad` set to a 400 naming it when it is
// another type.
std::optional<std::string> string_field(const nlohmann::json& body, const std::string& name,
                                        std::optional<Response>& bad);

// The purpose a staff member names (?purpose= or X-Privox-Purpose), or a 403 naming "purpose"
// when it is missing or their role may not use it.
std::variant<privacy::Purpose, Response> staff_purpose(const Exchange& e, const Principal& who);

// The Set-Cookie value of a cookie the portal sets; Secure under TLS. max_age_s 0 expires it.
std::string cookie_header(std::string_view name, std::string_view value, int64_t max_age_s, bool tls);

}  // namespace privox::portal

namespace privox::portal {
// Adds Set-Cookie for privox_perf: set while the consent holds, expired when it does not and the
// browser `had_cookie`.
void apply_performance_cookie(Response& res, bool holds, bool had_cookie, bool tls);
}  // namespace privox::portal
