#include "sip/registrar.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

#include "common/ascii.h"
#include "sip/builder.h"

namespace privox::sip {
namespace {

std::optional<int64_t> parse_seconds(std::string_view text) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) return std::nullopt;
  return std::min<int64_t>(v, int64_t{1} << 31);
}

}  // namespace

// A TCP or TLS phone's connection closes when it idles past TcpLimits::idle_us, or when a node
// restarts; a phone that sends no keep-alives re-registers only at its expiry, up to an hour on.
// Kamailio opens a new connection to the Contact then, and so does privox (Server::send), but only
// to the host that registered, at the port its Contact names: never to an address a REGISTER merely
// names, which would let any line aim privox's connections at another machine's services. Over TLS
// only to the certificate the phone registered with (sip/tls.h); a browser listens nowhere.
Peer reconnectable(const Uri& contact, const Peer& from) {
  const bool tls = from.transport == TransportKind::tls;
  Peer listening;
  if ((from.transport != TransportKind::tcp && !tls) ||
      !Peer::parse(contact.host, contact.port ? contact.port : (tls ? 5061 : 5060), from.transport, listening) ||
      !listening.same_host(from))
    return from;
  listening.connection = from.connection;
  listening.listens = true;
  return listening;
}

// Requests for a contact go where its URI says when that is an IP address over UDP (a device may
// register a contact other than its own source, as sipsak -C does); over TCP they go back on the
// connection the device opened (and once it has closed, to its Contact: reconnectable above), and
// a contact privox cannot resolve falls back to the source.
Peer where_to_reach(const Uri& contact, const Peer& from) {
  if (from.reliable()) return reconnectable(contact, from);
  Peer peer;
  if (!Peer::parse(contact.host, contact.port ? contact.port : 5060, TransportKind::udp, peer)) return from;
  // Behind NAT a phone writes its own private address; privox sends only to where the REGISTER
  // really came from (the NAT's mapping), never into a private network it cannot reach.
  if (peer.local_only() && !peer.same_host(from)) return from;
  return peer;
}

bool asks_for_outbound(const Message& request) {
  bool supported = false, flow = false;
  request.for_each(Header::supported, [&](std::string_view value) {
    while (!value.empty()) {
      const size_t comma = value.find(',');
      if (iequals_ascii(detail::trim_lws(value.substr(0, comma)), "outbound")) supported = true;
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    }
    return true;
  });
  request.for_each(Header::contact, [&](std::string_view value) {
    const auto contact = parse_name_addr(value);
    if (contact && contact->param("reg-id") && contact->param("+sip.instance")) flow = true;
    return !flow;
  });
  return supported && flow;
}

