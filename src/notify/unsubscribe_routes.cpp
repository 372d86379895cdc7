#include "notify/unsubscribe_routes.h"

#include <fmt/format.h>

#include "common/log.h"
#include "notify/unsubscribe_token.h"
#include "consent/consent.h"
#include "ledgers/notice.h"

namespace privox::notify {
namespace {

constexpr std::string_view kUnsubscribeActor = "link:unsubscribe";

http::Response html(http::bhttp::status status, std::string_view title, std::string_view body_html) {
  http::Response res{status, 11};
  res.set(http::bhttp::field::content_type, "text/html; charset=utf-8");
  res.set(http::bhttp::field::cache_control, "no-store");
  res.body() = fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title></head>\n"
      "<body><main><h1>{0}</h1>\n{1}\n</main></body></html>\n",
      title, body_html);
  res.prepare_payload();
  return res;
}

std::string_view channel_word(consent::ConsentPurpose p) {
  return p == consent::ConsentPurpose::marketing_sms ? "SMS" : "email";
}

Result<UnsubscribeToken> token_of(const http::Exchange& ex, const privacy::Keyring& keys) {
  const std::optional<std::string> token = ex.query_param("token");
  if (!token) return invalid("token", "the unsubscribe link has no token; copy the whole link from the message");
  return verify_unsubscribe_token(keys, *token);
}

http::Response bad_token(const Error& e) {
  return http::json_error(http::bhttp::status::bad_request, e.message, e.field);
}

// The page behind the link: asks for the click instead of acting on a GET, which mail scanners
// and link previews fetch on their own.
http::Response confirm_page(const http::Exchange& ex, const privacy::Keyring& keys) {
  Result<UnsubscribeToken> token = token_of(ex, keys);
  if (!token.ok()) return bad_token(token.error());
  // The token is base64url: nothing in it needs escaping inside an attribute.
  const std::string action = fmt::format("/unsubscribe?token={}", *ex.query_param("token"));
  return html(http::bhttp::status::ok, "Unsubscribe",
              fmt::format("<p>Stop marketing {} from us? Service messages about your account continue.</p>\n"
                          "<form method=\"post\" action=\"{}\">"
                          "<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
                          "<button type=\"submit\">Unsubscribe</button></form>",
                          channel_word(token->purpose), action));
}

http::Response withdraw(const http::Exchange& ex, store::Store& store, const privacy::Keyring& keys,
                        const Clock& clock) {
  Result<UnsubscribeToken> token = token_of(ex, keys);
  if (!token.ok()) return bad_token(token.error());
  const consent::ConsentLedger ledger(store, keys, clock);
  bool recorded = false;
  const Status done = store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    recorded = false;
    PRIVOX_ASSIGN(const bool holds, ledger.holds(s, token->subject_id, token->purpose));
    if (!holds) return {};  // a second click, or consent already withdrawn elsewhere
    PRIVOX_TRY(ledger.record(s,
                             {token->subject_id, token->purpose, false, consent::ConsentMethod::link, "email",
                              ledgers::notice_version()},
                             std::string(kUnsubscribeActor)));
    recorded = true;
    return {};
  });
  if (!done.ok()) {
    log::error("notify", "unsubscribe.not_recorded", {{"error", log::error_code(done.error())}});
    return http::json_error(http::bhttp::status::service_unavailable,
                            "your request could not be recorded just now; please try the link again later");
  }
  return html(http::bhttp::status::ok, "You are unsubscribed",
              fmt::format("<p>You will get no more marketing {} from us.{}</p>", channel_word(token->purpose),
                          recorded ? "" : " (This was already recorded.)"));
}

}  // namespace

void add_unsubscribe_routes(http::Router& router, store::Store& store, const privacy::Keyring& keys,
                            const Clock& clock) {
  router.add(http::bhttp::verb::get, "/unsubscribe",
             [&keys](const http::Exchange& ex) { return confirm_page(ex, keys); });
  router.add(http::bhttp::verb::post, "/unsubscribe", [&store, &keys, &clock](const http::Exchange& ex) {
    return withdraw(ex, store, keys, clock);
  });
}

}  // namespace privox::notify
