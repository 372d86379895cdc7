#include "portal/api.h"

#include "portal/assets.h"
#include "portal/routes.h"

namespace privox::portal {

Portal::Portal(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const PortalOptions& options)
    : impl_(std::make_unique<Impl>(store, keys, clock, options)) {}

Portal::~Portal() = default;

Auth& Portal::auth() { return impl_->auth; }

void Portal::mount(http::Router& router) {
  Impl& p = *impl_;
  for (const Route& route : route_table())
    router.add(route.method, std::string(route.path), [&p, &route](const Exchange& e) { return pass_gate(p, route, e); });
  router.add_websocket("/sip", [&p](const Exchange& e) { return routes::softphone_upgrade(p, e); });
  if (p.options.serve_pages) router.set_fallback([&p](const Exchange& e) { return routes::page(p, e); });
}

std::string_view openapi_document() {
  const EmbeddedFile* f = find_embedded("/api/v1/openapi.json");
  return f ? f->bytes : std::string_view("{}");
}

}  // namespace privox::portal