void Registrar::handle(TxId tx, const Message& request, const Peer& from) {
  const AuthOutcome auth = auth_.authenticate(request, false, from);
  if (!auth.extension) {
    std::vector<std::string> values = auth_.challenges(auth.stale, from, request, false);
    std::vector<ExtraHeader> extra;
    extra.reserve(values.size());
    for (const std::string& v : values) extra.push_back({"WWW-Authenticate", v});
    return layer_.respond_statelessly(tx, build_response(request, 401, "Unauthorized", "reg", extra), 401);
  }
  const ExtensionInfo& ext = *auth.extension;
  if (ext.encryption_required && !from.private_signalling())
    return layer_.respond(tx, build_response(request, 403, kTlsRequired, "reg"), 403);
  if (request.to().uri.user != ext.sip_user)
    return layer_.respond(tx, build_response(request, 403, "Forbidden: To names another address of record", "reg"), 403);

  const std::string_view expires_header = request.first_value(Header::expires);
  std::optional<int64_t> default_expires = int64_t{config_.default_expires_s};
  if (!expires_header.empty()) default_expires = parse_seconds(expires_header);
  if (!default_expires)
    return layer_.respond(tx, build_response(request, 400, "Malformed Expires header", "reg"), 400);

  const int64_t now = clock_.now_us();
  // RFC 5626 §6: a flow's binding is reached over the flow it was registered on, whatever its
  // Contact says (a phone behind NAT names an address nobody outside can reach).
  const bool outbound = asks_for_outbound(request);
  std::vector<BindingChange> changes;
  bool wildcard = false, bad = false, too_brief = false;
  size_t contacts = 0;
  request.for_each(Header::contact, [&](std::string_view value) {
    ++contacts;
    const auto contact = parse_name_addr(value);
    if (!contact) return bad = true, false;
    if (contact->wildcard) return wildcard = true, true;
    std::optional<int64_t> expires = default_expires;
    if (auto p = contact->param("expires")) expires = parse_seconds(*p);
    if (!expires) return bad = true, false;
    if (*expires > 0 && *expires < config_.min_expires_s) return too_brief = true, false;
    const int64_t seconds = std::min<int64_t>(*expires, config_.max_expires_s);
    const bool flow = outbound && contact->param("reg-id") && contact->param("+sip.instance");
    Binding b{std::string(contact->uri_text), flow ? from : where_to_reach(contact->uri, from), now + seconds * 1'000'000,
              std::string(request.first_value(Header::user_agent)), std::string(request.call_id()),
              request.cseq().number,
              flow ? fmt::format("{} {}", *contact->param("+sip.instance"), *contact->param("reg-id")) : std::string(),
              std::nullopt, std::nullopt};
    if (b.peer.listens && b.peer.transport == TransportKind::tls && auth_.flow_credentials())
      b.certificate = auth_.flow_credentials()->certificate_of(from);
    changes.push_back({ext.id, std::move(b), seconds == 0});
    return true;
  });
  if (bad) return layer_.respond(tx, build_response(request, 400, "Malformed Contact header", "reg"), 400);
  if (too_brief) {
    const std::string min = std::to_string(config_.min_expires_s);
    const ExtraHeader extra[] = {{"Min-Expires", min}};
    return layer_.respond(tx, build_response(request, 423, "Interval Too Brief", "reg", extra), 423);
  }
  if (wildcard) {
    // RFC 3261 §10.3 step 6: "*" only alone and only with Expires: 0.
    if (contacts != 1 || expires_header != "0")
      return layer_.respond(tx, build_response(request, 400, "Contact * needs Expires: 0 and no other contact", "reg"),
                            400);
    for (const Binding& b : location_.lookup(ext.id, now)) changes.push_back({ext.id, b, true});
  }
  // A refresh from the same device must not be older than what is stored (§10.3 step 7).
  for (const BindingChange& c : changes)
    for (const Binding& b : location_.lookup(ext.id, now))
      if (b.contact == c.binding.contact && b.call_id == c.binding.call_id && c.binding.cseq <= b.cseq && !wildcard)
        return layer_.respond(tx, build_response(request, 500, "Out of order REGISTER", "reg"), 500);

  replace_flows(ext.id, now, changes);
  if (changes.empty()) return reply_bindings(tx, request, ext.id, outbound);
  for (const BindingChange& c : changes) {
    if (c.remove) contact_peers_.erase(c.binding.contact);
    else learn(c.binding);
  }
  // The request's bytes do not outlive this call: keep what the reply needs.
  auto kept = std::make_shared<std::string>(request.bytes());
  const std::string extension_id = ext.id;
  location_.apply(std::move(changes), [this, tx, kept, extension_id, outbound](const Status& durable) {
    Message again;
    ParseError error;
    if (!parse_message(*kept, again, error)) return;
    if (!durable.ok()) {
      const ErrorCode code = durable.error().code;
      return layer_.respond(tx, build_not_durable(again, code, "Bindings could not be stored", "reg"),
                            not_durable_status(code));
    }
    reply_bindings(tx, again, extension_id, outbound);
  });
}

