// The operator's compliance records in the console: the rights-request queue and the register of
// disclosures. The table's gate admits staff for purpose legal only.
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/log.h"
#include "ledgers/disclosures.h"
#include "portal/routes.h"
#include "rights/requests.h"
#include "store/store.h"

namespace privox::portal::routes {
namespace {

// A disclosure from the API's JSON: recipient, kind, categories, basis, reference, safeguard,
// member_ids. Every problem names its field.
std::variant<ledgers::NewDisclosure, Response> disclosure_from(const nlohmann::json& body) {
  std::optional<Response> bad;
  ledgers::NewDisclosure d;
  d.recipient = string_field(body, "recipient", bad).value_or("");
  const std::string kind = string_field(body, "kind", bad).value_or("");
  const std::string basis = string_field(body, "basis", bad).value_or("");
  d.reference = string_field(body, "reference", bad).value_or("");
  d.safeguard = string_field(body, "safeguard", bad).value_or("");
  if (bad) return std::move(*bad);
  const auto parsed_kind = ledgers::parse_disclosure_kind(kind);
  if (!parsed_kind)
    return http::json_error(status::bad_request, "must be carrier, supplier, authority, buyer or region_transfer", "kind");
  d.kind = *parsed_kind;
  const auto parsed_basis = ledgers::parse_legal_basis(basis);
  if (!parsed_basis)
    return http::json_error(status::bad_request, "must be contract, legal_obligation, legitimate_interest or consent",
                            "basis");
  d.basis = *parsed_basis;
  const nlohmann::json categories = body.value("categories", nlohmann::json::array());
  if (!categories.is_array())
    return http::json_error(status::bad_request, "must be an array of data-map categories", "categories");
  for (const auto& c : categories) {
    const auto category = c.is_string() ? ledgers::parse_category(c.get<std::string>()) : std::nullopt;
    if (!category)
      return http::json_error(status::bad_request, "each must be a data-map category (e.g. traffic)", "categories");
    d.categories.push_back(*category);
  }
  const nlohmann::json members = body.value("member_ids", nlohmann::json::array());
  if (!members.is_array()) return http::json_error(status::bad_request, "must be an array of member ids", "member_ids");
  for (const auto& m : members) {
    if (!m.is_string()) return http::json_error(status::bad_request, "each must be a member id", "member_ids");
    d.subject_ids.push_back(m.get<std::string>());
  }
  return d;
}

}  // namespace

Response admin_requests(Portal::Impl& p, const Exchange& e, const Caller&, privacy::Purpose) {
  rights::Requests requests(p.store, p.keys, p.clock);
  // Staff look at the queue daily: a good moment to remove copies whose download period passed.
  if (!p.options.downloads_dir.empty())
    if (auto swept = requests.remove_expired_downloads(p.options.downloads_dir); !swept.ok())
      log::warn("portal", "downloads.sweep_failed", {{"error", log::error_code(swept.error())}});
  auto queue = requests.list({.include_closed = e.query_param("closed").value_or("") == "true", .member_id = {}});
  if (!queue.ok()) return error_response(queue.error());
  nlohmann::json items = nlohmann::json::array();
  for (const rights::Request& request : *queue) items.push_back(request.to_json(p.clock.now_us()));
  return http::json_response(status::ok, {{"items", items}});
}

// A request that arrived by letter, email or phone, entered by staff: its month runs from when it
// really arrived (`received_at`), which the rights layer checks and the audit entry records.
Response admin_request_open(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  std::optional<Response> bad;
  const std::optional<std::string> member_id = string_field(body, "member_id", bad);
  const std::string channel = string_field(body, "channel", bad).value_or("email");
  const std::optional<std::string> received = string_field(body, "received_at", bad);
  if (bad) return std::move(*bad);
  if (!member_id || member_id->empty()) return http::json_error(status::bad_request, "is required", "member_id");
  auto input = new_request_from(body, *member_id, channel);
  if (auto* refusal = std::get_if<Response>(&input)) return std::move(*refusal);
  rights::NewRequest& request = std::get<rights::NewRequest>(input);
  if (received) {
    request.received_at_us = parse_time(*received);
    if (!request.received_at_us)
      return http::json_error(status::bad_request, "must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ)",
                              "received_at");
  }
  auto opened = rights::Requests(p.store, p.keys, p.clock).open(request, c.who.subject_id);
  if (!opened.ok()) return error_response(opened.error());
  return http::json_response(status::created, opened->to_json(p.clock.now_us()));
}

namespace {

// The body's "reason" (and, for extend, "months") for one of the queue's actions; 400 naming it.
std::variant<std::pair<std::string, int>, Response> action_body(const Exchange& e, bool with_months) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  std::optional<Response> bad;
  const std::string reason = string_field(body, "reason", bad).value_or("");
  if (bad) return std::move(*bad);
  int months = 0;
  if (with_months) {
    if (!body.contains("months") || !body["months"].is_number_integer())
      return http::json_error(status::bad_request, "must be 1 or 2", "months");
    months = body["months"].get<int>();
  }
  return std::pair{reason, months};
}

Response queue_answer(Portal::Impl& p, const Result<rights::Request>& r) {
  if (!r.ok()) return error_response(r.error());
  return http::json_response(status::ok, r->to_json(p.clock.now_us()));
}

}  // namespace

