// An office manager's invitations (invites.h) and the invitee's acceptance of one.
//
// The office manager gets the same answer whether or not the invited address already has a login:
// the invitation is made and listed either way, and only the mailbox learns the difference (a
// link, or word that the address has a login). The invitee's page posts the link's token with her
// own password, her mandatory fields (checked as sign-up checks them, P1-P3) and her marketing
// choices; the member, her login and her consents are written in one transaction that uses the
// link up, in the invitation's company only.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounts/validation.h"
#include "common/log.h"
#include "portal/rate_limit.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

// The fields the invitee types; her email is the invitation's, her card comes from the provider.
constexpr std::string_view kInviteeFields[] = {"name", "phone", "address", "birth_date"};

nlohmann::json invite_json(const Invite& in) {
  return {{"id", in.id}, {"email", in.email}, {"created_at", format_utc(in.created_at_us)},
          {"expires_at", format_utc(in.expires_at_us)}};
}

notify::Email invite_email(const Portal::Impl& p, const InviteLink& link, const std::string& company, bool taken) {
  if (taken)
    return {link.invite.email, "Your privox invitation",
            fmt::format("The office manager of {} invited this address to their privox phone service, but it has a "
                        "privox login already.\n\nIf you expected this, ask them to invite another address, or log in "
                        "at {}/login.html.\n",
                        company, p.options.public_url),
            {}};
  return {link.invite.email, "Your privox invitation",
          fmt::format("The office manager of {} invited you to their privox phone service.\n\n"
                      "To join, open this link within 7 days, choose your password and give your details:\n\n"
                      "  {}/invite.html#{}\n\nIf you did not expect this, ignore this message.\n",
                      company, p.options.public_url, link.token),
          {}};
}

// Makes or renews the invitation in one transaction and emails it; 202 with the invitation.
template <class Make>
Response invite_and_send(Portal::Impl& p, const Caller& c, Make make) {
  InviteLink link;
  bool taken = false;
  std::string company;
  Status done = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(link, make(s));
    PRIVOX_ASSIGN(taken, accounts::email_taken(s, p.keys, link.invite.email));
    PRIVOX_ASSIGN(const accounts::Company co, accounts::find_company(s, c.who.company_id));
    company = co.name;
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  if (Status sent = send_mail(p, invite_email(p, link, company, taken)); !sent.ok()) {
    log::warn("portal", "invite_mail.not_sent", {{"invite", log::Id(link.invite.id)}, {"error", log::error_code(sent.error())}});
    return http::json_error(status::service_unavailable, "the invitation email cannot be sent now; send it again later");
  }
  return http::json_response(status::accepted,
                             {{"invite", invite_json(link.invite)},
                              {"message", "We have sent the invitation. It works for 7 days."}});
}

}  // namespace

Response invite_create(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_office_manager(c)) return std::move(*refusal);
  auto email = email_from_body(e);
  if (auto* refusal = std::get_if<Response>(&email)) return std::move(*refusal);
  auto wait = take_rate(p.store, p.keys, p.clock, "invite", c.who.company_id, p.options.auth_limits.invites);
  if (!wait.ok()) return error_response(wait.error());
  if (*wait > 0) return rate_refusal(*wait, "invitations");
  const std::string& address = std::get<std::string>(email);
  return invite_and_send(p, c, [&](store::Session& s) { return p.invites.create(s, c.who.company_id, address, c.who.subject_id); });
}

Response invite_resend(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_office_manager(c)) return std::move(*refusal);
  const std::string id(e.param("id"));
  auto wait = take_rate(p.store, p.keys, p.clock, "invite", c.who.company_id, p.options.auth_limits.invites);
  if (!wait.ok()) return error_response(wait.error());
  if (*wait > 0) return rate_refusal(*wait, "invitations");
  return invite_and_send(p, c, [&](store::Session& s) { return p.invites.renew(s, c.who.company_id, id, c.who.subject_id); });
}

Response invite_revoke(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_office_manager(c)) return std::move(*refusal);
  const std::string id(e.param("id"));
  Status done = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    return p.invites.revoke(s, c.who.company_id, id, c.who.subject_id);
  });
  if (!done.ok()) return error_response(done.error());
  return Response{status::no_content, 11};
}

