// Optional data from the mobile app (contacts, location, social profile): kept only while the
// matching consent holds (consent/optional_data.h), and only the member's own.
#include <nlohmann/json.hpp>

#include "consent/optional_data.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

// The kind the path names, or the 400 naming it. Checked after the gate: a visitor asking for any
// kind is told to log in first.
std::variant<consent::OptionalKind, Response> kind_of(const Exchange& e) {
  const auto kind = consent::parse_optional_kind(e.param("kind"));
  if (!kind) return http::json_error(status::bad_request, "must be contacts, location or social_profile", "kind");
  return *kind;
}

}  // namespace

Response optional_data_put(Portal::Impl& p, const Exchange& e, const Caller& c) {
  const auto kind = kind_of(e);
  if (auto* refusal = std::get_if<Response>(&kind)) return *refusal;
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  if (!body.contains("value")) return http::json_error(status::bad_request, "is required", "value");
  const std::string& who = c.who.subject_id;
  const consent::OptionalKind k = std::get<consent::OptionalKind>(kind);
  consent::OptionalData data(p.store, p.keys, p.clock);
  if (Status s = data.put(who, k, body["value"], who); !s.ok())
    return s.error().code == ErrorCode::conflict ? http::json_error(status::forbidden, s.error().message, "consent")
                                                 : error_response(s.error());
  return http::json_response(status::created, {{"kind", consent::to_string(k)},
                                               {"value", body["value"]},
                                               {"updated_at", format_utc(p.clock.now_us())}});
}

Response optional_data_list(Portal::Impl& p, const Exchange& e, const Caller& c) {
  const auto kind = kind_of(e);
  if (auto* refusal = std::get_if<Response>(&kind)) return *refusal;
  const std::string& who = c.who.subject_id;
  auto items = consent::OptionalData(p.store, p.keys, p.clock).list(who, who);
  if (!items.ok()) return error_response(items.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : *items)
    if (item.kind == std::get<consent::OptionalKind>(kind))
      out.push_back({{"kind", consent::to_string(item.kind)}, {"value", item.value},
                     {"updated_at", format_utc(item.updated_at_us)}});
  return http::json_response(status::ok, {{"items", out}});
}

Response optional_data_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  const auto kind = kind_of(e);
  if (auto* refusal = std::get_if<Response>(&kind)) return *refusal;
  const std::string& who = c.who.subject_id;
  auto removed = consent::OptionalData(p.store, p.keys, p.clock).remove(who, std::get<consent::OptionalKind>(kind), who);
  if (!removed.ok()) return error_response(removed.error());
  return http::json_response(status::ok, {{"deleted", *removed}});
}

}  // namespace privox::portal::routes
