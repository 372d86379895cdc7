// The caller's own record: shown (audited) and corrected. A new email is not corrected at once:
// its address gets a one-time link (confirmations.h), and the change happens when the link is
// followed. Answering 409 when another member had the address told any member who else has an
// account (issue 10, item 10); now the answer is the same for a free and a taken address, and the
// taken address's owner is told someone tried instead (the same work: a pending row, one email).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounts/validation.h"
#include "common/log.h"
#include "portal/confirmations.h"
#include "portal/routes.h"
#include "privacy/audit_record.h"
#include "rights/requests.h"

namespace privox::portal::routes {
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

// Sends the new address its link, or word that someone tried to move an account onto it; the same
// steps either way. Errors: the store's, unavailable when the email cannot be sent.
Status start_email_change(Portal::Impl& p, const std::string& member_id, const std::string& email) {
  bool taken = false;
  std::string token;
  PRIVOX_TRY(store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(taken, accounts::email_taken(s, p.keys, email));
    PRIVOX_ASSIGN(token, create_confirmation(s, p.keys, p.clock, {ConfirmationKind::email, member_id, {{"email", email}}}));
    return {};
  }));
  const std::string& base = p.options.public_url;
  return send_mail(
      p, taken ? notify::Email{email, "Your privox email address",
                               fmt::format("Someone asked to move a privox login to this address, which has an account "
                                           "already. Nothing was changed.\n\nYour login is as it was: {}/login.html\n",
                                           base),
                               {}}
               : notify::Email{email, "Your privox email address",
                               fmt::format("Someone, we hope you, asked to use this address for their privox login.\n\n"
                                           "To make the change, open this link within 24 hours:\n\n  {}/confirm.html#{}\n\n"
                                           "If it was not you, ignore this message: nothing changes.\n",
                                           base, token),
                               {}});
}

}  // namespace

Response me_show(Portal::Impl& p, const Exchange&, const Caller& c) {
  nlohmann::json out = {{"subject_id", c.who.subject_id}, {"company_id", c.who.company_id},
                        {"role", to_string(c.who.role)}, {"csrf_token", p.auth.csrf_for(c.token)}};
  Status done = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    if (is_staff(c.who.role)) {
      PRIVOX_ASSIGN(std::string email, p.auth.staff_email(s, c.who.subject_id));
      out["fields"] = {{"email", email}};
      return {};
    }
    PRIVOX_ASSIGN(out["fields"], own_fields(s, p.keys, c.who.subject_id));
    if (auto co = accounts::find_company(s, c.who.company_id); co.ok()) out["company_name"] = co->name;
    PRIVOX_TRY(p.audit.append(s, {c.who.subject_id, "member.show_own", c.who.subject_id, "service",
                                  {{"fields_shown", out["fields"].size()}}}));
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  return http::json_response(status::ok, out);
}

Response me_correct(Portal::Impl& p, const Exchange& e, const Caller& c) {
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
  // A new email waits for its link; the caller's own address changes nothing.
  std::optional<std::string> new_email;
  if (auto it = corrections.find("email"); it != corrections.end()) {
    Result<std::string> email = accounts::normalise_email(it->second);
    if (!email.ok()) return error_response(email.error());
    corrections.erase(it);
    std::string current;
    Status read = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
      PRIVOX_ASSIGN(accounts::FieldValues mine,
                    accounts::open_member_fields(s, p.keys, c.who.subject_id, {accounts::member_field("email")}));
      current = mine["email"];
      return {};
    });
    if (!read.ok()) return error_response(read.error());
    if (accounts::normalise_email(current).value_or("") != *email) new_email = *email;
  }
  nlohmann::json out = {{"corrected", nlohmann::json::array()}, {"notices", 0}};
  if (!corrections.empty()) {
    // The one correction path (rights/corrections.h): earlier recipients of the data get a notice.
    rights::Requests requests(p.store, p.keys, p.clock);
    auto corrected = requests.correct_directly(c.who.subject_id, corrections, "portal", c.who.subject_id);
    if (!corrected.ok()) return error_response(corrected.error());
    const nlohmann::json outcome = corrected->outcome();
    out = {{"corrected", outcome["corrected"]}, {"notices", outcome["notices"].size()}};
  }
  if (new_email) {
    if (Status s = start_email_change(p, c.who.subject_id, *new_email); !s.ok()) {
      log::warn("portal", "email_change_mail.not_sent", {{"error", log::error_code(s.error())}});
      return http::json_error(status::service_unavailable, "the confirmation email cannot be sent now; try again later");
    }
    out["pending"] = {"email"};
    out["message"] = "We have sent a link to the new address. Your email changes when you open it.";
  }
  return http::json_response(status::ok, out);
}

Response confirm_email(Portal::Impl& p, std::string_view token) {
  std::string member_id, email;
  Status taken = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(PendingConfirmation pending, take_confirmation(s, p.keys, p.clock, token));
    member_id = pending.subject_id;
    email = pending.payload.value("email", "");
    return {};
  });
  if (!taken.ok()) return error_response(taken.error());
  rights::Requests requests(p.store, p.keys, p.clock);
  auto corrected = requests.correct_directly(member_id, {{"email", email}}, "portal", member_id);
  // Only the mailbox's owner holds the link, so saying the address was taken meanwhile tells
  // nobody else anything.
  if (!corrected.ok() && corrected.error().code == ErrorCode::conflict)
    return http::json_error(status::conflict, "another account took this email meanwhile", "email");
  if (!corrected.ok()) return error_response(corrected.error());
  return http::json_response(status::ok, {{"confirmed", "email"}, {"email", email}});
}

}  // namespace privox::portal::routes