// RFC 5626 §6: a REGISTER with the +sip.instance and reg-id of a binding the line holds replaces
// it, even when its Contact differs (a phone that reconnects from behind NAT often writes its new
// local port there). The old binding's flow is gone, and a call forked to it could only fail.
void Registrar::replace_flows(const std::string& extension_id, int64_t now, std::vector<BindingChange>& changes) {
  std::vector<BindingChange> replaced;
  for (const BindingChange& c : changes) {
    if (c.remove || c.binding.flow.empty()) continue;
    for (const Binding& b : location_.lookup(extension_id, now)) {
      if (b.flow != c.binding.flow || b.contact == c.binding.contact) continue;
      const auto listed = [&](const BindingChange& r) { return r.binding.contact == b.contact; };
      if (std::none_of(replaced.begin(), replaced.end(), listed) && std::none_of(changes.begin(), changes.end(), listed))
        replaced.push_back({extension_id, b, true});
    }
  }
  for (BindingChange& r : replaced) changes.push_back(std::move(r));
}

void Registrar::reply_bindings(TxId tx, const Message& request, const std::string& extension_id, bool outbound) {
  const int64_t now = clock_.now_us();
  // ExtraHeader holds views: the formatted values must outlive the response being built.
  const std::span<const Binding> bindings = location_.lookup(extension_id, now);
  std::vector<std::string> values;
  values.reserve(bindings.size());
  for (const Binding& b : bindings)
    values.push_back(fmt::format("<{}>;expires={}", b.contact, (b.expires_at_us - now + 999'999) / 1'000'000));
  std::vector<ExtraHeader> extra;
  extra.reserve(values.size() + 2);
  for (const std::string& v : values) extra.push_back({"Contact", v});
  // The phone keeps its flow alive only when told the registrar supports it (RFC 5626 §4.2.1).
  const std::string flow_timer = std::to_string(config_.flow_timer_s);
  if (outbound) {
    extra.push_back({"Require", "outbound"});
    extra.push_back({"Flow-Timer", flow_timer});
  }
  layer_.respond(tx, build_response(request, 200, "OK", "reg", extra), 200);
}

void Registrar::learn_contacts(const Location& location) {
  location.for_each([this](const std::string&, const Binding& b) { learn(b); });
}

void Registrar::apply_shared(const BindingUpdate& update) {
  std::vector<std::string> unnamed;  // with replace_all, lines that had a UDP binding and have none now
  if (update.replace_all) {
    unnamed = location_.extensions_with_shared();
    std::erase_if(unnamed, [&](const std::string& id) {
      return std::any_of(update.lines.begin(), update.lines.end(),
                         [&](const BindingUpdate::Line& l) { return l.extension_id == id; });
    });
  }
  for (const std::string& id : unnamed)
    for (const std::string& contact : location_.replace_shared(id, {})) contact_peers_.erase(contact);
  for (const BindingUpdate::Line& line : update.lines) {
    for (const std::string& contact : location_.replace_shared(line.extension_id, line.bindings))
      contact_peers_.erase(contact);
    // What memory kept of its own connections, and the other nodes' flows, each by its next hop.
    for (const Binding& b : location_.lookup(line.extension_id, clock_.now_us())) learn(b);
  }
}

const Registrar::ContactHop* Registrar::hop_for_contact(std::string_view contact) const {
  auto it = contact_peers_.find(std::string(contact));
  if (it != contact_peers_.end()) return &it->second;
  // RFC 5626 §5.4: a phone using SIP Outbound marks the Contact of its calls ";ob" (SIP.js, the
  // portal's softphone, does), which it registered without: the same flow.
  const size_t ob = contact.find(";ob");
  if (ob == std::string_view::npos || (ob + 3 < contact.size() && contact[ob + 3] != ';' && contact[ob + 3] != '>'))
    return nullptr;
  it = contact_peers_.find(std::string(contact.substr(0, ob)) + std::string(contact.substr(ob + 3)));
  return it == contact_peers_.end() ? nullptr : &it->second;
}

const Peer* Registrar::peer_for_contact(std::string_view contact) const {
  const ContactHop* hop = hop_for_contact(contact);
  return hop ? &hop->peer : nullptr;
}

const Peer* Registrar::own_flow_for_contact(std::string_view contact) const {
  const ContactHop* hop = hop_for_contact(contact);
  return hop && !hop->through_node ? &hop->peer : nullptr;
}

}  // namespace privox::sip
