// Several nodes on one store (DESIGN.md §5): a phone on a TCP, TLS or WebSocket connection, on a SIP
// Outbound flow or behind a NAT that lets in only the address it sent to, is reached only from the
// node that took its REGISTER. That node writes itself into the binding (sip/store_bindings.h,
// the `held_by` column), in the spirit of RFC 3327's Path. Another node with a call for the phone
// sends the INVITE there with a Route naming that node (node_route); the holding node checks the
// Route's token, relays the request over the flow and record-routes, so that both nodes stay on the
// dialog: in-dialog requests and CANCEL then follow the route set like any others. The node that
// took the call keeps its record and its media relay; the holding node only relays signalling.
//
// The token is a keyed hash, under the master key every node holds a copy of, of the Call-ID,
// the Request-URI and an expiry. Without it anyone could ring a registered phone through privox by
// naming its Contact, unauthenticated and unrecorded.
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>

#include "privacy/keyring.h"
#include "sip/builder.h"
#include "sip/proxy.h"

namespace privox::sip {
namespace {

constexpr std::string_view kNodeRouteParam = "pxnode";
constexpr std::string_view kNodeRouteDomain = "sip-node-route";
// A route outlives the INVITE's retransmissions (64*T1, 32 s), plus the nodes' clock skew.
constexpr int64_t kNodeRouteLifeS = 60;
constexpr size_t kMacBytes = 16;
// A relayed dialog whose BYE never came (the other node died with it) is forgotten after a day.
constexpr int64_t kNodeFlowKeptUs = 86'400'000'000;

std::string route_mac(const privacy::Keyring& keys, int64_t expires_s, std::string_view call_id,
                      std::string_view request_uri) {
  const std::string mac =
      keys.token_mac(kNodeRouteDomain, fmt::format("{}\n{}\n{}", expires_s, call_id, request_uri));
  char hex[kMacBytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, reinterpret_cast<const unsigned char*>(mac.data()), kMacBytes);
  return std::string(hex, kMacBytes * 2);
}

// "<expiry>-<mac>", made by node_route for this Call-ID and Request-URI, not expired.
bool route_token_verifies(const privacy::Keyring& keys, std::string_view token, std::string_view call_id,
                          std::string_view request_uri, int64_t now_s) {
  const size_t dash = token.find('-');
  if (dash == std::string_view::npos || token.size() - dash - 1 != kMacBytes * 2) return false;
  int64_t expires_s = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + dash, expires_s);
  if (ec != std::errc() || end != token.data() + dash) return false;
  if (expires_s < now_s || expires_s > now_s + 2 * kNodeRouteLifeS) return false;
  const std::string expected = route_mac(keys, expires_s, call_id, request_uri);
  return sodium_memcmp(expected.data(), token.data() + dash + 1, expected.size()) == 0;
}

}  // namespace

std::string Proxy::node_route(const Peer& node, std::string_view call_id, std::string_view request_uri) const {
  const int64_t expires_s = clock_.now_us() / 1'000'000 + kNodeRouteLifeS;
  return fmt::format("<sip:{};lr;{}={}-{}>", node.host_port(), kNodeRouteParam, expires_s,
                     route_mac(*node_keys_, expires_s, call_id, request_uri));
}

bool Proxy::relay_for_node(TxId tx, const Message& request, const Peer& from) {
  std::optional<std::string_view> token;
  request.for_each(Header::route, [&](std::string_view value) {
    const auto route = parse_name_addr(value);
    if (route && names_us(route->uri)) token = route->uri.param(kNodeRouteParam);
    return false;  // only the first Route value can name us
  });
  if (!token) return false;
  if (!route_token_verifies(*node_keys_, *token, request.call_id(), request.request_uri_text(),
                            clock_.now_us() / 1'000'000)) {
    respond(tx, request, 403, "Forbidden: the route through this node does not verify");
    return true;
  }
  const Peer* phone = registrar_->own_flow_for_contact(request.request_uri_text());
  if (!phone) {
    // The flow closed, or the phone registered elsewhere since: the calling node tries its others.
    respond(tx, request, 480, "Temporarily Unavailable: this node no longer holds the phone's flow");
    return true;
  }
  if (request.method() == Method::invite) layer_->respond(tx, build_response(request, 100, "Trying", ""), 100);
  Call& call = calls_[tx];
  call.server_tx = tx;
  call.caller = from;
  call.invite = false;  // the calling node rings, times out and records the call
  call.in_dialog = true;
  call.node_relay = true;
  call.call_id = std::string(request.call_id());
  call.request = std::string(request.bytes());
  if (request.method() == Method::invite) remember_node_flow(call.call_id, *phone);
  DialogHop hop;
  hop.target = *phone;
  hop.pop_route = true;
  // The phone's in-dialog requests come to this node on its flow, and go on to the calling node.
  const std::string_view record_route =
      request.method() == Method::invite ? record_route_for(from.transport, phone->transport) : std::string_view{};
  forward_in_dialog(call, request, hop, std::nullopt, record_route);
  return true;
}

void Proxy::remember_node_flow(const std::string& call_id, const Peer& phone) {
  const int64_t now = clock_.now_us();
  node_flows_[call_id] = {phone, now};
  if (node_flows_.size() < node_flows_sweep_at_) return;
  std::erase_if(node_flows_, [&](const auto& entry) { return now - entry.second.since_us > kNodeFlowKeptUs; });
  node_flows_sweep_at_ = std::max<size_t>(1024, node_flows_.size() * 2);
}

}  // namespace privox::sip
