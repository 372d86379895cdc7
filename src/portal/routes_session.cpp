// Sign-up, login and logout: how a session begins and ends.
//
// Sign-up takes two steps (issue 10, item 10): POST /signup checks the form, asks the provider
// about the card, uses up the payment token, hashes the password and emails a one-time link
// (confirmations.h), answering 202 the same way whether the address already has an account or not;
// the owner of a taken address gets a message saying so instead of a link, and the same work is
// done for it (the hash, a sealed pending row that no link opens, one email), so neither the
// answer nor its time tells an outsider which addresses have accounts. POST /confirm with the
// link's token writes the company, its office manager, the login, the consents and the session.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "accounts/validation.h"
#include "common/log.h"
#include "ledgers/notice.h"
#include "portal/confirmations.h"
#include "portal/rate_limit.h"
#include "portal/routes.h"
#include "rights/requests.h"

namespace privox::portal::routes {
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
  res.set(http::bhttp::field::set_cookie, cookie_header(session_cookie(tls), session.token, max_age_s, tls));
  return res;
}

// What sign-up writes, once every field has been checked.
struct SignUp {
  accounts::NewCompany company;
  accounts::FieldValues member;
  std::string password, payment_token;
  std::string password_hash;  // once hashed; the password itself is never kept
  bool marketing_email = false, marketing_sms = false;
};

// How a sign-up waits for its link (sealed, confirmations.h), and back.
nlohmann::json pending_json(const SignUp& in) {
  return {{"company", {{"name", in.company.name}, {"region", in.company.region}, {"country", in.company.country}}},
          {"member", in.member},
          {"password_hash", in.password_hash},
          {"marketing_email", in.marketing_email},
          {"marketing_sms", in.marketing_sms}};
}

Result<SignUp> sign_up_of(const nlohmann::json& j) {
  try {
    SignUp in;
    in.company.name = j.at("company").at("name").get<std::string>();
    in.company.region = j.at("company").at("region").get<std::string>();
    in.company.country = j.at("company").at("country").get<std::string>();
    in.member = j.at("member").get<accounts::FieldValues>();
    in.password_hash = j.at("password_hash").get<std::string>();
    in.marketing_email = j.at("marketing_email").get<bool>();
    in.marketing_sms = j.at("marketing_sms").get<bool>();
    return in;
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::corrupt, fmt::format("a pending sign-up does not read back: {}", e.what()));
  }
}

// The body's fields, or the 400 naming the first that is missing or of the wrong type.
std::variant<SignUp, Response> sign_up_from(const nlohmann::json& body) {
  if (std::optional<Response> refusal = refuse_unfit_values(body)) return std::move(*refusal);
  std::optional<Response> bad;
  SignUp in;
  in.company.name = string_field(body, "company_name", bad).value_or("");
  in.company.region = string_field(body, "region", bad).value_or("eea");
  in.company.country = string_field(body, "country", bad).value_or("");
  for (std::string_view f : kSignupMemberFields)
    if (auto v = string_field(body, std::string(f), bad)) in.member[std::string(f)] = *v;
  in.password = string_field(body, "password", bad).value_or("");
  in.payment_token = string_field(body, "payment_token", bad).value_or("");
  if (bad) return std::move(*bad);
  // Unticked unless the person ticked them (P11).
  auto ticked = [&](const char* key) {
    const auto it = body.find(key);
    return it != body.end() && it->is_boolean() && it->get<bool>();
  };
  in.marketing_email = ticked("marketing_email");
  in.marketing_sms = ticked("marketing_sms");
  return in;
}

