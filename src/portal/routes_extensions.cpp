// A company's phone lines: listed with their registered devices, added, their SIP password reset,
// and removed (its devices' registrations go and its number and DID become free), by the office
// manager.
#include <nlohmann/json.hpp>

#include "portal/routes.h"
#include "sip/store_bindings.h"

namespace privox::portal::routes {
namespace {

nlohmann::json line_json(const accounts::Extension& x, nlohmann::json devices) {
  const bool registered = !devices.empty();
  return {{"id", x.id},
          {"number", x.number},
          {"sip_user", x.sip_user},
          {"member_id", x.member_id ? nlohmann::json(*x.member_id) : nlohmann::json(nullptr)},
          {"did", x.did ? nlohmann::json(*x.did) : nlohmann::json(nullptr)},
          {"registered", registered},
          {"devices", std::move(devices)}};
}

}  // namespace

Response extensions_list(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (is_staff(c.who.role)) return http::json_error(status::forbidden, "lines belong to a company's portal", "role");
  auto lines = visible_lines(p.extensions, c.who);
  if (!lines.ok()) return error_response(lines.error());
  nlohmann::json items = nlohmann::json::array();
  Status done = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    items = nlohmann::json::array();
    const int64_t now = p.clock.now_us();
    for (const accounts::Extension& x : *lines) {
      // The registrations' equipment and expiry only: their addresses stay with the registrar.
      PRIVOX_ASSIGN(std::vector<sip::StoredDevice> stored, sip::stored_devices(s, p.keys, x.id, now, false));
      nlohmann::json devices = nlohmann::json::array();
      for (const sip::StoredDevice& d : stored)
        devices.push_back({{"equipment", d.user_agent}, {"expires_at", format_utc(d.expires_at_us)}});
      items.push_back(line_json(x, std::move(devices)));
    }
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  return http::json_response(status::ok, {{"items", items}});
}

Response extension_add(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only the office manager adds lines", "role");
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  std::optional<Response> bad;
  accounts::NewExtension input;
  input.company_id = c.who.company_id;
  input.number = string_field(body, "number", bad).value_or("");
  input.password = string_field(body, "password", bad).value_or("");
  input.member_id = string_field(body, "member_id", bad);
  input.did = string_field(body, "did", bad);
  if (bad) return std::move(*bad);
  auto id = p.extensions.add_extension(input, c.who.subject_id);
  if (!id.ok()) return error_response(id.error());
  auto x = p.extensions.find(*id);
  if (!x.ok()) return error_response(x.error());
  return http::json_response(status::created, line_json(*x, nlohmann::json::array()));
}

Response extension_reset_password(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only the office manager resets line passwords", "role");
  const std::string id(e.param("id"));
  auto x = p.extensions.find(id);
  // Another company's line is answered exactly like a line that does not exist.
  if (!x.ok() || x->company_id != c.who.company_id)
    return http::json_error(status::not_found, "no such line in your company", "id");
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  std::optional<Response> bad;
  const std::string password = string_field(std::get<nlohmann::json>(parsed), "password", bad).value_or("");
  if (bad) return std::move(*bad);
  if (Status s = p.extensions.reset_password(id, password, c.who.subject_id); !s.ok()) return error_response(s.error());
  return Response{status::no_content, 11};
}

Response extension_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only the office manager removes lines", "role");
  const std::string id(e.param("id"));
  auto x = p.extensions.find(id);
  if (!x.ok() || x->company_id != c.who.company_id)
    return http::json_error(status::not_found, "no such line in your company", "id");
  if (Status s = p.extensions.remove(id, c.who.subject_id); !s.ok()) return error_response(s.error());
  return Response{status::no_content, 11};
}

}  // namespace privox::portal::routes
