// What anyone may read before logging in: the privacy notice, what the pages need to draw
// themselves, and the API's own document.
#include <nlohmann/json.hpp>

#include "common/money.h"
#include "ledgers/notice.h"
#include "portal/routes.h"
#include "store/settings.h"

namespace privox::portal::routes {

Response privacy_notice(Portal::Impl& p, const Exchange&) {
  auto notice = ledgers::privacy_notice(p.store);
  if (!notice.ok()) return error_response(notice.error());
  return http::json_response(status::ok, *notice);
}

namespace {

// The plan sign-up offers, with its price in money as a person reads it.
Result<nlohmann::json> plan_offered(store::Settings& settings) {
  PRIVOX_ASSIGN(std::string name, settings.text("plan.name"));
  PRIVOX_ASSIGN(int64_t price, settings.integer("plan.line_price_minor_units"));
  PRIVOX_ASSIGN(std::string currency, settings.text("plan.currency"));
  PRIVOX_ASSIGN(std::string summary, settings.text("plan.summary"));
  return nlohmann::json{{"name", name},
                        {"line_price", format_money(price, currency)},
                        {"line_price_minor_units", price},
                        {"currency", currency},
                        {"period", "month"},
                        {"summary", summary}};
}

}  // namespace

Response portal_config(Portal::Impl& p, const Exchange&) {
  store::Settings settings(p.store);
  nlohmann::json controller = nlohmann::json::object();
  for (const char* key : {"controller.name", "controller.address", "controller.email", "controller.phone"}) {
    auto value = settings.text(key);
    if (!value.ok()) return error_response(value.error());
    controller[std::string(key).substr(11)] = *value;  // without "controller."
  }
  auto plan = plan_offered(settings);
  if (!plan.ok()) return error_response(plan.error());
  return http::json_response(
      status::ok, {{"payment_provider_url", p.options.payments ? p.options.payments->browser_origin() : std::string()},
                   {"notice_version", ledgers::notice_version()},
                   {"controller", controller},
                   {"plan", std::move(*plan)}});
}

Response openapi(Portal::Impl&, const Exchange&) {
  Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, "application/json");
  res.body() = std::string(openapi_document());
  return res;
}

}  // namespace privox::portal::routes