// Everything the person typed is checked before anything is written or the provider is asked:
// the company's name, its country (the company's, else its region's), the member's fields and the
// password, every one of them, so the form shows all its mistakes at once. Returns the country's
// ISO code, or the refusal naming each field at fault.
std::variant<std::string, Response> check_typed(const Portal::Impl& p, const SignUp& in) {
  std::vector<Error> errors;
  if (in.company.name.empty())
    errors.push_back(Error{ErrorCode::invalid_argument, "company_name", "is required: your company's name"});
  const std::string country =
      in.company.country.empty() ? (in.company.region == "us" ? "US" : "GB") : in.company.country;
  Result<std::string> iso = accounts::normalise_country(country);
  if (!iso.ok()) {
    errors.push_back(iso.error());
  } else {
    accounts::FieldValues with_token = in.member;
    with_token["payment_token"] = in.payment_token;
    for (Error& e : accounts::member_field_errors(with_token, *iso, utc_date(p.clock.now_us())))
      errors.push_back(std::move(e));
  }
  if (Status s = check_password(in.password); !s.ok()) errors.push_back(s.error());
  if (!errors.empty()) return field_errors_response(errors);
  return *iso;
}

// The emails of the two cases. Both go to the address typed, under the same subject.
notify::Email link_email(const Portal::Impl& p, const std::string& to, const std::string& token,
                         const std::string& company) {
  return {to, "Your privox sign-up",
          fmt::format("Someone, we hope you, asked to open a privox account for {} with this address.\n\n"
                      "To finish, open this link within 24 hours:\n\n  {}/confirm.html#{}\n\n"
                      "If it was not you, ignore this message: nothing is kept once the link expires.\n",
                      company, p.options.public_url, token),
          {}};
}

notify::Email taken_email(const Portal::Impl& p, const std::string& to) {
  return {to, "Your privox sign-up",
          fmt::format("Someone asked to open a privox account with this address, which has one already.\n\n"
                      "If it was you, log in at {}/login.html.\n"
                      "If it was not you, ignore this message: nothing was changed.\n",
                      p.options.public_url),
          {}};
}

// The second half of sign-up's work, the same for a free and a taken address: hash the password,
// keep the pending sign-up sealed under a new token, and send one email (the link, or word that
// the address has an account; a taken address's token goes nowhere and expires).
Response send_link(Portal::Impl& p, SignUp& in) {
  Result<std::string> hash = hash_password(in.password);
  if (!hash.ok()) return error_response(hash.error());
  in.password_hash = std::move(*hash);
  in.password.clear();
  const Result<std::string> email = accounts::normalise_email(in.member.at("email"));
  if (!email.ok()) return error_response(email.error());
  bool taken = false;
  std::string token;
  Status kept = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(taken, accounts::email_taken(s, p.keys, *email));
    PRIVOX_ASSIGN(token, create_confirmation(s, p.keys, p.clock, {ConfirmationKind::signup, "", pending_json(in)}));
    return {};
  });
  if (!kept.ok()) return error_response(kept.error());
  if (Status sent = send_mail(p, taken ? taken_email(p, *email) : link_email(p, *email, token, in.company.name));
      !sent.ok()) {
    log::warn("portal", "signup_mail.not_sent", {{"error", log::error_code(sent.error())}});
    return http::json_error(status::service_unavailable, "the confirmation email cannot be sent now; try again later");
  }
  return http::json_response(status::accepted,
                             {{"status", "confirmation_sent"},
                              {"message", "We have sent a message to the address you gave. Open the link in it to "
                                          "finish signing up."}});
}

// Writes the company, its office manager, their login, their consents and their session in one
// transaction, consuming the link: a taken email (the members' unique index, so no race between
// two sign-ups) or any later failure leaves no company without its office manager behind, and the
// link still pending.
Response write_sign_up(Portal::Impl& p, std::string_view token, bool tls) {
  std::string company_id, member_id;
  SessionToken session;
  Status done = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(PendingConfirmation pending, take_confirmation(s, p.keys, p.clock, token));
    if (pending.kind != ConfirmationKind::signup) return Error{ErrorCode::invalid_argument, "token", "not a sign-up link"};
    PRIVOX_ASSIGN(SignUp in, sign_up_of(pending.payload));
    PRIVOX_ASSIGN(company_id, p.accounts.add_company(s, in.company, "portal:signup"));
    PRIVOX_ASSIGN(member_id, p.accounts.add_member(s, company_id, in.member, "portal:signup"));
    PRIVOX_TRY(p.auth.add_member_login_hashed(s, member_id, company_id, Role::office_manager, in.password_hash,
                                              member_id));
    PRIVOX_TRY(record_signup_consents(p, s, member_id, in.marketing_email, in.marketing_sms));
    PRIVOX_ASSIGN(session, p.auth.start_session(s, member_id));
    return {};
  });
  // Only the mailbox's owner holds the link, so saying that the address was taken meanwhile tells
  // nobody else anything.
  if (!done.ok() && done.error().code == ErrorCode::conflict && done.error().field == "email")
    return http::json_error(status::conflict, "another account took this email meanwhile; log in instead", "email");
  if (!done.ok()) return error_response(done.error());
  return session_answer(status::created, {member_id, company_id, Role::office_manager}, session,
                        cookie_max_age_s(p.auth), tls);
}

}  // namespace

