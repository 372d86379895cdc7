// A forgotten password: the person types her email, privox emails a one-time link valid for 30
// minutes (confirmations.h), and the link's page sets a new password, ending every session of the
// login. The request is answered the same way whether or not the address has a login: an address
// without one gets a message saying so instead of a link, so the same work is done for both and
// neither the answer nor its time tells an outsider which addresses have logins. Requests are
// limited per client and per address typed (429 with Retry-After), so nobody can flood a mailbox
// or probe at will.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <tuple>

#include "accounts/validation.h"
#include "common/log.h"
#include "portal/confirmations.h"
#include "portal/rate_limit.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

notify::Email reset_email(const Portal::Impl& p, const std::string& to, const std::optional<std::string>& token) {
  if (!token)
    return {to, "Your privox password",
            fmt::format("Someone asked to reset the privox password of this address, which has no privox login.\n\n"
                        "If it was you, perhaps you signed up with another address. If it was not, ignore this "
                        "message: nothing was changed.\n\n{}/login.html\n",
                        p.options.public_url),
            {}};
  return {to, "Your privox password",
          fmt::format("Someone, we hope you, asked to reset your privox password.\n\n"
                      "To choose a new one, open this link within 30 minutes:\n\n  {}/reset.html#{}\n\n"
                      "The link works once; setting a new password logs you out everywhere. If it was not you, "
                      "ignore this message: your password stays as it is.\n",
                      p.options.public_url, *token),
          {}};
}

// 429 when this client, or anyone for this address, asked too often; nullopt to go on.
std::optional<Response> refuse_over_rate(Portal::Impl& p, const Exchange& e, const std::string& email) {
  const AuthLimits& limits = p.options.auth_limits;
  for (const auto& [scope, who, limit] : {std::tuple{"password-reset", std::string(e.client_address()), limits.password_resets},
                                          std::tuple{"password-reset-email", email, limits.password_resets_per_email}}) {
    auto wait = take_rate(p.store, p.keys, p.clock, scope, who, limit);
    if (!wait.ok()) return error_response(wait.error());
    if (*wait > 0) return rate_refusal(*wait, "password reset requests");
  }
  return std::nullopt;
}

}  // namespace

Response password_reset_request(Portal::Impl& p, const Exchange& e) {
  auto typed = email_from_body(e);
  if (auto* refusal = std::get_if<Response>(&typed)) return std::move(*refusal);
  const std::string& email = std::get<std::string>(typed);
  if (auto refusal = refuse_over_rate(p, e, email)) return std::move(*refusal);
  std::optional<std::string> token;
  Status kept = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<std::string> subject, p.auth.login_of_email(s, email));
    // An address without a login gets a pending row too, that no link opens (its token is never
    // sent, and it names no login), so both cases do the same work.
    PRIVOX_ASSIGN(std::string made, create_confirmation(s, p.keys, p.clock,
                                                        {ConfirmationKind::reset, subject.value_or(""),
                                                         nlohmann::json::object(), kPasswordResetTtlUs}));
    token.reset();
    if (subject) token = std::move(made);
    return {};
  });
  if (!kept.ok()) return error_response(kept.error());
  if (Status sent = send_mail(p, reset_email(p, email, token)); !sent.ok()) {
    log::warn("portal", "password_reset_mail.not_sent", {{"error", log::error_code(sent.error())}});
    return http::json_error(status::service_unavailable, "the email cannot be sent now; try again later");
  }
  return http::json_response(status::accepted,
                             {{"status", "reset_sent"},
                              {"message", "We have sent a message to this address. If it has a privox login, the link "
                                          "in it sets a new password within 30 minutes."}});
}

Response password_reset_complete(Portal::Impl& p, const Exchange& e) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  std::optional<Response> bad;
  const std::string token = string_field(body, "token", bad).value_or("");
  const std::string password = string_field(body, "password", bad).value_or("");
  if (bad) return std::move(*bad);
  if (token.empty()) return http::json_error(status::bad_request, "is required: the token of the emailed link", "token");
  // A password that will not do leaves the link working, to try another.
  if (Status s = check_password(password); !s.ok()) return error_response(s.error());
  Result<std::string> hash = hash_password(password);
  if (!hash.ok()) return error_response(hash.error());
  Status done = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    // Another kind of link is left as it was (the transaction rolls back).
    PRIVOX_ASSIGN(const PendingConfirmation pending, take_confirmation(s, p.keys, p.clock, token));
    if (pending.kind != ConfirmationKind::reset || pending.subject_id.empty())
      return Error{ErrorCode::not_found, "token", "this link is unknown, was used already or has expired"};
    return p.auth.reset_password(s, pending.subject_id, *hash);
  });
  if (!done.ok()) return error_response(done.error());
  return Response{status::no_content, 11};
}

}  // namespace privox::portal::routes