namespace {

// What the invitee sends.
struct Acceptance {
  std::string token, password, payment_token;
  accounts::FieldValues member;
  bool marketing_email = false, marketing_sms = false;
};

std::variant<Acceptance, Response> acceptance_from(const nlohmann::json& body) {
  if (std::optional<Response> refusal = refuse_unfit_values(body)) return std::move(*refusal);
  std::optional<Response> bad;
  Acceptance in;
  in.token = string_field(body, "token", bad).value_or("");
  for (std::string_view f : kInviteeFields)
    if (auto v = string_field(body, std::string(f), bad)) in.member[std::string(f)] = *v;
  in.password = string_field(body, "password", bad).value_or("");
  in.payment_token = string_field(body, "payment_token", bad).value_or("");
  if (bad) return std::move(*bad);
  if (in.token.empty()) return http::json_error(status::bad_request, "is required: the token of the emailed link", "token");
  // Unticked unless the person ticked them (P11).
  auto ticked = [&](const char* key) { return body.contains(key) && body[key].is_boolean() && body[key].get<bool>(); };
  in.marketing_email = ticked("marketing_email");
  in.marketing_sms = ticked("marketing_sms");
  return in;
}

// The invitation's company's ISO country, with the invitee's email added to her fields, once the
// link is found live; the refusal otherwise (404 naming token).
std::variant<std::string, Response> invitation_country(Portal::Impl& p, Acceptance& in) {
  std::string country;
  Status found = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const Invite invite, p.invites.peek(s, in.token));
    PRIVOX_ASSIGN(const accounts::Company co, accounts::find_company(s, invite.company_id));
    in.member["email"] = invite.email;
    country = co.country.empty() ? (co.region == "us" ? "US" : "GB") : co.country;
    return {};
  });
  if (!found.ok()) return error_response(found.error());
  Result<std::string> iso = accounts::normalise_country(country);
  if (!iso.ok()) return error_response(iso.error());
  return *iso;
}

// Every typed field and the password, before the provider is asked or the card token used up.
std::optional<Response> check_typed(const Portal::Impl& p, const Acceptance& in, const std::string& iso) {
  accounts::FieldValues with_token = in.member;
  with_token["payment_token"] = in.payment_token;
  if (auto v = accounts::validate_member(with_token, iso, utc_date(p.clock.now_us())); !v.ok())
    return error_response(v.error());
  if (Status s = check_password(in.password); !s.ok()) return error_response(s.error());
  return std::nullopt;
}

// The member, her login and her consents, in the invitation's company, using the link up.
Response write_member(Portal::Impl& p, const Acceptance& in, const std::string& password_hash) {
  std::string member_id, company_id;
  Status done = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const Invite invite, p.invites.take(s, in.token));
    company_id = invite.company_id;
    accounts::FieldValues member = in.member;
    member["email"] = invite.email;
    PRIVOX_ASSIGN(member_id, p.accounts.add_member(s, company_id, member, "portal:invite"));
    PRIVOX_TRY(p.auth.add_member_login_hashed(s, member_id, company_id, Role::member, password_hash, member_id));
    return record_signup_consents(p, s, member_id, in.marketing_email, in.marketing_sms);
  });
  // Only the mailbox's owner holds the link, so this tells nobody else anything.
  if (!done.ok() && done.error().code == ErrorCode::conflict && done.error().field == "email")
    return http::json_error(status::conflict, "this address has a privox login already; log in instead", "email");
  if (!done.ok()) return error_response(done.error());
  return http::json_response(status::created,
                             {{"subject_id", member_id}, {"company_id", company_id}, {"role", to_string(Role::member)}});
}

}  // namespace

Response invite_accept(Portal::Impl& p, const Exchange& e) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  auto read = acceptance_from(std::get<nlohmann::json>(parsed));
  if (auto* refusal = std::get_if<Response>(&read)) return std::move(*refusal);
  Acceptance& in = std::get<Acceptance>(read);
  auto iso = invitation_country(p, in);
  if (auto* refusal = std::get_if<Response>(&iso)) return std::move(*refusal);
  if (auto refusal = check_typed(p, in, std::get<std::string>(iso))) return std::move(*refusal);
  if (auto refusal = add_card(p, in.member, in.payment_token, std::get<std::string>(iso))) return std::move(*refusal);
  if (auto refusal = use_payment_token(p, in.payment_token)) return std::move(*refusal);
  Result<std::string> hash = hash_password(in.password);
  if (!hash.ok()) return error_response(hash.error());
  in.password.clear();
  return write_member(p, in, *hash);
}

}  // namespace privox::portal::routes
