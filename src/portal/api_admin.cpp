// The operator console's routes (staff only) and the portal's pages.
#include <fmt/format.h>

#include "portal/api_internal.h"
#include "consent/member_view.h"
#include "portal/assets.h"
#include "portal/page_views.h"
#include "ledgers/disclosures.h"
#include "rights/requests.h"

namespace privox::portal {
namespace {

constexpr size_t kMaxMembersListed = 200;

std::variant<Caller, Response> require_staff(const Portal::Impl& p, const Exchange& e, bool state_changing = false) {
  auto gate = require_session(p, e, state_changing);
  if (auto* c = std::get_if<Caller>(&gate); c && !is_staff(c->who.role))
    return http::json_error(status::forbidden, "only the operator's staff may do this", "role");
  return gate;
}

// The register and the rights-request queue are the operator's compliance records: staff reach
// them only for purpose legal.
std::variant<Caller, Response> require_legal_staff(const Portal::Impl& p, const Exchange& e, bool state_changing) {
  auto gate = require_staff(p, e, state_changing);
  if (auto* c = std::get_if<Caller>(&gate)) {
    auto purpose = staff_purpose(e, c->who);
    if (auto* refusal = std::get_if<Response>(&purpose)) return std::move(*refusal);
    if (std::get<privacy::Purpose>(purpose) != privacy::Purpose::legal)
      return http::json_error(status::forbidden, "the register and the request queue are for purpose legal", "purpose");
  }
  return gate;
}

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
  if (!parsed_kind) return http::json_error(status::bad_request, "must be carrier, supplier, authority, buyer or region_transfer", "kind");
  d.kind = *parsed_kind;
  const auto parsed_basis = ledgers::parse_legal_basis(basis);
  if (!parsed_basis) return http::json_error(status::bad_request, "must be contract, legal_obligation, legitimate_interest or consent", "basis");
  d.basis = *parsed_basis;
  const nlohmann::json categories = body.value("categories", nlohmann::json::array());
  if (!categories.is_array()) return http::json_error(status::bad_request, "must be an array of data-map categories", "categories");
  for (const auto& c : categories) {
    const auto category = c.is_string() ? ledgers::parse_category(c.get<std::string>()) : std::nullopt;
    if (!category) return http::json_error(status::bad_request, "each must be a data-map category (e.g. traffic)", "categories");
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

Response not_found_page() {
  Response res{status::not_found, 11};
  res.set(http::bhttp::field::content_type, "text/html; charset=utf-8");
  const EmbeddedFile* page = find_embedded("/404.html");
  res.body() = page ? std::string(page->bytes)
                    : "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>"
                      "<body><h1>Page not found</h1><p><a href=\"/\">Back to the portal</a></p></body></html>";
  return res;
}

}  // namespace

void Portal::Impl::mount_admin(http::Router& r) {
  r.add(verb::get, "/api/v1/admin/members", [this](const Exchange& e) -> Response {
    auto gate = require_staff(*this, e);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    const Caller& c = std::get<Caller>(gate);
    auto purpose = staff_purpose(e, c.who);
    if (auto* refusal = std::get_if<Response>(&purpose)) return std::move(*refusal);
    std::vector<std::string> ids;
    {
      auto tx = store.begin(store::TxMode::read);
      if (!tx.ok()) return error_response(tx.error());
      const std::optional<std::string> company = e.query_param("company_id");
      auto members = company ? accounts::active_members_of_company(**tx, *company) : accounts::active_members(**tx);
      if (!members.ok()) return error_response(members.error());
      for (const accounts::MemberRow& m : *members) {
        if (ids.size() == kMaxMembersListed) break;
        ids.push_back(m.id);
      }
    }
    nlohmann::json items = nlohmann::json::array();
    // Each member shown is one audit entry with the purpose (consent/member_view.h).
    for (const std::string& id : ids) {
      auto shown = consent::show_member(store, keys, clock, id, std::get<privacy::Purpose>(purpose), c.who.subject_id);
      if (!shown.ok()) return error_response(shown.error());
      items.push_back(std::move(*shown));
    }
    return http::json_response(status::ok,
                               {{"purpose", privacy::to_string(std::get<privacy::Purpose>(purpose))}, {"items", items}});
  });

  r.add(verb::get, "/api/v1/admin/companies", [this](const Exchange& e) -> Response {
    auto gate = require_staff(*this, e);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    auto tx = store.begin(store::TxMode::read);
    if (!tx.ok()) return error_response(tx.error());
    auto companies = accounts::list_companies(**tx);
    if (!companies.ok()) return error_response(companies.error());
    nlohmann::json items = nlohmann::json::array();
    for (const accounts::Company& c : *companies)
      items.push_back({{"id", c.id}, {"name", c.name}, {"region", c.region}, {"country", c.country},
                       {"created_at", format_utc(c.created_at_us)}});
    return http::json_response(status::ok, {{"items", items}});
  });

  r.add(verb::get, "/api/v1/admin/audit", [this](const Exchange& e) -> Response {
    auto gate = require_staff(*this, e);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    auto report = audit.verify(store);
    if (!report.ok()) return error_response(report.error());
    nlohmann::json out = {{"ok", report->ok}, {"entries", report->entries}};
    if (!report->ok) {
      out["first_bad_seq"] = report->first_bad_seq;
      out["problem"] = report->problem;
    }
    return http::json_response(status::ok, out);
  });

  r.add(verb::get, "/api/v1/admin/requests", [this](const Exchange& e) -> Response {
    auto gate = require_legal_staff(*this, e, false);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    rights::Requests requests(store, keys, clock);
    auto queue = requests.list({.include_closed = e.query_param("closed").value_or("") == "true", .member_id = {}});
    if (!queue.ok()) return error_response(queue.error());
    nlohmann::json items = nlohmann::json::array();
    for (const rights::Request& request : *queue) items.push_back(request.to_json(clock.now_us()));
    return http::json_response(status::ok, {{"items", items}});
  });

  r.add(verb::get, "/api/v1/admin/disclosures", [this](const Exchange& e) -> Response {
    auto gate = require_legal_staff(*this, e, false);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    ledgers::DisclosureFilter filter;
    if (auto member = e.query_param("member_id")) filter.subject_id = *member;
    auto entries = ledgers::DisclosureRegister(store, keys, clock).list(filter);
    if (!entries.ok()) return error_response(entries.error());
    nlohmann::json items = nlohmann::json::array();
    for (const ledgers::Disclosure& d : *entries) items.push_back(ledgers::to_json(d));
    return http::json_response(status::ok, {{"items", items}});
  });

  r.add(verb::post, "/api/v1/admin/disclosures", [this](const Exchange& e) -> Response {
    auto gate = require_legal_staff(*this, e, true);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    auto parsed = json_body(e);
    if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
    auto entry = disclosure_from(std::get<nlohmann::json>(parsed));
    if (auto* refusal = std::get_if<Response>(&entry)) return std::move(*refusal);
    ledgers::DisclosureRegister register_(store, keys, clock);
    auto id = register_.record(std::get<ledgers::NewDisclosure>(entry), std::get<Caller>(gate).who.subject_id);
    if (!id.ok()) return error_response(id.error());
    return http::json_response(status::created, {{"id", *id}});
  });

  r.add(verb::get, "/api/v1/admin/page-views", [this](const Exchange& e) -> Response {
    auto gate = require_staff(*this, e);
    if (auto* refusal = std::get_if<Response>(&gate)) return std::move(*refusal);
    auto counts = page_view_counts(store);
    if (!counts.ok()) return error_response(counts.error());
    return http::json_response(status::ok, {{"items", *counts}});
  });
}

void Portal::Impl::mount_pages(http::Router& r) {
  r.set_fallback([this](const Exchange& e) -> Response {
    const bool get = e.method() == verb::get || e.method() == verb::head;
    const std::string path(e.path());
    const EmbeddedFile* file = get && path.rfind("/api/", 0) != 0 ? find_embedded(path) : nullptr;
    if (!file) {
      const bool page = path == "/" || path.ends_with(".html") || e.header("Accept").starts_with("text/html");
      return get && page ? not_found_page()
                         : http::json_error(status::not_found, fmt::format("no such resource: {}", path));
    }
    Response res{status::ok, 11};
    const std::string_view type = content_type_for(file->path);
    res.set(http::bhttp::field::content_type, std::string(type));
    res.body() = std::string(file->bytes);
    if (!type.starts_with("text/html")) {
      res.set(http::bhttp::field::cache_control, "no-cache");
      return res;
    }
    // A page load: counted without cookies, and the performance cookie follows the consent.
    (void)count_page_view(store, file->path, e.client_address(), clock.now_us());
    const std::optional<Caller> c = optional_session(*this, e);
    const std::string subject = c ? c->who.subject_id : e.cookie(kVisitorCookie).value_or("");
    bool holds = false;
    if (!subject.empty()) {
      auto tx = store.begin(store::TxMode::read);
      if (tx.ok())
        if (auto h = consents.holds(**tx, subject, consent::ConsentPurpose::cookies_performance); h.ok()) holds = *h;
    }
    apply_performance_cookie(res, holds, e.cookie(kPerformanceCookie).has_value(), e.tls());
    return res;
  });
}

}  // namespace privox::portal