// Waiving the fee settles it as paying does: an access request then gets its copy.
Response admin_request_waive(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose) {
  auto body = action_body(e, false);
  if (auto* refusal = std::get_if<Response>(&body)) return std::move(*refusal);
  auto waived = rights::Requests(p.store, p.keys, p.clock)
                    .waive_fee(std::string(e.param("id")), std::get<0>(body).first, c.who.subject_id);
  if (!waived.ok()) return error_response(waived.error());
  return http::json_response(status::ok, after_settled(p, *waived, c.who.subject_id).to_json(p.clock.now_us()));
}

Response admin_request_refuse(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose) {
  auto body = action_body(e, false);
  if (auto* refusal = std::get_if<Response>(&body)) return std::move(*refusal);
  rights::Requests requests(p.store, p.keys, p.clock);
  Result<rights::Request> refused = Error{};
  const Status done = with_mailer(p, [&](notify::Mailer& m) -> Status {
    refused = requests.refuse(std::string(e.param("id")), std::get<0>(body).first, m, c.who.subject_id);
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  return queue_answer(p, refused);
}

Response admin_request_extend(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose) {
  auto body = action_body(e, true);
  if (auto* refusal = std::get_if<Response>(&body)) return std::move(*refusal);
  const std::string reason = std::get<0>(body).first;
  const int months = std::get<0>(body).second;
  rights::Requests requests(p.store, p.keys, p.clock);
  Result<rights::Request> extended = Error{};
  const Status done = with_mailer(p, [&](notify::Mailer& m) -> Status {
    extended = requests.extend(std::string(e.param("id")), months, reason, m, c.who.subject_id);
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  return queue_answer(p, extended);
}

// Completes a rectification or erasure in progress (an access request completes itself when its
// copy is produced, which this also does for one whose copy failed before).
Response admin_request_complete(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose) {
  rights::Requests requests(p.store, p.keys, p.clock);
  auto found = requests.get(std::string(e.param("id")));
  if (!found.ok()) return error_response(found.error());
  if (found->kind == rights::RequestKind::access) {
    if (found->state != rights::RequestState::in_progress)
      return http::json_error(status::conflict, "only a request in progress can be completed", "id");
    const rights::Request after = after_settled(p, *found, c.who.subject_id);
    if (after.state != rights::RequestState::completed)
      return http::json_error(status::service_unavailable, "the copy could not be produced; see the server log");
    return http::json_response(status::ok, after.to_json(p.clock.now_us()));
  }
  auto completed = requests.complete(found->id, c.who.subject_id);
  if (completed.ok()) mail_status(p, *completed, rights::StatusMail::completed, c.who.subject_id);
  return queue_answer(p, completed);
}

Response admin_disclosures_list(Portal::Impl& p, const Exchange& e, const Caller&, privacy::Purpose) {
  ledgers::DisclosureFilter filter;
  if (auto member = e.query_param("member_id")) filter.subject_id = *member;
  auto entries = ledgers::DisclosureRegister(p.store, p.keys, p.clock).list(filter);
  if (!entries.ok()) return error_response(entries.error());
  nlohmann::json items = nlohmann::json::array();
  for (const ledgers::Disclosure& d : *entries) items.push_back(ledgers::to_json(d));
  return http::json_response(status::ok, {{"items", items}});
}

Response admin_disclosure_add(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  auto entry = disclosure_from(std::get<nlohmann::json>(parsed));
  if (auto* refusal = std::get_if<Response>(&entry)) return std::move(*refusal);
  ledgers::DisclosureRegister register_(p.store, p.keys, p.clock);
  auto id = register_.record(std::get<ledgers::NewDisclosure>(entry), c.who.subject_id);
  if (!id.ok()) return error_response(id.error());
  return http::json_response(status::created, {{"id", *id}});
}

}  // namespace privox::portal::routes