// Every string the person typed must be free of card numbers, the consents true or false and
// every other member a string; the refusal names the first that is not. `token` is the emailed
// link's, which privox made: 64 hex characters hold a Luhn-valid run of digits often enough (about
// one link in a hundred) that checking it refused real invitations.
std::optional<Response> refuse_unfit_values(const nlohmann::json& body) {
  accounts::FieldValues every_text;  // every string the person sent, for the card-number check
  for (const auto& [key, value] : body.items()) {
    const bool consent = key == "marketing_email" || key == "marketing_sms";
    if (consent && !value.is_boolean() && !value.is_null())
      return http::json_error(status::bad_request, "must be true or false", key);
    if (value.is_string()) {
      if (key != "token") every_text[key] = value.get<std::string>();
    } else if (!consent && !value.is_null()) {
      return http::json_error(status::bad_request, "must be a string", key);
    }
  }
  if (Status s = accounts::refuse_card_numbers(every_text); !s.ok()) return error_response(s.error());
  return std::nullopt;
}

// Asks the payment provider what card the token stands for and adds its brand, last 4 and expiry
// to the member's fields (never taken from the browser, P3); the refusal when the provider does not
// know the token (400), cannot be reached (502) or is not configured (503).
std::optional<Response> add_card(const Portal::Impl& p, accounts::FieldValues& member, const std::string& payment_token,
                                 const std::string& iso) {
  if (!p.options.payments)
    return http::json_error(status::service_unavailable, "sign-up is closed: no payment provider is configured");
  Result<CardDetails> card = p.options.payments->describe(payment_token);
  if (!card.ok())
    return card.error().code == ErrorCode::unavailable
               ? http::json_error(status::bad_gateway, card.error().message, "payment_token")
               : error_response(card.error());
  member["payment_token"] = payment_token;
  member["card_brand"] = card->brand;
  member["card_last4"] = card->last4;
  member["card_expiry"] = card->expiry;
  if (auto v = accounts::validate_member(member, iso, utc_date(p.clock.now_us())); !v.ok())
    return error_response(v.error());
  return std::nullopt;
}

// Uses the payment token up, whatever becomes of the sign-up: a token signs up once (issue 10,
// item 11), and a token a sign-up with a taken address left unused would tell, the next time it
// is presented, that the address was taken. 409 naming payment_token when it was used before.
std::optional<Response> use_payment_token(Portal::Impl& p, const std::string& token) {
  constexpr int64_t kKeepUs = 90LL * 24 * 3600 * 1'000'000;
  const int64_t now = p.clock.now_us();
  Status used = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(s.exec("DELETE FROM portal_payment_tokens WHERE used_at_us < ?", {now - kKeepUs}));
    const Bytes hash = p.keys.blind_index("payment-token", token);
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT 1 FROM portal_payment_tokens WHERE token_hash = ?", {hash}));
    if (!rows.empty()) return Error{ErrorCode::conflict, "payment_token", "used already"};
    PRIVOX_TRY(s.exec("INSERT INTO portal_payment_tokens (token_hash, used_at_us) VALUES (?, ?)", {hash, now}));
    return {};
  });
  if (!used.ok() && used.error().code == ErrorCode::conflict)  // found, or a race on the key
    return http::json_error(status::conflict, "this payment token was used already; enter the card again for a new one",
                            "payment_token");
  if (!used.ok()) return error_response(used.error());
  return std::nullopt;
}

