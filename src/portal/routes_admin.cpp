// The operator console (staff only): members for a purpose, companies, the audit chain's health
// and page views.
#include <nlohmann/json.hpp>

#include "consent/member_view.h"
#include "portal/page_views.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

constexpr size_t kMaxMembersListed = 200;

// The ids of the active members listed, of one company when the query names it.
Result<std::vector<std::string>> listed_member_ids(store::Store& store, const std::optional<std::string>& company) {
  PRIVOX_ASSIGN(auto tx, store.begin(store::TxMode::read));
  PRIVOX_ASSIGN(std::vector<accounts::MemberRow> members,
                company ? accounts::active_members_of_company(*tx, *company) : accounts::active_members(*tx));
  std::vector<std::string> ids;
  for (const accounts::MemberRow& m : members) {
    if (ids.size() == kMaxMembersListed) break;
    ids.push_back(m.id);
  }
  return ids;
}

}  // namespace

Response admin_members(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose) {
  auto ids = listed_member_ids(p.store, e.query_param("company_id"));
  if (!ids.ok()) return error_response(ids.error());
  nlohmann::json items = nlohmann::json::array();
  // Each member shown is one audit entry with the purpose (consent/member_view.h).
  for (const std::string& id : *ids) {
    auto shown = consent::show_member(p.store, p.keys, p.clock, id, purpose, c.who.subject_id);
    if (!shown.ok()) return error_response(shown.error());
    items.push_back(std::move(*shown));
  }
  return http::json_response(status::ok, {{"purpose", privacy::to_string(purpose)}, {"items", items}});
}

// Company names and countries are business data, but the list is still a staff view: the gate asks
// for a purpose the role allows, as for every console view (openapi.json).
Response admin_companies(Portal::Impl& p, const Exchange&, const Caller&, privacy::Purpose) {
  auto tx = p.store.begin(store::TxMode::read);
  if (!tx.ok()) return error_response(tx.error());
  auto companies = accounts::list_companies(**tx);
  if (!companies.ok()) return error_response(companies.error());
  nlohmann::json items = nlohmann::json::array();
  for (const accounts::Company& co : *companies)
    items.push_back({{"id", co.id}, {"name", co.name}, {"region", co.region}, {"country", co.country},
                     {"created_at", format_utc(co.created_at_us)}});
  return http::json_response(status::ok, {{"items", items}});
}

Response admin_audit(Portal::Impl& p, const Exchange&, const Caller&, privacy::Purpose) {
  auto report = p.audit.verify(p.store);
  if (!report.ok()) return error_response(report.error());
  nlohmann::json out = {{"ok", report->ok}, {"entries", report->entries}};
  if (!report->ok) {
    out["first_bad_seq"] = report->first_bad_seq;
    out["problem"] = report->problem;
  }
  return http::json_response(status::ok, out);
}

Response admin_page_views(Portal::Impl& p, const Exchange&, const Caller&) {
  auto counts = page_view_counts(p.store);
  if (!counts.ok()) return error_response(counts.error());
  return http::json_response(status::ok, {{"items", *counts}});
}

}  // namespace privox::portal::routes
