// A company's phone lines: listed with their registered devices and what a phone needs to register
// them, added, renamed, assigned to a member and given a digest choice, their SIP password reset,
// and removed (its devices' registrations go and its number and DID become free), by the office
// manager. A device password is shown, in provisioning files and a QR code, only in the answer to
// the request that set it: privox keeps only its hashes (provisioning.h).
#include <nlohmann/json.hpp>

#include <algorithm>

#include "portal/provisioning.h"
#include "portal/routes.h"
#include "sip/store_bindings.h"

namespace privox::portal::routes {
namespace {

nlohmann::json optional_json(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json digest_json(std::optional<accounts::DigestChoice> choice) {
  return choice ? nlohmann::json(accounts::to_string(*choice)) : nlohmann::json(nullptr);
}

nlohmann::json line_json(const accounts::Extension& x, nlohmann::json devices) {
  const bool registered = !devices.empty();
  return {{"id", x.id},
          {"number", x.number},
          {"sip_user", x.sip_user},
          {"label", x.label},
          {"member_id", optional_json(x.member_id)},
          {"did", optional_json(x.did)},
          {"digest", digest_json(x.digest)},
          {"registered", registered},
          {"devices", std::move(devices)}};
}

// What every phone of the company needs besides its login.
nlohmann::json phone_settings_json(const PhoneServer& server) {
  return {{"server", server.host},
          {"port", server.port},
          {"transports", nlohmann::json::array({"udp", "tcp"})},
          {"realm", accounts::kDigestRealm}};
}

// The files and QR code that carry the password just set; shown once, never stored.
nlohmann::json provisioning_json(const PhoneServer& server, const accounts::Extension& x, std::string_view password) {
  nlohmann::json files = nlohmann::json::array();
  for (const ProvisioningFormat format : kProvisioningFormats) {
    ProvisioningFile f = provisioning_file(format, server, x, password);
    files.push_back({{"format", to_string(f.format)},
                     {"name", std::move(f.name)},
                     {"content_type", std::move(f.content_type)},
                     {"content", std::move(f.content)}});
  }
  return {{"files", std::move(files)}, {"qr_svg", qr_svg(baresip_account(server, x, password))}};
}

// A body member that may be a string or null: absent leaves it, null clears it.
std::optional<std::optional<std::string>> nullable_string(const nlohmann::json& body, const std::string& name,
                                                          std::optional<Response>& bad) {
  if (!body.contains(name)) return std::nullopt;
  if (body[name].is_null()) return std::optional<std::string>();
  return string_field(body, name, bad);
}

// "md5", "sha256" or null (follow the company's; for a company, the node's).
std::optional<std::optional<accounts::DigestChoice>> digest_field(const nlohmann::json& body, const std::string& name,
                                                                  std::optional<Response>& bad) {
  const auto text = nullable_string(body, name, bad);
  if (!text || bad) return std::nullopt;
  if (!*text) return std::optional<accounts::DigestChoice>();
  const auto choice = accounts::parse_digest_choice(**text);
  if (!choice) bad = http::json_error(status::bad_request, "must be md5, sha256 or null", name);
  return std::optional<accounts::DigestChoice>(choice);
}

// The line, when it is the caller's company's; any other answers as a line that does not exist.
Result<accounts::Extension> company_line(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto x = p.extensions.find(std::string(e.param("id")));
  if (!x.ok() || x->company_id != c.who.company_id)
    return Error{ErrorCode::not_found, "id", "no such line in your company"};
  return x;
}

}  // namespace

Response extensions_list(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (is_staff(c.who.role)) return http::json_error(status::forbidden, "lines belong to a company's portal", "role");
  auto lines = visible_lines(p.extensions, c.who);
  if (!lines.ok()) return error_response(lines.error());
  auto company_digest = p.extensions.company_digest(c.who.company_id);
  if (!company_digest.ok()) return error_response(company_digest.error());
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
  return http::json_response(status::ok, {{"items", items},
                                          {"phone_settings", phone_settings_json(p.options.phone_server)},
                                          {"company_digest", digest_json(*company_digest)}});
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
  accounts::LineSettings settings;
  settings.label = string_field(body, "label", bad).value_or("");
  settings.digest = digest_field(body, "digest", bad).value_or(std::nullopt);
  if (bad) return std::move(*bad);
  auto id = p.extensions.add_extension(input, c.who.subject_id, settings);
  if (!id.ok()) return error_response(id.error());
  auto x = p.extensions.find(*id);
  if (!x.ok()) return error_response(x.error());
  nlohmann::json out = line_json(*x, nlohmann::json::array());
  out["provisioning"] = provisioning_json(p.options.phone_server, *x, input.password);
  return http::json_response(status::created, out);
}

Response extension_update(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only the office manager changes lines", "role");
  auto x = company_line(p, e, c);
  if (!x.ok()) return error_response(x.error());
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  std::optional<Response> bad;
  accounts::ExtensionChange change;
  if (auto label = nullable_string(body, "label", bad)) change.label = label->value_or("");
  change.member_id = nullable_string(body, "member_id", bad);
  change.digest = digest_field(body, "digest", bad);
  if (bad) return std::move(*bad);
  if (Status s = p.extensions.update(x->id, change, c.who.subject_id); !s.ok()) return error_response(s.error());
  auto changed = p.extensions.find(x->id);
  if (!changed.ok()) return error_response(changed.error());
  return http::json_response(status::ok, line_json(*changed, nlohmann::json::array()));
}

Response extension_reset_password(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only the office manager resets line passwords", "role");
  // Another company's line is answered exactly like a line that does not exist.
  auto x = company_line(p, e, c);
  if (!x.ok()) return error_response(x.error());
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  std::optional<Response> bad;
  const std::string password = string_field(std::get<nlohmann::json>(parsed), "password", bad).value_or("");
  if (bad) return std::move(*bad);
  if (Status s = p.extensions.reset_password(x->id, password, c.who.subject_id); !s.ok())
    return error_response(s.error());
  return http::json_response(status::ok, {{"provisioning", provisioning_json(p.options.phone_server, *x, password)}});
}

// A provisioning file without the password (only its hashes are kept), for a line the caller may
// see: an office manager's company's, or a member's own.
Response extension_provisioning(Portal::Impl& p, const Exchange& e, const Caller& c) {
  const auto format = parse_provisioning_format(e.param("format"));
  if (!format) return http::json_error(status::bad_request, "must be baresip, yealink or polycom", "format");
  auto lines = visible_lines(p.extensions, c.who);
  if (!lines.ok()) return error_response(lines.error());
  const auto line = std::find_if(lines->begin(), lines->end(), [&](const accounts::Extension& x) {
    return x.id == e.param("id");
  });
  if (line == lines->end()) return http::json_error(status::not_found, "no such line of yours", "id");
  ProvisioningFile file = provisioning_file(*format, p.options.phone_server, *line, "");
  Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, file.content_type);
  res.set(http::bhttp::field::content_disposition, "attachment; filename=\"" + file.name + "\"");
  res.set(http::bhttp::field::cache_control, "no-store");
  res.body() = std::move(file.content);
  res.prepare_payload();
  return res;
}

Response extension_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only the office manager removes lines", "role");
  auto x = company_line(p, e, c);
  if (!x.ok()) return error_response(x.error());
  if (Status s = p.extensions.remove(x->id, c.who.subject_id); !s.ok()) return error_response(s.error());
  return Response{status::no_content, 11};
}

}  // namespace privox::portal::routes
