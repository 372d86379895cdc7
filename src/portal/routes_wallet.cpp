// The company's international wallet (issue 17), for its office managers only: the balance, the
// daily spend cap and today's spend, and the ledger of every balance change. A wallet names no
// person (a call's debit names its traffic record by id only), so reading it is not audited per read.
#include <nlohmann/json.hpp>

#include "portal/routes.h"
#include "wallet/wallet.h"

namespace privox::portal::routes {
namespace {

std::optional<Response> only_office_managers_see_the_wallet(const Caller& c) {
  if (c.who.role == Role::office_manager) return std::nullopt;
  return http::json_error(status::forbidden, "only the company's office managers see its wallet", "role");
}

}  // namespace

Response wallet_show(Portal::Impl& p, const Exchange& /*e*/, const Caller& c) {
  if (auto refused = only_office_managers_see_the_wallet(c)) return *refused;
  auto w = wallet::wallet_of(p.store, p.clock, c.who.company_id);
  if (!w.ok()) return error_response(w.error());
  return http::json_response(status::ok, wallet::to_json(*w));
}

Response wallet_ledger(Portal::Impl& p, const Exchange& /*e*/, const Caller& c) {
  if (auto refused = only_office_managers_see_the_wallet(c)) return *refused;
  auto entries = wallet::ledger_of(p.store, c.who.company_id, 500);
  if (!entries.ok()) return error_response(entries.error());
  nlohmann::json items = nlohmann::json::array();
  for (const wallet::LedgerEntry& entry : *entries) items.push_back(wallet::to_json(entry));
  return http::json_response(status::ok, {{"items", items}});
}

}  // namespace privox::portal::routes
