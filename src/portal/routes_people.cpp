// A company's people, for its office managers: every active member with her role, the pending
// invitations, and the change of a member's role. Another company's member is answered exactly
// like one that does not exist (404), and a company never loses its last office manager.
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "portal/routes.h"
#include "privacy/audit_record.h"

namespace privox::portal::routes {
namespace {

// The company's members with their name, email and role (null without a login), opened under
// each member's key.
Result<nlohmann::json> people_json(Portal::Impl& p, store::Session& s, const std::string& company_id) {
  PRIVOX_ASSIGN(const std::vector<accounts::MemberRow> members, accounts::active_members_of_company(s, company_id));
  PRIVOX_ASSIGN(const auto roles, p.auth.company_roles(s, company_id));
  const std::vector<const privacy::FieldSpec*> shown = {accounts::member_field("name"), accounts::member_field("email")};
  nlohmann::json out = nlohmann::json::array();
  for (const accounts::MemberRow& m : members) {
    PRIVOX_ASSIGN(accounts::FieldValues fields, accounts::open_member_fields(s, p.keys, m.id, shown));
    const auto role = roles.find(m.id);
    out.push_back({{"id", m.id},
                   {"name", fields["name"]},
                   {"email", fields["email"]},
                   {"role", role == roles.end() ? nlohmann::json(nullptr) : nlohmann::json(to_string(role->second))}});
  }
  return out;
}

}  // namespace

Response people_list(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (auto refusal = refuse_unless_office_manager(c)) return std::move(*refusal);
  nlohmann::json out;
  Status done = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(out["people"], people_json(p, s, c.who.company_id));
    PRIVOX_ASSIGN(const std::vector<Invite> invites, p.invites.list(s, c.who.company_id));
    out["invites"] = nlohmann::json::array();
    for (const Invite& in : invites)
      out["invites"].push_back({{"id", in.id}, {"email", in.email}, {"created_at", format_utc(in.created_at_us)},
                                {"expires_at", format_utc(in.expires_at_us)}});
    // One entry for the page, with counts only (the people are the company's own members).
    PRIVOX_TRY(p.audit.append(s, {c.who.subject_id, "people.list", "", "service",
                                  {{"company_id", c.who.company_id},
                                   {"members", out["people"].size()},
                                   {"invites", out["invites"].size()}}}));
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  return http::json_response(status::ok, out);
}

Response person_set_role(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_office_manager(c)) return std::move(*refusal);
  const std::string id(e.param("id"));
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  std::optional<Response> bad;
  const std::string typed = string_field(std::get<nlohmann::json>(parsed), "role", bad).value_or("");
  if (bad) return std::move(*bad);
  const std::optional<Role> role = parse_role(typed);
  if (!role || (*role != Role::member && *role != Role::office_manager))
    return http::json_error(status::bad_request, "must be member or office_manager", "role");
  Status done = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    return p.auth.set_role(s, c.who.company_id, id, *role, c.who.subject_id);
  });
  if (!done.ok()) return error_response(done.error());
  return http::json_response(status::ok, {{"id", id}, {"role", to_string(*role)}});
}

}  // namespace privox::portal::routes
