#pragma once
// The portal: its JSON API under /api/v1 (described route by route in portal/openapi.json, which a
// test keeps in step with the router), its web pages (embedded from web/ at build time) and the
// rules every route shares:
//  - a session is the `privox_session` cookie (`__Host-privox_session` under TLS, auth.h); every
//    state-changing call of a session
//    must carry its CSRF token in X-CSRF-Token;
//  - members see their own data, office managers their company's, staff only with a purpose
//    their role allows (`?purpose=` or X-Privox-Purpose), and every staff view is audited;
//  - anything that is not yours is 404, so ids of other tenants cannot be probed;
//  - bodies are JSON objects; wrong JSON or types are 400 naming the field;
//  - errors are {"error": {"message", "field"}}.
// Each route is one named handler in a routes_<resource>.cpp file, registered in the one table of
// routes.cpp with the gate it needs (routes.h).
//
// This header is what the composition root (cli/serve.cpp) sees, so it names the HTTP server, the
// store and the keyring without including them (no Boost.Beast, no nlohmann here).
//
// Thread-safety: handlers run on the HTTP server's pool; Portal holds no mutable state of its own
// (all state is in the store; the mailer is used under a lock), so any number may run at once.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "portal/auth_limits.h"

namespace privox {
class ChannelAcceptor;
class Clock;
}
namespace privox::billing {
class PaymentProvider;
}
namespace privox::http {
class Router;
}
namespace privox::notify {
class Mailer;
}
namespace privox::privacy {
class Keyring;
}
namespace privox::store {
class Store;
}

namespace privox::portal {

class Auth;
using billing::PaymentProvider;  // billing/payments.h, the seam invoices are charged through too

// Where phones reach privox's SIP service, as the Extensions page and the provisioning files name
// it (provisioning.h): settings sip.public_host / sip.public_port, else the address `serve --sip`
// listens on.
struct PhoneServer {
  std::string host = "127.0.0.1";
  uint16_t port = 5060;
};

struct PortalOptions {
  // Where card details go and where privox asks about tokens; null: sign-up is refused (503).
  PaymentProvider* payments = nullptr;
  // Where sign-up and a change of email send their one-time link (confirmations.h); used under
  // the portal's own lock, one message at a time. null: both answer 503.
  notify::Mailer* mailer = nullptr;
  // The portal's address as people reach it (setting portal.public_url), for those links. It is
  // never taken from a request's Host header, which a caller could set to their own site.
  std::string public_url = "http://127.0.0.1:8080";
  // Where the sealed copies of members' data wait for download (a folder under the data
  // directory); empty: access requests are not fulfilled by the portal and downloads answer 503.
  std::string downloads_dir;
  AuthLimits auth_limits;
  PhoneServer phone_server;
  bool serve_pages = true;  // the embedded web/ files and the page-view counter
  // Where a softphone's WebSocket (/sip) goes once open: the SIP service (portal/softphone.cpp).
  // null: /sip and /api/v1/me/softphone answer 503.
  ChannelAcceptor* softphone = nullptr;
};

// The origin a page's CSP must let connect for the softphone: "ws://host:port" or "wss://…" of
// the portal's public address.
std::string softphone_connect_origin(std::string_view public_url);

class Portal {
 public:
  Portal(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const PortalOptions& options);
  ~Portal();

  // Adds every API route, /api/v1/openapi.json and (with serve_pages) the pages to `router`. The
  // portal must outlive the router's use.
  void mount(http::Router& router);

  Auth& auth();

  struct Impl;  // what the handlers share (routes.h)

 private:
  std::unique_ptr<Impl> impl_;
};

// The OpenAPI document (portal/openapi.json, embedded at build time).
std::string_view openapi_document();

}  // namespace privox::portal
