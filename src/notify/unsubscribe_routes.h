#pragma once
// The one-click unsubscribe of marketing email (RFC 8058), on the portal's HTTP server:
//   GET  /unsubscribe?token=T  a small page with one button (a POST form; no script, so the CSP
//                              holds) for people who open the link in a browser;
//   POST /unsubscribe?token=T  what a mail client's one-click sends (body
//                              "List-Unsubscribe=One-Click"; no cookie, no CSRF token: the signed
//                              token is the authority). Withdraws the token's consent in the
//                              ledger (method link, channel email, the current notice version)
//                              and answers 200; when consent was already withdrawn it records
//                              nothing more and answers 200 again.
// A malformed, altered or foreign token gets 400 with a JSON message naming "token".
//
// Thread-safety: handlers run on the HTTP server's pool; all state is in the store.

#include "common/clock.h"
#include "http/server.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::notify {

void add_unsubscribe_routes(http::Router& router, store::Store& store, const privacy::Keyring& keys,
                            const Clock& clock);

}  // namespace privox::notify
