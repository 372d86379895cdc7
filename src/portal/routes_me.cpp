// The caller's own record: shown (audited) and corrected.
#include <nlohmann/json.hpp>

#include "portal/routes.h"
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
  // The one correction path (rights/corrections.h): earlier recipients of the data get a notice.
  rights::Requests requests(p.store, p.keys, p.clock);
  auto corrected = requests.correct_directly(c.who.subject_id, corrections, "portal", c.who.subject_id);
  if (!corrected.ok()) return error_response(corrected.error());
  return http::json_response(status::ok, {{"corrected", corrected->outcome["corrected"]},
                                          {"notices", corrected->outcome["notices"].size()}});
}

}  // namespace privox::portal::routes
