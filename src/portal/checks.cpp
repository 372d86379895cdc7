// The checks and answers the portal's routes share (routes.h).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounts/validation.h"
#include "common/json.h"
#include "common/log.h"
#include "portal/routes.h"

namespace privox::portal {
namespace {

constexpr int64_t kYearS = 365LL * 24 * 3600;

}  // namespace

Response error_response(const Error& error) {
  switch (error.code) {
    case ErrorCode::invalid_argument: return http::json_error(status::bad_request, error.message, error.field);
    case ErrorCode::not_found:
    case ErrorCode::erased: return http::json_error(status::not_found, error.message, error.field);
    case ErrorCode::conflict: return http::json_error(status::conflict, error.message, error.field);
    case ErrorCode::unavailable:
      return http::json_error(status::service_unavailable, "the service is busy; try again shortly");
    default:
      // The kind and the field's name only: an error's message may quote what was sent.
      log::error("portal", "request.internal_error",
                 {{"error", log::error_code(error)},
                  {"field", error.field.empty() ? log::Code("none") : log::Code(error.field)}});
      return http::json_error(status::internal_server_error, "internal error; the operator's logs have the details");
  }
}

std::variant<std::string, Response> email_from_body(const Exchange& e) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  std::optional<Response> bad;
  const std::string typed = string_field(std::get<nlohmann::json>(parsed), "email", bad).value_or("");
  if (bad) return std::move(*bad);
  Result<std::string> email = accounts::normalise_email(typed);
  if (!email.ok()) return error_response(email.error());
  return std::move(*email);
}

Response field_errors_response(const std::vector<Error>& errors) {
  nlohmann::json all = nlohmann::json::array();
  for (const Error& e : errors) all.push_back({{"field", e.field}, {"message", e.message}});
  nlohmann::json first = {{"message", errors.front().message}};
  if (!errors.front().field.empty()) first["field"] = errors.front().field;
  return http::json_response(status::bad_request, {{"error", std::move(first)}, {"errors", std::move(all)}});
}

Status send_mail(Portal::Impl& p, const notify::Email& email) {
  if (!p.options.mailer) return make_error(ErrorCode::unavailable, "no mail relay is configured");
  MutexLock lock(p.mail_mu);
  return p.options.mailer->send(email);
}

std::optional<Response> refuse_unless_office_manager(const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only the company's office managers manage its people", "role");
  return std::nullopt;
}

Response rate_refusal(int64_t wait_s, std::string_view what) {
  Response res = http::json_error(status::too_many_requests,
                                  fmt::format("too many {} from here; try again in {} seconds", what, wait_s));
  res.set(http::bhttp::field::retry_after, std::to_string(wait_s));
  return res;
}

std::string cookie_header(std::string_view name, std::string_view value, int64_t max_age_s, bool tls) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", name, value, max_age_s,
                     tls ? "; Secure" : "");
}

// The performance cookie follows the consent: set while it holds, expired when it does not.
void apply_performance_cookie(Response& res, bool holds, bool had_cookie, bool tls) {
  if (holds) res.insert(http::bhttp::field::set_cookie, fmt::format("{}=1; Path=/; Max-Age={}; SameSite=Strict{}",
                                                                    kPerformanceCookie, kYearS, tls ? "; Secure" : ""));
  else if (had_cookie)
    res.insert(http::bhttp::field::set_cookie,
               fmt::format("{}=; Path=/; Max-Age=0; SameSite=Strict{}", kPerformanceCookie, tls ? "; Secure" : ""));
}

std::optional<Caller> optional_session(const Portal::Impl& p, const Exchange& e) {
  const std::optional<std::string> token = e.cookie(session_cookie(e.tls()));
  if (!token) return std::nullopt;
  Result<std::optional<Principal>> who = p.auth.authenticate(*token);
  if (!who.ok() || !*who) return std::nullopt;
  return Caller{**who, *token};
}

std::variant<nlohmann::json, Response> json_body(const Exchange& e) {
  const std::string_view type = e.header("Content-Type");
  if (!type.empty() && type.substr(0, 16) != "application/json")
    return http::json_error(status::unsupported_media_type, "send the body as application/json", "Content-Type");
  Result<nlohmann::json> parsed = json::parse_untrusted(e.request().body());
  if (!parsed.ok()) return http::json_error(status::bad_request, "the body " + parsed.error().message, "body");
  nlohmann::json body = std::move(*parsed);
  if (!body.is_object()) return http::json_error(status::bad_request, "the body must be a JSON object", "body");
  return body;
}

std::optional<std::string> string_field(const nlohmann::json& body, const std::string& name,
                                        std::optional<Response>& bad) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    bad = http::json_error(status::bad_request, "must be a string", name);
    return std::nullopt;
  }
  return it->get<std::string>();
}

Result<std::vector<accounts::Extension>> visible_lines(accounts::Extensions& extensions, const Principal& who) {
  if (is_staff(who.role)) return std::vector<accounts::Extension>();
  PRIVOX_ASSIGN(std::vector<accounts::Extension> all, extensions.list(who.company_id));
  if (who.role == Role::office_manager) return all;
  std::vector<accounts::Extension> own;
  for (auto& x : all)
    if (x.member_id == who.subject_id) own.push_back(std::move(x));
  return own;
}

std::variant<privacy::Purpose, Response> staff_purpose(const Exchange& e, const Principal& who) {
  if (!is_staff(who.role)) return http::json_error(status::forbidden, "only the operator's staff may do this", "role");
  std::string named = e.query_param("purpose").value_or(std::string(e.header("X-Privox-Purpose")));
  if (named.empty())
    return http::json_error(status::forbidden, "name why you need the data (billing, fraud, support or legal)",
                            "purpose");
  const std::optional<privacy::Purpose> purpose = privacy::parse_purpose(named);
  if (!purpose || !privacy::allows(staff_purposes(who.role), *purpose))
    return http::json_error(status::forbidden,
                            fmt::format("the role {} may not use personal data for '{}'", to_string(who.role), named),
                            "purpose");
  return *purpose;
}

}  // namespace privox::portal
