#include "portal/api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "accounts/validation.h"
#include "common/json.h"
#include "portal/api_internal.h"
#include "portal/assets.h"
#include "ledgers/notice.h"

namespace privox::portal {
namespace {

// The cookie outlives no session: it lasts as long as the longest a session may.
int64_t cookie_max_age_s(const Auth& auth) { return auth.limits().session_max_us / 1'000'000; }

// The member fields sign-up takes from the person; card brand, last 4 and expiry come from the
// payment provider instead.
constexpr std::string_view kSignupMemberFields[] = {"name", "email", "phone", "address", "birth_date"};

Response session_answer(status code, const Principal& who, const SessionToken& session, int64_t max_age_s,
                        bool tls) {
  Response res = http::json_response(code, {{"subject_id", who.subject_id},
                                            {"company_id", who.company_id},
                                            {"role", to_string(who.role)},
                                            {"csrf_token", session.csrf}});
  res.set(http::bhttp::field::set_cookie, cookie_header(kSessionCookie, session.token, max_age_s, tls));
  return res;
}

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
      spdlog::error("portal: {}", error.describe());
      return http::json_error(status::internal_server_error, "internal error; the operator's logs have the details");
  }
}

std::string cookie_header(std::string_view name, std::string_view value, int64_t max_age_s, bool tls) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", name, value, max_age_s,
                     tls ? "; Secure" : "");
}

std::optional<Caller> optional_session(const Portal::Impl& p, const Exchange& e) {
  const std::optional<std::string> token = e.cookie(kSessionCookie);
  if (!token) return std::nullopt;
  Result<std::optional<Principal>> who = p.auth.authenticate(*token);
  if (!who.ok() || !*who) return std::nullopt;
  return Caller{**who, *token};
}

