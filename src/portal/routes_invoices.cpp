// The company's invoices and credit notes (issue 17), for its office managers only: the list, one
// as JSON, and one as PDF (`/api/v1/invoices/{id}.pdf`). Another company's invoice is 404, as if it
// did not exist. Invoices name no person, so reading them is not audited per read.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "billing/invoices.h"
#include "billing/render.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

std::optional<Response> only_office_managers_see_invoices(const Caller& c) {
  if (c.who.role == Role::office_manager) return std::nullopt;
  return http::json_error(status::forbidden, "only the company's office managers see its invoices", "role");
}

}  // namespace

Response invoices_list(Portal::Impl& p, const Exchange& /*e*/, const Caller& c) {
  if (auto refused = only_office_managers_see_invoices(c)) return *refused;
  nlohmann::json items = nlohmann::json::array();
  const Status read = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::vector<billing::Invoice> all, billing::invoices_of_company(s, c.who.company_id));
    for (const billing::Invoice& inv : all) items.push_back(billing::to_json(inv));
    return {};
  });
  if (!read.ok()) return error_response(read.error());
  return http::json_response(status::ok, {{"items", items}});
}

Response invoice_show(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refused = only_office_managers_see_invoices(c)) return *refused;
  std::string id(e.param("id"));
  const bool pdf = id.ends_with(".pdf");
  if (pdf) id.resize(id.size() - 4);
  std::optional<billing::Invoice> inv;
  billing::Parties parties;
  const Status read = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(inv, billing::find_invoice(s, id));
    // Another company's invoice answers exactly as a missing one.
    if (!inv || inv->company_id != c.who.company_id) return Error{ErrorCode::not_found, "id", "no such invoice"};
    if (!pdf) return {};
    PRIVOX_ASSIGN(parties, billing::the_parties(p.store, s, *inv));
    return {};
  });
  if (!read.ok()) return error_response(read.error());
  if (!pdf) return http::json_response(status::ok, billing::to_json(*inv));
  auto document = billing::invoice_pdf(*inv, parties);
  if (!document.ok()) return error_response(document.error());
  Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, "application/pdf");
  res.set(http::bhttp::field::cache_control, "no-store");
  res.set(http::bhttp::field::content_disposition,
          fmt::format("attachment; filename=\"{}.pdf\"", billing::number_text(*inv)));
  res.body() = std::move(*document);
  return res;
}

}  // namespace privox::portal::routes
