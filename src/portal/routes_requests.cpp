// A member's rights requests (P13): opened from the privacy centre and listed there, so a reload
// still shows what was opened.
#include <nlohmann/json.hpp>

#include "portal/routes.h"
#include "rights/requests.h"

namespace privox::portal::routes {

std::variant<rights::NewRequest, Response> new_request_from(const nlohmann::json& body, const std::string& member_id,
                                                           const std::string& channel) {
  std::optional<Response> bad;
  const std::string kind_text = string_field(body, "kind", bad).value_or("");
  if (bad) return std::move(*bad);
  const std::optional<rights::RequestKind> kind = rights::parse_request_kind(kind_text);
  if (!kind) return http::json_error(status::bad_request, "must be access, rectify or erase", "kind");
  rights::NewRequest input{member_id, *kind, {}, channel};
  if (body.contains("corrections")) {
    if (!body["corrections"].is_object())
      return http::json_error(status::bad_request, "must be an object of field names to values", "corrections");
    for (const auto& [field, value] : body["corrections"].items()) {
      if (!value.is_string()) return http::json_error(status::bad_request, "must be a string", field);
      input.corrections[field] = value.get<std::string>();
    }
  }
  return input;
}

Response request_open(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  auto input = new_request_from(std::get<nlohmann::json>(parsed), c.who.subject_id, "portal");
  if (auto* refusal = std::get_if<Response>(&input)) return std::move(*refusal);
  if (std::get<rights::NewRequest>(input).kind == rights::RequestKind::erase) {
    // Said now, in words, rather than when staff come to complete the request.
    Status allowed = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) {
      return refuse_erasing_last_office_manager(s, c.who.subject_id, c.who.company_id);
    });
    if (!allowed.ok() && allowed.error().code != ErrorCode::conflict) return error_response(allowed.error());
    if (!allowed.ok())
      return http::json_error(status::conflict,
                              "You are your company's only office manager. Make another member an office manager, or "
                              "close the company on the Company page, before deleting your account",
                              "kind");
  }
  rights::Requests requests(p.store, p.keys, p.clock);
  auto opened = requests.open(std::get<rights::NewRequest>(input), c.who.subject_id);
  if (!opened.ok()) return error_response(opened.error());
  return http::json_response(status::created, opened->to_json(p.clock.now_us()));
}

Response requests_list(Portal::Impl& p, const Exchange&, const Caller& c) {
  rights::Requests requests(p.store, p.keys, p.clock);
  auto listed = requests.list({.include_closed = true, .member_id = c.who.subject_id});
  if (!listed.ok()) return error_response(listed.error());
  nlohmann::json items = nlohmann::json::array();
  for (const rights::Request& request : *listed) items.push_back(request.to_json(p.clock.now_us()));
  return http::json_response(status::ok, {{"items", items}});
}

}  // namespace privox::portal::routes
