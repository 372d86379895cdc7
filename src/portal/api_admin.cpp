// The operator console's routes (staff only) and the portal's pages.
#include <fmt/format.h>

#include "portal/api_internal.h"
#include "portal/assets.h"
#include "portal/page_views.h"

namespace privox::portal {
namespace {

constexpr size_t kMaxMembersListed = 200;

std::variant<Caller, Response> require_staff(const Portal::Impl& p, const Exchange& e) {
  auto gate = require_session(p, e, false);
  if (auto* c = std::get_if<Caller>(&gate); c && !is_staff(c->who.role))
    return http::json_error(status::forbidden, "only the operator's staff may do this", "role");
  return gate;
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
    std::string sql = "SELECT id FROM members WHERE status = 'active'";
    store::Params params;
    if (auto company = e.query_param("company_id")) {
      sql += " AND company_id = ?";
      params.emplace_back(*company);
    }
    sql += fmt::format(" ORDER BY id LIMIT {}", kMaxMembersListed);
    std::vector<std::string> ids;
    {
      auto tx = store.begin(store::TxMode::read);
      if (!tx.ok()) return error_response(tx.error());
      auto rows = (*tx)->query(sql, params);
      if (!rows.ok()) return error_response(rows.error());
      for (const auto& row : *rows) ids.push_back(row.text(0));
    }
    nlohmann::json items = nlohmann::json::array();
    // Each member shown is one audit entry with the purpose (Accounts::show_member).
    for (const std::string& id : ids) {
      auto shown = accounts.show_member(id, std::get<privacy::Purpose>(purpose), c.who.subject_id);
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
    auto rows = (*tx)->query("SELECT id, name, region, country, created_at_us FROM companies ORDER BY id");
    if (!rows.ok()) return error_response(rows.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& row : *rows)
      items.push_back({{"id", row.text(0)}, {"name", row.text(1)}, {"region", row.text(2)}, {"country", row.text(3)},
                       {"created_at", format_utc(row.i64(4))}});
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
        if (auto h = consents.holds(**tx, subject, privacy::ConsentPurpose::cookies_performance); h.ok()) holds = *h;
    }
    apply_performance_cookie(res, holds, e.cookie(kPerformanceCookie).has_value(), e.tls());
    return res;
  });
}

}  // namespace privox::portal