std::variant<Caller, Response> require_session(const Portal::Impl& p, const Exchange& e, bool state_changing) {
  std::optional<Caller> caller = optional_session(p, e);
  if (!caller) return http::json_error(status::unauthorized, "log in first: no live session", "privox_session");
  if (state_changing && !p.auth.csrf_matches(caller->token, e.header("X-CSRF-Token")))
    return http::json_error(status::forbidden, "missing or wrong CSRF token", "X-CSRF-Token");
  return *caller;
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

void Portal::Impl::mount_account(http::Router& r) {
  r.add(verb::post, "/api/v1/signup", [this](const Exchange& e) -> Response {
    auto parsed = json_body(e);
    if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
    const nlohmann::json& body = std::get<nlohmann::json>(parsed);
    std::optional<Response> bad;
    accounts::FieldValues every_text;  // every string the person sent, for the card-number check
    for (const auto& [key, value] : body.items()) {
      const bool consent = key == "marketing_email" || key == "marketing_sms";
      if (consent && !value.is_boolean() && !value.is_null())
        return http::json_error(status::bad_request, "must be true or false", key);
      if (value.is_string()) every_text[key] = value.get<std::string>();
      else if (!consent && !value.is_null()) return http::json_error(status::bad_request, "must be a string", key);
    }
    if (Status s = accounts::refuse_card_numbers(every_text); !s.ok()) return error_response(s.error());
    accounts::NewCompany company;
    company.name = string_field(body, "company_name", bad).value_or("");
    company.region = string_field(body, "region", bad).value_or("eea");
    company.country = string_field(body, "country", bad).value_or("");
    if (company.name.empty()) return http::json_error(status::bad_request, "is required: the company's name", "company_name");
    accounts::FieldValues member;
    for (std::string_view f : kSignupMemberFields)
      if (auto v = string_field(body, std::string(f), bad)) member[std::string(f)] = *v;
    const std::string password = string_field(body, "password", bad).value_or("");
    const std::string token = string_field(body, "payment_token", bad).value_or("");
    if (bad) return std::move(*bad);
    // Everything the person typed is checked before anything is written or the provider is asked.
    const std::string country = company.country.empty() ? (company.region == "us" ? "US" : "GB") : company.country;
    Result<std::string> iso = accounts::normalise_country(country);
    if (!iso.ok()) return error_response(Error{ErrorCode::invalid_argument, "country", iso.error().message});
    accounts::FieldValues with_token = member;
    with_token["payment_token"] = token.empty() ? std::string() : token;
    if (auto v = accounts::validate_member(with_token, *iso, utc_date(clock.now_us())); !v.ok())
      return error_response(v.error());
    if (Status s = check_password(password); !s.ok()) return error_response(s.error());
    if (!options.payments)
      return http::json_error(status::service_unavailable, "sign-up is closed: no payment provider is configured");
    Result<CardDetails> card = options.payments->describe(token);
    if (!card.ok())
      return card.error().code == ErrorCode::unavailable
                 ? http::json_error(status::bad_gateway, card.error().message, "payment_token")
                 : error_response(card.error());
    member["payment_token"] = token;
    member["card_brand"] = card->brand;
    member["card_last4"] = card->last4;
    member["card_expiry"] = card->expiry;
    if (auto v = accounts::validate_member(member, *iso, utc_date(clock.now_us())); !v.ok())
      return error_response(v.error());
    // Unticked unless the person ticked them (P11).
    auto ticked = [&](const char* key) {
      const auto it = body.find(key);
      return it != body.end() && it->is_boolean() && it->get<bool>();
    };
    const bool marketing_email = ticked("marketing_email"), marketing_sms = ticked("marketing_sms");
    // One transaction: a taken email (the members' unique index, so no race between two sign-ups)
    // or any later failure leaves no company without its office manager behind.
    std::string company_id, member_id;
    SessionToken session;
    Status done = store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
      PRIVOX_ASSIGN(company_id, accounts.add_company(s, company, "portal:signup"));
      PRIVOX_ASSIGN(member_id, accounts.add_member(s, company_id, member, "portal:signup"));
      PRIVOX_TRY(auth.add_member_login(s, member_id, company_id, Role::office_manager, password, member_id));
      for (const auto& [purpose, given] : {std::pair{consent::ConsentPurpose::marketing_email, marketing_email},
                                           std::pair{consent::ConsentPurpose::marketing_sms, marketing_sms}}) {
        PRIVOX_TRY(consents.record(s,
                                   {member_id, purpose, given, consent::ConsentMethod::form, "web",
                                    ledgers::notice_version()},
                                   member_id));
      }
      PRIVOX_ASSIGN(session, auth.start_session(s, member_id));
      return {};
    });
    if (!done.ok() && done.error().code == ErrorCode::conflict && done.error().field == "email")
      return http::json_error(status::conflict, "another member already uses this email", "email");
    if (!done.ok()) return error_response(done.error());
    return session_answer(status::created, {member_id, company_id, Role::office_manager}, session,
                          cookie_max_age_s(auth), e.tls());
  });

  r.add(verb::post, "/api/v1/session", [this](const Exchange& e) -> Response {
    auto parsed = json_body(e);
    if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
    const nlohmann::json& body = std::get<nlohmann::json>(parsed);
    std::optional<Response> bad;
    const std::optional<std::string> email = string_field(body, "email", bad);
    const std::optional<std::string> password = string_field(body, "password", bad);
    if (bad) return std::move(*bad);
    if (!email || email->empty()) return http::json_error(status::bad_request, "is required", "email");
    if (!password || password->empty()) return http::json_error(status::bad_request, "is required", "password");
    Result<LoginOutcome> outcome = auth.login(*email, *password, e.client_address());
    if (!outcome.ok()) return error_response(outcome.error());
    if (outcome->kind == LoginOutcome::Kind::locked) {
      Response res = http::json_error(
          status::too_many_requests,
          fmt::format("too many failed logins; try again in {} seconds", outcome->retry_after_s));
      res.set(http::bhttp::field::retry_after, std::to_string(outcome->retry_after_s));
      return res;
    }
    if (outcome->kind == LoginOutcome::Kind::wrong_credentials)
      return http::json_error(status::unauthorized, "the email or the password is wrong");
    return session_answer(status::ok, outcome->principal, outcome->session, cookie_max_age_s(auth), e.tls());
  });

  r.add(verb::delete_, "/api/v1/session", [this](const Exchange& e) -> Response {
    auto gate = require_session(*this, e, true);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    if (auto ended = auth.logout(std::get<Caller>(gate).token); !ended.ok()) return error_response(ended.error());
    Response res{status::no_content, 11};
    res.set(http::bhttp::field::set_cookie, cookie_header(kSessionCookie, "", 0, e.tls()));
    return res;
  });
}

Portal::Portal(store::Store& store, const privacy::Keyring& keys, const Clock& clock, PortalOptions options)
    : impl_(std::make_unique<Impl>(store, keys, clock, options)) {}

Portal::~Portal() = default;

Auth& Portal::auth() { return impl_->auth; }

void Portal::mount(http::Router& router) {
  impl_->mount_account(router);
  impl_->mount_records(router);
  impl_->mount_consents(router);
  impl_->mount_admin(router);
  router.add(verb::get, "/api/v1/openapi.json", [](const Exchange&) {
    Response res{status::ok, 11};
    res.set(http::bhttp::field::content_type, "application/json");
    res.body() = std::string(openapi_document());
    return res;
  });
  if (impl_->options.serve_pages) impl_->mount_pages(router);
}

std::string_view openapi_document() {
  const EmbeddedFile* f = find_embedded("/api/v1/openapi.json");
  return f ? f->bytes : std::string_view("{}");
}

}  // namespace privox::portal
