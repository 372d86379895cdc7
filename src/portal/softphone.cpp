// The softphone in the portal (issue 16): a member's browser calls and is called over SIP on a
// WebSocket (RFC 7118) to /sip on the portal's own server, with the portal's certificate.
//
// The browser never holds the line's device password. GET /api/v1/me/softphone gives it a password
// derived from its portal session (keyed BLAKE2b of the session token, which only the server and
// the browser's HttpOnly cookie know, so the password does not reveal the cookie), and the
// WebSocket to /sip opens only for a live member session from the portal's own origin. The SIP
// service then accepts, over that one WebSocket, only that line's login with that password
// (sip::FlowCredential): a leaked softphone password is useless without the session's cookie, and
// the device password is useless over a WebSocket. The channel is closed within 10 s of the
// session ending (logout, idle or absolute expiry), and the password dies with the session.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "accounts/extensions.h"
#include "common/log.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

constexpr std::string_view kSubprotocol = "sip";  // RFC 7118 §4.1
constexpr std::string_view kPasswordContext = "privox softphone password v1";

Result<std::vector<accounts::Extension>> member_lines(Portal::Impl& p, const std::string& member_id) {
  std::vector<accounts::Extension> lines;
  PRIVOX_TRY(store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(lines, accounts::extensions_of_member(s, member_id));
    return {};
  }));
  return lines;
}

// The one of `lines` that `wanted` names (an id), or the first; nullptr when none.
const accounts::Extension* pick_line(const std::vector<accounts::Extension>& lines, std::string_view wanted) {
  for (const accounts::Extension& line : lines)
    if (wanted.empty() || line.id == wanted) return &line;
  return nullptr;
}

// "ws://host:port/sip" or "wss://…" for the portal's public address: what the page connects to, and
// the one origin the CSP adds for it.
std::string websocket_origin(std::string_view public_url) {
  if (public_url.starts_with("https://")) return fmt::format("wss://{}", public_url.substr(8));
  if (public_url.starts_with("http://")) return fmt::format("ws://{}", public_url.substr(7));
  return std::string(public_url);
}

// The origin (scheme://host[:port]) of the portal's public address, which a page's Origin must be.
std::string_view page_origin(std::string_view public_url) {
  const size_t scheme = public_url.find("://");
  const size_t path = scheme == std::string_view::npos ? std::string_view::npos : public_url.find('/', scheme + 3);
  return public_url.substr(0, path);
}

bool offers_sip_subprotocol(std::string_view header) {
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == kSubprotocol) return true;
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
  }
  return false;
}

http::Upgrade refused(status code, std::string_view message, std::string_view field) {
  http::Upgrade out;
  out.refusal = http::json_error(code, message, field);
  return out;
}

// host:port as a SIP URI writes it (an IPv6 host in brackets).
std::string phone_server_address(const PhoneServer& server) {
  const bool ipv6 = server.host.find(':') != std::string::npos && server.host.front() != '[';
  return ipv6 ? fmt::format("[{}]:{}", server.host, server.port) : fmt::format("{}:{}", server.host, server.port);
}

}  // namespace

std::string softphone_password(std::string_view session_token) {
  std::array<unsigned char, 24> out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(kPasswordContext.data()),
                     kPasswordContext.size(), reinterpret_cast<const unsigned char*>(session_token.data()),
                     std::min<size_t>(session_token.size(), crypto_generichash_KEYBYTES_MAX));
  std::string text(sodium_base64_ENCODED_LEN(out.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(text.data(), text.size(), out.data(), out.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  text.resize(std::strlen(text.c_str()));
  return text;
}

Response my_softphone(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (!p.options.softphone) return http::json_error(status::service_unavailable, "this node has no softphone service");
  const std::string wanted = e.query_param("line_id").value_or("");
  auto lines = member_lines(p, c.who.subject_id);
  if (!lines.ok()) return error_response(lines.error());
  const accounts::Extension* line = pick_line(*lines, wanted);
  if (!line)
    return http::json_error(status::not_found, wanted.empty() ? "no line is assigned to you" : "no line of yours has this id",
                            "line_id");
  const accounts::Extension& x = *line;
  nlohmann::json all = nlohmann::json::array();
  for (const accounts::Extension& l : *lines) all.push_back({{"id", l.id}, {"number", l.number}});
  return http::json_response(
      status::ok, {{"line", {{"id", x.id}, {"number", x.number}}},
                   {"lines", std::move(all)},
                   {"websocket_url", websocket_origin(page_origin(p.options.public_url)) + "/sip?line_id=" + x.id},
                   {"uri", fmt::format("sip:{}@{}", x.sip_user, p.options.phone_server.host)},
                   {"phone_server", phone_server_address(p.options.phone_server)},
                   {"authorization_user", x.sip_user},
                   {"password", softphone_password(c.token)},
                   {"valid_while", "this portal session"}});
}

http::Upgrade softphone_upgrade(Portal::Impl& p, const Exchange& e) {
  if (!p.options.softphone) return refused(status::service_unavailable, "this node has no softphone service", "");
  // A page of another site could open a WebSocket with the member's cookie: only the portal's own
  // pages may (browsers always send Origin on a WebSocket handshake).
  if (e.header("Origin") != page_origin(p.options.public_url))
    return refused(status::forbidden, "a softphone connects only from the portal's own pages", "Origin");
  if (!offers_sip_subprotocol(e.header("Sec-WebSocket-Protocol")))
    return refused(status::bad_request, "ask for the \"sip\" subprotocol (RFC 7118)", "Sec-WebSocket-Protocol");
  const std::optional<Caller> caller = optional_session(p, e);
  if (!caller) return refused(status::unauthorized, "log in first: no live session", "privox_session");
  if (is_staff(caller->who.role)) return refused(status::forbidden, "only members have this", "role");
  auto lines = member_lines(p, caller->who.subject_id);
  if (!lines.ok()) return refused(status::service_unavailable, "the store is unavailable; try again shortly", "");
  const accounts::Extension* line = pick_line(*lines, e.query_param("line_id").value_or(""));
  if (!line) return refused(status::not_found, "no line of yours has this id", "line_id");

  http::Upgrade out;
  out.subprotocol = kSubprotocol;
  ChannelIdentity identity{line->sip_user, softphone_password(caller->token)};
  out.opened = [acceptor = p.options.softphone, identity = std::move(identity)](std::shared_ptr<MessageChannel> channel) {
    acceptor->adopt(std::move(channel), identity);
  };
  // Ends with the session, or when the line is no longer the member's: one indexed read per open
  // softphone every 10 s.
  out.recheck_every_s = 10;
  out.still_allowed = [&p, token = caller->token, member = caller->who.subject_id, line_id = line->id] {
    Result<std::optional<Principal>> who = p.auth.authenticate(token);
    if (!who.ok()) return true;  // the store is down: the session is not known to have ended
    if (!*who || (*who)->subject_id != member) return false;
    auto still = member_lines(p, member);
    return !still.ok() || pick_line(*still, line_id) != nullptr;
  };
  log::info("portal", "softphone.opened", {});
  return out;
}

}  // namespace privox::portal::routes

namespace privox::portal {

std::string softphone_connect_origin(std::string_view public_url) {
  return routes::websocket_origin(routes::page_origin(public_url));
}

}  // namespace privox::portal