Status record_signup_consents(Portal::Impl& p, store::Session& tx, const std::string& member_id, bool marketing_email,
                              bool marketing_sms) {
  for (const auto& [purpose, given] : {std::pair{consent::ConsentPurpose::marketing_email, marketing_email},
                                       std::pair{consent::ConsentPurpose::marketing_sms, marketing_sms}}) {
    PRIVOX_TRY(p.consents.record(
        tx, {member_id, purpose, given, consent::ConsentMethod::form, "web", ledgers::notice_version()}, member_id));
  }
  return {};
}

Response signup(Portal::Impl& p, const Exchange& e) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  auto read = sign_up_from(std::get<nlohmann::json>(parsed));
  if (auto* refusal = std::get_if<Response>(&read)) return std::move(*refusal);
  SignUp& in = std::get<SignUp>(read);
  auto iso = check_typed(p, in);
  if (auto* refusal = std::get_if<Response>(&iso)) return std::move(*refusal);
  // Counted once the form is complete, before the provider is asked: typing mistakes cost nothing.
  auto wait = take_rate(p.store, p.keys, p.clock, "signup", e.client_address(), p.options.auth_limits.signups);
  if (!wait.ok()) return error_response(wait.error());
  if (*wait > 0) return rate_refusal(*wait, "sign-ups");
  if (std::optional<Response> refusal = add_card(p, in.member, in.payment_token, std::get<std::string>(iso)))
    return std::move(*refusal);
  if (std::optional<Response> refusal = use_payment_token(p, in.payment_token)) return std::move(*refusal);
  return send_link(p, in);
}

// The emailed link's token: a sign-up's writes the account and logs in (201); a change of email's
// changes the member's address (200).
Response confirm(Portal::Impl& p, const Exchange& e) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  std::optional<Response> bad;
  const std::string token = string_field(std::get<nlohmann::json>(parsed), "token", bad).value_or("");
  if (bad) return std::move(*bad);
  if (token.empty()) return http::json_error(status::bad_request, "is required: the token of the emailed link", "token");
  // Which kind of link this is decides the handler; the handler takes the link itself.
  std::optional<ConfirmationKind> kind;
  Status peeked = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(kind, confirmation_kind(s, p.keys, p.clock, token));
    return {};
  });
  if (!peeked.ok()) return error_response(peeked.error());
  if (kind == ConfirmationKind::email) return confirm_email(p, token);
  // An invitation's or a password reset's link has a page of its own; it is not used up here.
  if (kind == ConfirmationKind::invite || kind == ConfirmationKind::reset)
    return http::json_error(status::bad_request, "this link is not a sign-up's or a change of email's", "token");
  return write_sign_up(p, token, e.tls());
}

Response login(Portal::Impl& p, const Exchange& e) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  std::optional<Response> bad;
  const std::optional<std::string> email = string_field(body, "email", bad);
  const std::optional<std::string> password = string_field(body, "password", bad);
  if (bad) return std::move(*bad);
  if (!email || email->empty()) return http::json_error(status::bad_request, "is required", "email");
  if (!password || password->empty()) return http::json_error(status::bad_request, "is required", "password");
  Result<LoginOutcome> outcome = p.auth.login(*email, *password, e.client_address());
  if (!outcome.ok()) return error_response(outcome.error());
  if (outcome->kind == LoginOutcome::Kind::delayed) {
    Response res = http::json_error(
        status::too_many_requests,
        fmt::format("too many failed logins from here for this account; try again in {} seconds", outcome->retry_after_s));
    res.set(http::bhttp::field::retry_after, std::to_string(outcome->retry_after_s));
    return res;
  }
  if (outcome->kind == LoginOutcome::Kind::wrong_credentials)
    return http::json_error(status::unauthorized, "the email or the password is wrong");
  return session_answer(status::ok, outcome->principal, outcome->session, cookie_max_age_s(p.auth), e.tls());
}

Response logout(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto ended = p.auth.logout(c.token); !ended.ok()) return error_response(ended.error());
  Response res{status::no_content, 11};
  res.set(http::bhttp::field::set_cookie, cookie_header(session_cookie(e.tls()), "", 0, e.tls()));
  return res;
}

}  // namespace privox::portal::routes
