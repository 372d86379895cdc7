#include "sip/proxy.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>

#include "common/ascii.h"
#include "common/ids.h"
#include "common/log.h"
#include "media/endpoint.h"
#include "media/sdp.h"
#include "numbers/e164.h"
#include "rating/store.h"
#include "sip/builder.h"
#include "sip/rtpengine.h"
#include "wallet/book.h"

namespace privox::sip {
namespace {

using traffic::CallRecord;
using traffic::Direction;
using traffic::Outcome;

constexpr std::string_view kAllow =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, REGISTER, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY";
// What a line dials to hear its own voicemail (the code most hosted PBXs use).
constexpr std::string_view kRetrievalCode = "*97";
// Do-not-disturb on and off from the phone, as Asterisk's and most desk phones' defaults have them.
constexpr std::string_view kDndOnCode = "*78";
constexpr std::string_view kDndOffCode = "*79";
// From any line of the company: a box by its extension and PIN (Asterisk's *98).
constexpr std::string_view kLoginCode = "*98";

// RFC 3261 §16.7 step 6: 6xx wins; else the lowest class, preferring within 4xx the responses
// that let the caller retry (401, 407, 415, 420, 484).
int preference(int status) {
  if (status >= 600) return 0;
  if (status >= 300 && status < 400) return 10;
  if (status == 401 || status == 407 || status == 415 || status == 420 || status == 484) return 20;
  if (status >= 400 && status < 500) return 21;
  return 30;
}

// RFC 3323: Privacy: id (or a priv-value list holding it) asks to hide the caller's identity.
bool wants_privacy(const Message& m) {
  bool hidden = false;
  m.for_each(Header::privacy, [&](std::string_view value) {
    size_t start = 0;
    while (start <= value.size()) {
      const size_t end = value.find(';', start);
      std::string_view token = value.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
      while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
      while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
      if (token == "id") hidden = true;
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
    return true;
  });
  return hidden;
}

// The answering side's equipment for the traffic record (P5 "the equipment used"): its User-Agent,
// else the Server header that carriers and servers answer with.
std::string answering_equipment(const Message& response) {
  std::string_view equipment = response.first_value(Header::user_agent);
  if (equipment.empty()) equipment = response.first_value(Header::server);
  return std::string(equipment.substr(0, 200));
}

// A calling number from a header, kept short and printable: it lands in traffic records.
std::string calling_number(const Message& m) {
  std::string user(m.from().uri.user.substr(0, 32));
  for (char& c : user)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  return user;
}

}  // namespace

Outcome Proxy::outcome_for(int status, bool cancelled, bool timed_out) {
  if (status >= 200 && status < 300) return Outcome::answered;
  if (cancelled) return Outcome::cancelled;
  if (timed_out || status == 408 || status == 480) return Outcome::no_answer;
  if (status == 486 || status == 600) return Outcome::busy;
  return Outcome::failed;
}

std::string_view Proxy::strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

Proxy::Proxy(ProxyConfig config, Directory& directory, Authenticator& auth, Location& location,
             traffic::TrafficSink& traffic, Sender& sender, TimerQueue& timers, const Clock& clock)
    : config_(std::move(config)),
      record_route_(fmt::format("<sip:{}:{};lr>", config_.host, config_.port)),
      directory_(directory), auth_(auth), location_(location), traffic_(traffic),
      sender_(sender), timers_(timers), clock_(clock) {
  randombytes_buf(&branch_seed_, sizeof branch_seed_);
}

void Proxy::set_address(std::string host, uint16_t port) {
  config_.host = std::move(host);
  config_.port = port;
  record_route_ = fmt::format("<sip:{}:{};lr>", config_.host, config_.port);
}

std::string Proxy::new_branch() { return fmt::format("z9hG4bK{:016x}{:x}", branch_seed_, ++branch_counter_); }

std::string Proxy::via_for(const Peer& to, std::string_view branch) const {
  // A TLS peer is reached from the TLS listener, and Via's sent-by says so (RFC 3261 §18.2.1): a
  // response it sends on a new connection must come to the port that speaks TLS.
  const uint16_t port = to.transport == TransportKind::tls && tls_port_ ? tls_port_ : config_.port;
  return fmt::format("SIP/2.0/{} {}:{};branch={}", to.via_name(), config_.host, port, branch);
}

bool Proxy::names_us(const Uri& uri) const {
  if (uri.host != strip_brackets(config_.host)) return false;
  if (tls_port_ && uri.port == tls_port_) return true;
  return uri.port == config_.port || (uri.port == 0 && config_.port == 5060);
}

std::optional<Peer> Proxy::peer_for_uri(const Uri& uri) const {
  // A URI that asks for TLS (sips:, or ;transport=tls) is reached over TLS, never in clear: over
  // the connection the peer holds to us from that address (sip/server.h, RFC 5923's reuse).
  // A TCP URI goes over UDP as before: a TCP phone's own binding (Registrar::peer_for_contact),
  // or in a dialog the flow of a side on a connection (next_hop), is found first, and falling
  // back to UDP costs nothing private.
  const std::optional<std::string_view> transport = uri.param("transport");
  const bool tls = iequals_ascii(uri.scheme, "sips") || (transport && iequals_ascii(*transport, "tls"));
  Peer peer;
  if (!Peer::parse(uri.host, uri.port ? uri.port : (tls ? 5061 : 5060), tls ? TransportKind::tls : TransportKind::udp,
                   peer))
    return std::nullopt;
  return peer;
}

std::string_view Proxy::record_route_for(TransportKind caller, TransportKind callee) {
  const bool tls_in = caller == TransportKind::tls && tls_port_, tls_out = callee == TransportKind::tls && tls_port_;
  if (!tls_in && !tls_out) return record_route_;
  const std::string tls = fmt::format("<sip:{}:{};transport=tls;lr>", config_.host, tls_port_);
  // RFC 5658: where the two sides use different transports, privox records itself twice, the top
  // entry facing the callee and the bottom one the caller, so that each side's in-dialog requests
  // come over the transport it uses (a TLS phone's never in clear).
  if (tls_in && tls_out) record_route_scratch_ = tls;
  else if (tls_out) record_route_scratch_ = fmt::format("{}, {}", tls, record_route_);
  else record_route_scratch_ = fmt::format("{}, {}", record_route_, tls);
  return record_route_scratch_;
}

std::optional<Peer> Proxy::peer_for_via(const Via& via) const {
  const std::string_view host = via.param("received").value_or(via.host);
  uint16_t port = via.port ? via.port : 5060;
  if (const auto rport = via.param("rport"); rport && !rport->empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(rport->data(), rport->data() + rport->size(), value);
    if (ec == std::errc() && end == rport->data() + rport->size() && value > 0 && value < 65536)
      port = static_cast<uint16_t>(value);
  }
  Peer peer;
  if (!Peer::parse(host, port, TransportKind::udp, peer)) return std::nullopt;
  return peer;
}

void Proxy::respond(TxId tx, const Message& request, int status, std::string_view reason) {
  layer_->respond(tx, build_response(request, status, reason, "px"), status);
}

void Proxy::challenge(TxId tx, const Message& request, bool stale, const Peer& to) {
  const std::vector<std::string> values = auth_.challenges(stale, to, request, true);
  std::vector<ExtraHeader> extra;
  extra.reserve(values.size());
  for (const std::string& v : values) extra.push_back({"Proxy-Authenticate", v});
  layer_->respond_statelessly(tx, build_response(request, 407, "Proxy Authentication Required", "px", extra), 407);
}

void Proxy::on_request(TxId tx, const Message& request, const Peer& from) {
  if (request.max_forwards() == 0) return respond(tx, request, 483, "Too Many Hops");
  if (const HeaderField* required = request.first(Header::proxy_require)) {
    const ExtraHeader extra[] = {{"Unsupported", required->value}};
    return layer_->respond(tx, build_response(request, 420, "Bad Extension", "px", extra), 420);
  }
  switch (request.method()) {
    case Method::register_: return registrar_->handle(tx, request, from);
    case Method::cancel: return handle_cancel(tx, request, from);
    default: break;
  }
  if (request.method() == Method::subscribe) {
    // Message waiting is privox's own; other events are between phones, in dialogs they made.
    if (request.to().tag().empty()) return handle_subscribe(tx, request, from);
    if (handle_own_subscription(tx, request, from)) return;
  }
  if (!request.to().tag().empty()) return handle_in_dialog(tx, request, from);
  if (request.method() == Method::options && request.request_uri().user.empty()) {
    const ExtraHeader extra[] = {{"Allow", kAllow}};
    return layer_->respond(tx, build_response(request, 200, "OK", "px", extra), 200);
  }
  if (request.method() != Method::invite && request.method() != Method::message) {
    const ExtraHeader extra[] = {{"Allow", kAllow}};
    return layer_->respond(tx, build_response(request, 405, "Method Not Allowed", "px", extra), 405);
  }
  if (node_keys_ && relay_for_node(tx, request, from)) return;
  handle_initial(tx, request, from);
}

bool Proxy::deliver_to_inbox(TxId tx, const Message& request, const TrunkInfo* trunk) {
  if (!inbox_ || !trunk || !trunk->trusted || request.method() != Method::message) return false;
  std::string_view own = inbox_->own_number();
  std::string_view dialled = request.request_uri().user;
  if (!own.empty() && own.front() == '+') own.remove_prefix(1);
  if (!dialled.empty() && dialled.front() == '+') dialled.remove_prefix(1);
  if (own.empty() || dialled != own) return false;
  respond(tx, request, 200, "OK");
  inbox_->on_sms(calling_number(request), std::string(request.body().substr(0, 1300)));
  return true;
}

void Proxy::send_message(const OutboundMessage& message, std::function<void(int status)> done) {
  const TrunkInfo* trunk = directory_.outbound_trunk();
  if (!trunk || !layer_) return done(503);
  const int64_t now = clock_.now_us();
  const std::string branch = new_branch();
  const std::string& host = config_.host;  // bracketed already when IPv6
  std::string request = fmt::format("MESSAGE sip:{}@{} SIP/2.0\r\n", message.to, trunk->address.host_port());
  append_header(request, "Via", via_for(trunk->address, branch));
  append_header(request, "Max-Forwards", "70");
  append_header(request, "From", fmt::format("<sip:{}@{}>;tag={}", message.from, host, branch.substr(7, 12)));
  append_header(request, "To", fmt::format("<sip:{}@{}>", message.to, trunk->address.host_port()));
  append_header(request, "Call-ID", fmt::format("{}@{}", new_id(now), host));
  append_header(request, "CSeq", "1 MESSAGE");
  append_header(request, "Content-Type", "text/plain;charset=UTF-8");
  append_header(request, "Content-Length", std::to_string(message.body.size()));
  request += "\r\n";
  request += message.body;

  OwnMessage own{std::move(done), {}};
  if (!message.record_subject_id.empty()) {
    CallRecord& r = own.record;
    r.id = new_id(now);
    r.company_id = message.record_company_id;
    r.subject_id = message.record_subject_id;
    r.direction = Direction::outbound;
    r.kind = traffic::Kind::sms;
    r.source = message.from;
    r.destination = message.to;
    r.started_at_us = now;
    r.trunk_id = trunk->id;
  }
  const TxId client = layer_->send_request(trunk->address, std::move(request), Method::message, branch);
  own_[client] = std::move(own);
}

void Proxy::finish_own(TxId client, int status, std::string equipment) {
  const auto it = own_.find(client);
  if (it == own_.end()) return;
  OwnMessage own = std::move(it->second);
  own_.erase(it);
  if (!own.record.id.empty()) {
    own.record.ended_at_us = clock_.now_us();
    own.record.callee_equipment = std::move(equipment);
    if (status < 300) {
      own.record.answered_at_us = own.record.ended_at_us;
      own.record.outcome = Outcome::answered;
    } else {
      own.record.outcome = outcome_for(status, false, status == 408);
      if (own.record.outcome == Outcome::failed) own.record.failure_code = status;
    }
    traffic_.closed(own.record);
  }
  own.done(status);
}

std::optional<std::string> Proxy::destination_refused(std::string_view company_id, std::string_view country,
                                                      std::string_view e164, const numbers::Destination& where) const {
  if (!rates_) return std::nullopt;
  return rates_->table()->refusal(company_id, country, where.region, where.premium, e164);
}

void Proxy::handle_initial(TxId tx, const Message& request, const Peer& from) {
  // A receptionist's leg comes from this proxy itself, before anything that judges its source.
  if (receptionist_ && handle_leg(tx, request, from)) return;
  const TrunkInfo* trunk = directory_.trunk_at(from);
  if (deliver_to_inbox(tx, request, trunk)) return;
  const ExtensionInfo* caller = nullptr;
  if (!trunk || !trunk->trusted) {
    const AuthOutcome auth = auth_.authenticate(request, true, from);
    if (!auth.extension) return challenge(tx, request, auth.stale, from);
    caller = auth.extension;
    trunk = nullptr;
  }
  const int64_t now = clock_.now_us();
  const bool invite = request.method() == Method::invite;
  const std::string_view dialled = request.request_uri().user;
  // A line dialling the retrieval code hears its own box (sip/proxy_retrieval.cpp).
  const bool login = caller && invite && voicemail_ && voicemail_->boxes && dialled == kLoginCode;
  const bool retrieval = login || (caller && invite && voicemail_ && voicemail_->boxes && dialled == kRetrievalCode);
  const bool record_menu = caller && invite && voicemail_ && receptionist_ && dialled == callflow::kRecordMenuCode;
  const char feature = !(caller && invite && line_settings_) ? 0
                       : dialled == kDndOnCode                ? '+'
                       : dialled == kDndOffCode               ? '-'
                                                              : 0;

  CallRecord record;
  record.id = new_id(now);
  record.kind = invite ? traffic::Kind::voice : traffic::Kind::sms;
  record.started_at_us = now;
  record.caller_equipment = std::string(request.first_value(Header::user_agent).substr(0, 200));
  record.source_withheld = wants_privacy(request);

  const ExtensionInfo* callee = nullptr;
  const callflow::RingGroup* group = nullptr;
  const callflow::Receptionist* receptionist = nullptr;
  const callflow::ConferenceRoom* room = nullptr;
  std::vector<Target> targets;
  bool to_trunk = false;
  if (caller) {
    record.company_id = caller->company_id;
    record.subject_id = caller->id;
    record.source = caller->number;
    record.direction = Direction::internal;
    if (const auto refusal = unencrypted_refusal(*caller, request, from)) {
      record.ended_at_us = now;
      record.outcome = Outcome::failed;
      record.failure_code = refusal->first;
      traffic_.closed(record);
      return respond(tx, request, refusal->first, refusal->second);
    }
    if (fraud_ && refused_for_fraud(tx, request, *caller, record, now)) return;
    callee = dialled.empty() || retrieval || feature ? nullptr : directory_.by_number(caller->company_id, dialled);
    if (!callee && !retrieval && !feature && !dialled.empty()) group = directory_.group_by_number(caller->company_id, dialled);
    if (!callee && !group && invite && receptionist_ && !retrieval && !feature && !dialled.empty())
      receptionist = directory_.receptionist_by_number(caller->company_id, dialled);
    if (!callee && !group && !receptionist && invite && conference_ && !retrieval && !feature && !dialled.empty())
      room = room_dialled(caller->company_id, dialled);
    if (retrieval) {
      record.destination = std::string(login ? kLoginCode : kRetrievalCode);
    } else if (feature || room || record_menu) {  // a code, a room's number, *88 and a line's
      record.destination = std::string(dialled);
    } else if (callee) {
      record.destination = callee->number;
    } else if (group) {
      record.destination = group->number;
    } else if (receptionist) {
      record.destination = receptionist->number;
    } else if (auto e164 = dialled.empty() ? std::nullopt : directory_.to_e164(dialled, caller->country)) {
      record.destination = *e164;
      callee = directory_.by_did(*e164);  // another company is reached only through its DID
      if (!callee) {
        const TrunkInfo* out = directory_.outbound_trunk();
        record.direction = Direction::outbound;
        record.source = caller->did.empty() ? caller->number : caller->did;
        if (!out) {
          record.ended_at_us = now;
          record.outcome = Outcome::failed;
          record.failure_code = 503;
          traffic_.closed(record);
          return respond(tx, request, 503, "No route to the public network");
        }
        // Placed once for both checks: libphonenumber's regular expressions were the most costly
        // part of an outbound call's set-up after the store's writes.
        const numbers::Destination where = rates_ ? destinations_.of(*e164) : numbers::Destination{};
        if (auto refused = destination_refused(caller->company_id, caller->country, *e164, where)) {
          record.ended_at_us = now;
          record.outcome = Outcome::failed;
          record.failure_code = 403;
          record.trunk_id = out->id;
          traffic_.closed(record);
          return respond(tx, request, 403, fmt::format("Forbidden: {}", *refused));
        }
        if (wallet_ && rates_) {
          if (auto refused = wallet_->admit(*rates_->table(), record.id, caller->company_id, caller->country,
                                            where.region, *e164, now)) {
            record.ended_at_us = now;
            record.outcome = Outcome::failed;
            record.failure_code = refused->status;
            record.trunk_id = out->id;
            traffic_.closed(record);
            return respond(tx, request, refused->status, refused->reason);
          }
        }
        record.trunk_id = out->id;
        to_trunk = true;
        targets.push_back({out->address, fmt::format("sip:{}@{}", *e164, out->address.host_port()), std::nullopt});
      }
    } else {
      return respond(tx, request, 404, "No such extension or number");
    }
  } else {
    // Carriers send E.164 with or without the '+'.
    const std::string number = !dialled.empty() && dialled.front() == '+' ? std::string(dialled)
                                                                          : fmt::format("+{}", dialled);
    const auto e164 = directory_.to_e164(number, "");
    callee = e164 ? directory_.by_did(*e164) : nullptr;
    if (!callee && e164 && invite && receptionist_) receptionist = directory_.receptionist_by_did(*e164);
    if (!callee && !receptionist && e164 && invite && conference_) room = directory_.room_by_did(*e164);
    if (!callee && !receptionist && !room) return respond(tx, request, 404, "No such number");
    record.direction = Direction::inbound;
    record.trunk_id = trunk->id;
    // A receptionist and a conference room are subjects of their own: their calls' parties are
    // sealed under their keys.
    record.company_id = callee ? callee->company_id : receptionist ? receptionist->company_id : room->company_id;
    record.subject_id = callee ? callee->id : receptionist ? receptionist->id : room->id;
    record.source = calling_number(request);
    record.destination = *e164;
  }
  // A line with forwarding or do-not-disturb, and a ring group, go through the call features
  // (sip/proxy_callflow.cpp) once the call is set up; a plain line rings its devices.
  const bool featured = group || (callee && invite && has_features(*callee));
  if (callee && !featured) targets = targets_of(*callee, now);
  // A line with no device registered goes to its box, if voicemail can take the call.
  const bool unreachable = callee && !featured && targets.empty();
  if (unreachable && !(invite && voicemail_)) {
    record.ended_at_us = now;
    record.outcome = Outcome::failed;
    record.failure_code = 480;
    traffic_.closed(record);
    return respond(tx, request, 480, "Temporarily Unavailable");
  }

  Call& call = calls_[tx];
  call.server_tx = tx;
  call.caller = from;
  call.caller_tag = std::string(request.from().tag());
  call.invite = invite;
  call.call_id = std::string(request.call_id());
  call.request = std::string(request.bytes());
  call.record = std::move(record);
  call.hide_caller = call.record.source_withheld && !to_trunk;
  call.to_trunk = to_trunk;
  if (callee) {
    call.box_id = callee->id;
    call.box_company_id = callee->company_id;
    call.box_number = callee->number;
    call.acting_line = callee->id;
  } else if (feature) {
    call.feature = feature;
    call.acting_line = caller->id;
  } else if (group) {
    call.acting_line = caller->id;  // a colleague dialled the group: forwards out are on their line
  } else if (receptionist) {
    call.receptionist_id = receptionist->id;
  } else if (room) {
    call.room_id = room->id;
  } else if (record_menu) {
    call.menu_recording = true;
  } else if (retrieval) {
    call.retrieval = true;
    call.login = login;
    call.box_id = login ? std::string() : caller->id;
    call.box_company_id = caller->company_id;
    call.box_number = login ? std::string() : caller->number;
  }
  // The carrier learns the caller's number from P-Asserted-Identity (RFC 3325), and keeps it
  // from the callee when Privacy: id asks it to. A colleague's phone learns the caller's extension
  // the same way (the From names the calling device's login, which means nothing to a person);
  // another company's phone, reached by its DID, the caller's DID as the public network shows it,
  // never an extension of a company not its own.
  if (caller && !call.hide_caller) {  // to the trunk, a withheld caller still has its DID asserted
    const bool colleague = !to_trunk && (!callee || callee->company_id == caller->company_id);
    const std::string& shown = colleague ? caller->number : caller->did;
    if (!shown.empty()) call.asserted = fmt::format("<sip:{}@{}>", shown, strip_brackets(config_.host));
  }
  if (featured) {
    call.needs_routing = true;
    call.stage = group ? Call::Stage::group : Call::Stage::line;
    call.stage_id = group ? group->id : callee->id;
  }
  if (invite) layer_->respond(tx, build_response(request, 100, "Trying", ""), 100);
  if (invite && !featured && !feature) {
    // A line with a box rings for its ring time, then the box answers (timer C still bounds it).
    const int64_t ring = voicemail_ && callee ? std::min(voicemail_->ring_time_us, config_.ring_timeout_us)
                                              : config_.ring_timeout_us;
    call.ring_timer = timers_.schedule(now + ring, [this, tx] { ring_timeout(tx); });
  }
  if (invite && relay_ && carries_sdp(request)) {
    call.relayed = true;
    call.relay_pending = true;
    call.callee_profile = profile_for(targets);
    call.pending_targets = std::move(targets);
    // The reply may come at once (a relay known to be down), and `call` may be gone after this.
    return relay_->offer(
        relay_leg(call.call_id, request.from().tag(), {}, call.caller, request.body(), call.callee_profile),
        request.body(), [this, tx](RelayReply reply) { offered(tx, std::move(reply)); }, call.callee_profile);
  }
  if (retrieval) return answer_retrieval(call);
  if (call.feature) return apply_feature_code(call);
  if (call.needs_routing) return route(call);
  if (receptionist) return answer_receptionist(call, *receptionist);
  if (room) return answer_conference(call);
  if (record_menu) return answer_menu_recording(call);
  if (unreachable) {
    if (!answer_with_voicemail(call, Unanswered::unavailable)) refuse(call, 480, "Temporarily Unavailable");
    return;
  }
  fork(call, request, targets);
}

void Proxy::offered(TxId server, RelayReply reply) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.relay_pending = false;
  Message request;
  ParseError error;
  if (!parse_message(call.request, request, error)) return forget(server);  // parsed once already
  if (call.cancelled) {
    if (!call.in_dialog) relay_->remove(call.call_id);
    return refuse(call, 487, "Request Terminated");
  }
  if (!reply.ok()) {
    if (reply.outcome == RelayReply::Outcome::refused)
      return refuse(call, 488, "Not Acceptable Here: the media relay cannot use this SDP");
    return refuse(call, 503, "Media relay unavailable");
  }
  if (call.in_dialog) {
    const auto hop = pending_hops_.find(server);
    if (hop == pending_hops_.end()) return forget(server);
    const DialogHop where = hop->second;
    pending_hops_.erase(hop);
    return forward_in_dialog(call, request, where, reply.sdp);
  }
  const std::vector<Target> targets = std::move(call.pending_targets);
  call.relayed_offer = std::move(reply.sdp);
  if (call.retrieval) return answer_retrieval(call);
  if (call.feature) return apply_feature_code(call);
  if (call.needs_routing) return route(call);
  if (!call.receptionist_id.empty()) {
    const callflow::Receptionist* receptionist = directory_.receptionist_by_id(call.receptionist_id);
    if (!receptionist) return refuse(call, 404, "No such number");
    return answer_receptionist(call, *receptionist);
  }
  if (!call.room_id.empty()) return answer_conference(call);
  if (call.menu_recording) return answer_menu_recording(call);
  if (targets.empty()) {  // the line has no device: its box answers
    if (!answer_with_voicemail(call, Unanswered::unavailable)) refuse(call, 480, "Temporarily Unavailable");
    return;
  }
  fork_each_kind(call, request, targets);
}

void Proxy::fork_each_kind(Call& call, const Message& request, const std::vector<Target>& targets) {
  for (const Target& target : targets) {
    const MediaProfile kind = target_profile(target);
    if (kind == call.callee_profile || branch_offer(call, kind)) continue;
    call.relay_pending = true;
    call.pending_targets = targets;
    return relay_->offer(relay_leg(call.call_id, request.from().tag(), {}, call.caller, request.body(), kind),
                         request.body(),
                         [this, tx = call.server_tx, kind](RelayReply reply) { branch_offered(tx, kind, std::move(reply)); },
                         kind);
  }
  fork(call, request, targets, call.relayed_offer);
}

void Proxy::branch_offered(TxId server, MediaProfile profile, RelayReply reply) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.relay_pending = false;
  if (call.cancelled) return refuse(call, 487, "Request Terminated");
  // A relay that cannot make this kind's offer (a browser's, say) leaves those phones the primary
  // one, as when one offer went to all: they may refuse it, the others still ring.
  if (!reply.ok()) log::warn("sip", "relay.branch_offer_failed", {{"profile", log::Code(relay_branch(profile))}});
  call.branch_offers.emplace_back(profile, reply.ok() ? std::move(reply.sdp) : std::string());
  Message request;
  ParseError error;
  if (!parse_message(call.request, request, error)) return refuse(call, 500, "Server Internal Error");  // parsed once
  const std::vector<Target> targets = std::move(call.pending_targets);
  fork_each_kind(call, request, targets);
}

const std::string* Proxy::branch_offer(const Call& call, MediaProfile profile) {
  for (const auto& [kind, sdp] : call.branch_offers)
    if (kind == profile) return &sdp;
  return nullptr;
}

const std::string& Proxy::offer_sent_to(const Call& call, TxId client) {
  for (const Branch& b : call.branches) {
    if (b.tx != client || b.offered == call.callee_profile) continue;
    if (const std::string* own = branch_offer(call, b.offered); own && !own->empty()) return *own;
  }
  return call.relayed_offer;
}

std::optional<std::pair<int, std::string_view>> Proxy::unencrypted_refusal(const ExtensionInfo& caller,
                                                                          const Message& request, const Peer& from) {
  if (!caller.encryption_required) return std::nullopt;
  if (!from.private_signalling()) return std::pair<int, std::string_view>{403, kTlsRequired};
  if (request.method() == Method::invite && carries_sdp(request) && !media::audio_encrypted(request.body()))
    return std::pair<int, std::string_view>{488, "Not Acceptable Here: this company requires encrypted audio (SRTP)"};
  return std::nullopt;
}

MediaProfile Proxy::profile_for(const std::vector<Target>& targets) {
  if (targets.empty()) return MediaProfile::rtp;  // privox's own endpoint answers: plain RTP on loopback
  const auto all = [&](TransportKind a, TransportKind b) {
    return std::all_of(targets.begin(), targets.end(),
                       [&](const Target& t) { return t.peer.transport == a || t.peer.transport == b; });
  };
  if (all(TransportKind::ws, TransportKind::wss)) return MediaProfile::webrtc;
  if (all(TransportKind::tls, TransportKind::tls)) return MediaProfile::srtp;
  return MediaProfile::rtp;
}

MediaProfile Proxy::target_profile(const Target& target) {
  if (target.peer.websocket()) return MediaProfile::webrtc;
  return target.peer.transport == TransportKind::tls ? MediaProfile::srtp : MediaProfile::rtp;
}

RelayLeg Proxy::relay_leg(std::string_view call_id, std::string_view from_tag, std::string_view to_tag,
                          const Peer& sender, std::string_view sdp, MediaProfile offered) {
  RelayLeg leg{call_id, from_tag, to_tag};
  leg.branch = relay_branch(offered);
  // A browser's media is found by ICE, and a sender on this machine (loopback) is behind no NAT.
  if (sender.websocket() || (!sender.ipv6 && sender.address[0] == 127)) return leg;
  const std::optional<std::string> written = media::audio_address(sdp);
  Peer address;
  if (!written || !Peer::parse(*written, 0, TransportKind::udp, address)) return leg;
  if (!address.local_only() || address.same_host(sender)) return leg;
  relay_source_ = sender.host();
  leg.nat_source = relay_source_;
  leg.nat_source_ipv6 = sender.ipv6;
  return leg;
}

MediaProfile Proxy::answer_profile(const Call& call) {
  return call.caller.websocket() ? MediaProfile::webrtc : MediaProfile::keep;
}

void Proxy::reoffered(TxId server, RelayReply reply) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.relay_pending = false;
  if (call.cancelled) return refuse(call, 487, "Request Terminated");
  if (!reply.ok()) {
    if (reply.outcome == RelayReply::Outcome::refused)
      return refuse(call, 488, "Not Acceptable Here: the media relay cannot use this SDP");
    return refuse(call, 503, "Media relay unavailable");
  }
  call.relayed_offer = std::move(reply.sdp);
  const std::vector<Target> targets = std::move(call.pending_targets);
  ring(call, targets, call.pending_ring_us);
}

void Proxy::note_encryption(Call& call, TxId client, std::string_view caller_sdp, std::string_view callee_sdp) {
  if (call.record.answered_at_us != 0) return;
  bool callee_tls = false;
  for (const Branch& b : call.branches)
    if (b.tx == client) callee_tls = b.tls;
  call.record.caller_encrypted = call.caller.keeps_media_keys() && media::audio_encrypted(caller_sdp);
  call.record.callee_encrypted = callee_tls && media::audio_encrypted(callee_sdp);
  if (call.leg) {  // an external forward's leg: the same caller, the same carrier
    call.leg->caller_encrypted = call.record.caller_encrypted;
    call.leg->callee_encrypted = call.record.callee_encrypted;
  }
}

void Proxy::refuse(Call& call, int status, std::string_view reason) {
  if (call.voicemail_session) {
    voicemail_->endpoint->discard(call.voicemail_session);
    voicemail_sessions_.erase(call.voicemail_session);
    own_dialogs_.erase(call.call_id);
    call.voicemail_session = 0;
  }
  Message request;
  ParseError error;
  if (!call.final_sent && parse_message(call.request, request, error)) respond(call.server_tx, request, status, reason);
  call.final_sent = true;
  for (const Branch& b : call.branches)
    if (b.status == 0) layer_->cancel(b.tx);
  if (!call.record.id.empty() && call.record.answered_at_us == 0) {
    call.record.ended_at_us = clock_.now_us();
    call.record.outcome = outcome_for(status, call.cancelled, false);
    if (call.record.outcome == Outcome::failed) call.record.failure_code = status;
    traffic_.closed(call.record);
  }
  close_leg(call, status);
  forget(call.server_tx);
}

void Proxy::fork(Call& call, const Message& request, const std::vector<Target>& targets,
                 std::optional<std::string_view> body) {
  bool pop_route = false;
  request.for_each(Header::route, [&](std::string_view value) {
    const auto route = parse_name_addr(value);
    pop_route = route && names_us(route->uri);
    return false;  // only the first Route value can name us
  });
  const Header identity_headers[] = {Header::p_asserted_identity, Header::p_preferred_identity, Header::proxy_authorization};
  std::string anonymous_from;
  if (call.hide_caller) {
    anonymous_from = std::string(kAnonymousFrom);
    if (const std::string_view tag = request.from().tag(); !tag.empty()) anonymous_from += fmt::format(";tag={}", tag);
  }
  const ExtraHeader trunk_extra[] = {{"P-Asserted-Identity", call.asserted}};

  for (const Target& target : targets) {
    // A relayed call's phones each get the offer made for their kind (fork_each_kind).
    MediaProfile offered = call.relayed && body ? call.callee_profile : MediaProfile::keep;
    std::optional<std::string_view> offer = body;
    if (const MediaProfile kind = target_profile(target); offered != MediaProfile::keep && kind != offered) {
      if (const std::string* own = branch_offer(call, kind); own && !own->empty()) {
        offered = kind;
        offer = *own;
      }
    }
    // A phone whose flow another node holds is reached through that node, which relays the request.
    const Peer& hop = target.through ? *target.through : target.peer;
    const std::string branch = new_branch();
    const std::string via = via_for(hop, branch);
    const std::string node = target.through ? node_route(hop, call.call_id, target.request_uri) : std::string();
    ForwardEdits edits;
    edits.request_uri = target.request_uri;
    edits.via = via;
    edits.record_route = call.invite ? record_route_for(call.caller.transport, hop.transport) : std::string_view{};
    edits.route = node;
    edits.pop_route = pop_route;
    edits.from = anonymous_from;
    edits.remove = identity_headers;
    if (!call.asserted.empty()) edits.extra = trunk_extra;
    edits.body = offer;
    const TxId client = layer_->send_request(hop, build_forward(request, edits), request.method(), branch);
    branch_of_[client] = call.server_tx;
    // Nodes speak to each other in clear: a key in the offer is not private past this one.
    const bool private_media = target.peer.keeps_media_keys() && !target.through;
    call.branches.push_back({client, 0, private_media, target.peer, offered, target.through});
  }
}

Proxy::DialogHop Proxy::next_hop(const Message& request) const {
  // Our Route entry comes first (we record-routed the dialog); the next one, or else the
  // Request-URI, is where the request goes.
  DialogHop hop;
  std::optional<NameAddr> next;
  int index = 0;
  request.for_each(Header::route, [&](std::string_view value) {
    auto route = parse_name_addr(value);
    if (!route) return false;
    // Our entry comes first; a second one of ours follows where we recorded the route twice.
    const int at = index++;
    if (at == 0 && names_us(route->uri)) {
      hop.pop_route = true;
      return true;
    }
    if (at == 1 && hop.pop_route && names_us(route->uri)) {
      hop.pop_second_route = true;
      return true;
    }
    next = route;
    return false;
  });
  if (next) hop.target = peer_for_uri(next->uri);
  else if (names_us(request.request_uri())) hop.target = std::nullopt;  // for us, and we hold no dialog state
  else if (const Peer* contact = registrar_->peer_for_contact(request.request_uri_text())) hop.target = *contact;
  else {
    hop.target = peer_for_uri(request.request_uri());
    // A Contact written behind NAT (a private address) or by a browser (".invalid"): the request
    // goes back over the flow that side's messages came from, never into a private network. So
    // does one that asks for TCP when that side is on a connection: a TCP phone's Contact names
    // where it listens, not the connection's far end, and the flow reaches it (Server::send opens
    // a new connection to a phone that listens when the old one has closed).
    const bool unreachable = !hop.target || beyond_reach(*hop.target);
    const std::optional<std::string_view> transport = request.request_uri().param("transport");
    const bool asks_tcp = transport && iequals_ascii(*transport, "tcp");
    if (unreachable || asks_tcp) {
      const Peer* flow = dialog_flow(request);
      if (flow && (unreachable || flow->reliable())) hop.target = *flow;
      else if (unreachable) hop.target = std::nullopt;
    }
  }
  return hop;
}

bool Proxy::beyond_reach(const Peer& peer) {
  return peer.local_only() && !(!peer.ipv6 && peer.address[0] == 127);  // loopback is this machine
}

const std::string* Proxy::carrier_trunk(const Message& request, const Dialog& d) {
  const bool trunk_call = !d.record.trunk_id.empty();
  if (request.from().tag() == d.caller_tag)
    return trunk_call && d.record.direction == Direction::inbound ? &d.record.trunk_id : nullptr;
  if (d.leg) return &d.leg->trunk_id;  // an external forward: the carrier answered
  return trunk_call && d.record.direction == Direction::outbound ? &d.record.trunk_id : nullptr;
}

const Peer* Proxy::dialog_flow(const Message& request) const {
  const auto it = dialogs_.find(std::string(request.call_id()));
  if (it == dialogs_.end()) {
    // A dialog relayed for another node: its requests to the phone go over the phone's flow (those
    // from the phone go on along their Route to the node that took the call).
    const auto relayed = node_flows_.find(std::string(request.call_id()));
    return relayed == node_flows_.end() ? nullptr : &relayed->second.phone;
  }
  const Dialog& d = it->second;
  const Peer& flow = request.from().tag() == d.caller_tag ? d.callee_flow : d.caller_flow;
  return flow.port == 0 ? nullptr : &flow;
}

void Proxy::handle_in_dialog(TxId tx, const Message& request, const Peer& from) {
  if (handle_own_in_dialog(tx, request)) return;
  if (!legs_.empty() && handle_joined_in_dialog(tx, request)) return;
  // One look-up serves the transfer checks and the relaying below.
  const auto dialog = dialogs_.find(std::string(request.call_id()));
  if (dialog != dialogs_.end()) {
    if (dialog->second.transfer) return handle_taken_over(tx, request, dialog->second);
    if (request.method() == Method::refer)
      if (const std::string* trunk = carrier_trunk(request, dialog->second)) {
        // A carrier's REFER would have the office's phone call whatever number the far end names,
        // on the office's account and rated as the line's own call out: a toll-fraud path (RFC
        // 5589 §11) no office asked for. The office transfers a carrier's party, not the reverse.
        log::info("sip", "transfer.refused_from_carrier", {{"trunk", log::Id(*trunk)}});
        return respond(tx, request, 403, "Transfers requested by the carrier are not accepted");
      }
    if (request.method() == Method::refer && !dialog->second.carrier_tag.empty() &&
        take_transfer(tx, request, from, dialog->second))
      return;
  }
  const DialogHop hop = next_hop(request);
  if (!hop.target) return respond(tx, request, 404, "Cannot reach the dialog's target");
  if (request.method() == Method::bye && dialog == dialogs_.end()) node_flows_.erase(std::string(request.call_id()));
  const bool relayed = dialog != dialogs_.end() && dialog->second.relayed && relay_;
  if (request.method() == Method::bye && dialog != dialogs_.end()) {
    CallRecord record = std::move(dialog->second.record);
    std::optional<CallRecord> leg = std::move(dialog->second.leg);
    dialogs_.erase(dialog);
    record.ended_at_us = clock_.now_us();
    record.outcome = Outcome::answered;
    record.end_reason = "bye";
    if (leg) {  // an external forward's leg ends with the call
      leg->ended_at_us = record.ended_at_us;
      leg->outcome = Outcome::answered;
      leg->end_reason = "bye";
      traffic_.closed(*leg);
    }
    traffic_.closed(record);
    if (relayed) relay_->remove(request.call_id());
  }
  if (request.method() == Method::invite) layer_->respond(tx, build_response(request, 100, "Trying", ""), 100);
  Call& call = calls_[tx];
  call.server_tx = tx;
  call.caller = from;
  call.invite = false;  // in-dialog: no ring timer, no record of its own
  call.in_dialog = true;
  call.call_id = std::string(request.call_id());
  call.request = std::string(request.bytes());
  if (relayed && request.method() == Method::invite && carries_sdp(request)) {
    // A re-INVITE (hold, a codec change) offers anew: the relay rewrites it as it did the first.
    call.relayed = true;
    call.relay_pending = true;
    call.hold_change = media::is_hold(request.body()) ? 1 : -1;
    call.held_tag = std::string(request.to().tag());
    pending_hops_[tx] = hop;
    // A browser's side needs its ICE again in the new offer; any other keeps what it has.
    return relay_->offer(relay_leg(call.call_id, request.from().tag(), request.to().tag(), from, request.body()),
                         request.body(), [this, tx](RelayReply reply) { offered(tx, std::move(reply)); },
                         hop.target && hop.target->websocket() ? MediaProfile::webrtc : MediaProfile::keep);
  }
  forward_in_dialog(call, request, hop);
}

void Proxy::forward_in_dialog(Call& call, const Message& request, const DialogHop& hop,
                              std::optional<std::string_view> body, std::string_view record_route) {
  const std::string branch = new_branch();
  const std::string via = via_for(*hop.target, branch);
  ForwardEdits edits;
  edits.via = via;
  edits.record_route = record_route;
  edits.pop_route = hop.pop_route;
  edits.pop_second_route = hop.pop_second_route;
  edits.body = body;
  const TxId client = layer_->send_request(*hop.target, build_forward(request, edits), request.method(), branch);
  call.branches.push_back({client, 0, hop.target->keeps_media_keys(), *hop.target, MediaProfile::keep, std::nullopt});
  branch_of_[client] = call.server_tx;
}

void Proxy::handle_cancel(TxId tx, const Message& request, const Peer& from) {
  const TxId invite = layer_->find_invite_for(request, from);
  if (!invite) return respond(tx, request, 481, "Call/Transaction Does Not Exist");
  respond(tx, request, 200, "OK");
  const auto it = calls_.find(invite);
  if (it == calls_.end() || it->second.final_sent) return;
  it->second.cancelled = true;
  for (const Branch& b : it->second.branches)
    if (b.status == 0) layer_->cancel(b.tx);
}

void Proxy::on_ack(const Message& ack, const Peer&) {
  // The ACK for a 2xx follows the route set like any in-dialog request, but statelessly.
  const DialogHop hop = next_hop(ack);
  if (!hop.target) return;
  const std::optional<Peer>& target = hop.target;
  const bool pop_route = hop.pop_route;
  // A stateless branch must be the same for every retransmission of this ACK (§16.11).
  uint8_t hash[8];
  const std::string_view incoming = ack.top_via().branch();
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const uint8_t*>(incoming.data()), incoming.size(), nullptr, 0);
  const std::string branch = fmt::format("z9hG4bKa{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", hash[0], hash[1],
                                         hash[2], hash[3], hash[4], hash[5], hash[6], hash[7]);
  const std::string via = via_for(*target, branch);
  ForwardEdits edits;
  edits.via = via;
  edits.pop_route = pop_route;
  edits.pop_second_route = hop.pop_second_route;
  sender_.send(*target, build_forward(ack, edits));
}

void Proxy::on_response(TxId client, const Message& response) {
  if (notifies_.count(client)) {
    if (response.status() >= 200) notify_answered(client, response.status());
    return;
  }
  if (own_.count(client)) {
    if (response.status() >= 200) finish_own(client, response.status(), answering_equipment(response));
    return;
  }
  if (const auto leg = leg_invites_.find(client); leg != leg_invites_.end()) {
    const uint64_t session = leg->second;
    if (response.status() < 200) return;
    leg_invites_.erase(leg);
    if (response.status() < 300) return leg_answered(session, response);
    return leg_failed(session, response.status());
  }
  const auto owner = branch_of_.find(client);
  if (owner == branch_of_.end()) {
    if (response.status() >= 200 && response.status() < 300) on_stray_response(response, Peer{});
    return;
  }
  const auto it = calls_.find(owner->second);
  if (it == calls_.end()) return;
  Call& call = it->second;
  const int status = response.status();
  size_t index = 0;
  while (index < call.branches.size() && call.branches[index].tx != client) ++index;
  if (index == call.branches.size()) return;
  if (status >= 180 && call.invite && !call.dial_answered && !call.record.id.empty()) {
    call.dial_answered = true;
    const int64_t delay = std::max<int64_t>(0, clock_.now_us() - call.record.started_at_us);
    size_t bucket = 0;
    while (bucket < DelayHistogram::kBoundsUs.size() && delay > DelayHistogram::kBoundsUs[bucket]) ++bucket;
    ++post_dial_delay_.calls[bucket];
    post_dial_delay_.sum_us += delay;
  }

  // Once the box answers, the phones' late answers are not passed on (they were cancelled).
  if (call.voicemail_session && status < 300) return;
  if (status < 200) {
    if (status <= 100 || call.final_sent) return;
    if (call.relayed && carries_sdp(response)) {
      // Early media (a carrier's ringback, say) goes through the relay like the call's.
      return relay_->answer(relay_leg(call.call_id, response.from().tag(), response.to().tag(), call.branches[index].peer,
                                      response.body(), call.branches[index].offered),
                            response.body(),
                            [this, server = call.server_tx, raw = std::string(response.bytes())](RelayReply reply) {
                              early_media_relayed(server, raw, std::move(reply));
                            },
                            answer_profile(call));
    }
    layer_->respond(call.server_tx, build_response_forward(response), status);
    return;
  }
  if (status >= 300) return on_final(call, index, status, build_response_forward(response));

  // Every 2xx goes upstream (§16.7 step 5); the first ends the race.
  const bool first_answer = call.branches[index].status == 0;
  call.branches[index].status = status;
  // While the answer is held, a 2xx from another branch or a retransmission is not passed on: its
  // sender repeats it until it is ACKed (§13.3.1.4), and the copies after the release go through.
  if (call.answer_held || call.relay_pending) return;
  if (call.relayed && first_answer && call.relayed_answer.empty() && carries_sdp(response)) {
    call.relay_pending = true;
    return relay_->answer(relay_leg(call.call_id, response.from().tag(), response.to().tag(), call.branches[index].peer,
                                    response.body(), call.branches[index].offered),
                          response.body(),
                          [this, server = call.server_tx, client, raw = std::string(response.bytes()),
                           equipment = answering_equipment(response)](RelayReply reply) mutable {
                            answered_by_relay(server, client, true, raw, std::move(equipment), std::move(reply));
                          },
                          answer_profile(call));
  }
  if (first_answer && !call.relayed) note_encryption(call, client, response.body(), response.body());
  // A retransmission (or another branch's 2xx) carries the SDP the caller already has from us.
  accept_answer(call, client, status, first_answer,
                call.relayed_answer.empty() ? build_response_forward(response)
                                            : build_response_forward(response, call.relayed_answer),
                answering_equipment(response));
}

void Proxy::early_media_relayed(TxId server, const std::string& raw, RelayReply reply) {
  const auto it = calls_.find(server);
  if (it == calls_.end() || it->second.final_sent || !reply.ok()) return;  // an 18x is not repeated: no loss
  Message response;
  ParseError error;
  if (!parse_message(raw, response, error)) return;
  layer_->respond(server, build_response_forward(response, reply.sdp), response.status());
}

void Proxy::answered_by_relay(TxId server, TxId client, bool first_answer, const std::string& raw,
                              std::string equipment, RelayReply reply) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.relay_pending = false;
  Message response;
  ParseError error;
  if (!reply.ok() || !parse_message(raw, response, error)) {
    // The callee answered but the relay cannot carry the media: the caller is refused, as when the
    // record cannot be made durable; the callee, whose 2xx is never ACKed, ends its side with a BYE.
    if (!call.in_dialog) relay_->remove(call.call_id);
    return refuse(call, reply.outcome == RelayReply::Outcome::refused ? 488 : 503, "Media relay unavailable");
  }
  call.relayed_answer = std::move(reply.sdp);
  if (first_answer) note_encryption(call, client, call.relayed_answer, response.body());
  if (call.to_trunk && !call.in_dialog) {
    // What a transfer of the carrier's party needs (sip/proxy_transfer.cpp), for calls out only.
    call.carrier_sdp = std::string(response.body());
    call.carrier_tag = std::string(response.to().tag());
  }
  accept_answer(call, client, response.status(), first_answer, build_response_forward(response, call.relayed_answer),
                std::move(equipment));
}

void Proxy::accept_answer(Call& call, TxId client, int status, bool first_answer, std::string forwarded,
                          std::string equipment) {
  const bool answers_call = first_answer && !call.record.id.empty() && call.record.answered_at_us == 0;
  if (answers_call) {
    call.record.answered_at_us = clock_.now_us();
    call.record.callee_equipment = std::move(equipment);
    timers_.cancel(call.ring_timer);
    call.ring_timer = 0;
    for (const Branch& b : call.branches)
      if (b.tx != client && b.status == 0) layer_->cancel(b.tx);
  }
  if (answers_call && call.invite) {
    // R1: the caller hears the call is answered only once its record is durable, so that a crash
    // at any moment loses no call a caller was connected on. The answer waits in the call (moved,
    // not copied) and the callback carries two words, which std::function keeps without allocating.
    call.held_statelessly = call.final_sent;  // a 2xx after a final response goes straight to the caller
    call.final_sent = true;
    call.answer_held = true;
    call.held_status = status;
    call.held_answer = std::move(forwarded);
    Dialog& dialog = dialogs_[call.call_id] =
        Dialog{call.record, call.relayed, call.relayed_answer, {}, {}, {}, {}, 0, {}, call.caller, {}, call.caller_tag};
    for (const Branch& b : call.branches)
      if (b.tx == client) dialog.callee_flow = b.through ? *b.through : b.peer;
    if (call.relayed && !call.record.trunk_id.empty() && call.record.direction == Direction::inbound) {
      // What a transfer of the carrier's party needs (sip/proxy_transfer.cpp), for trunk calls only.
      dialog.phone_offer = offer_sent_to(call, client);
      Message invite;
      ParseError error;
      if (parse_message(call.request, invite, error)) dialog.carrier_tag = std::string(invite.from().tag());
    } else if (call.relayed && !call.carrier_sdp.empty() && call.record.direction == Direction::outbound) {
      dialog.phone_offer = call.relayed_answer;  // what the phone got: the relay's side of the answer
      dialog.carrier_tag = std::move(call.carrier_tag);
      dialog.carrier_sdp = std::move(call.carrier_sdp);
    }
    if (call.leg) {
      // The forward's outbound leg is answered with the call; it rides in the same writer batch
      // as the call's own record, which is the one the caller's 2xx waits for.
      call.leg->answered_at_us = call.record.answered_at_us;
      call.leg->callee_equipment = call.record.callee_equipment;
      dialogs_[call.call_id].leg = call.leg;
      traffic_.opened(*call.leg, [](const Status&) {});
      call.leg.reset();
    }
    traffic_.opened(call.record, [this, server = call.server_tx](const Status& durable) {
      release_answer(server, durable);
    });
    return;  // `call` may be gone: opened() can report at once
  }
  if (answers_call) {
    call.record.ended_at_us = call.record.answered_at_us;
    call.record.outcome = Outcome::answered;
    traffic_.closed(call.record);
  }
  if (call.in_dialog && call.relayed && first_answer) {
    // A re-INVITE's answer replaces the call's: its retransmissions carry the new one.
    if (const auto dialog = dialogs_.find(call.call_id); dialog != dialogs_.end()) {
      dialog->second.relayed_answer = call.relayed_answer;
      music_on_hold(call, dialog->second);
    }
  }
  if (!call.final_sent) {
    layer_->respond(call.server_tx, std::move(forwarded), status);
    call.final_sent = true;
  } else {
    sender_.send(call.caller, forwarded);  // a 2xx from another branch, or a retransmission
  }
  forget_if_done(call);
}

void Proxy::release_answer(TxId server, const Status& durable) {
  const auto it = calls_.find(server);
  if (it == calls_.end() || !it->second.answer_held) return;
  Call& call = it->second;
  call.answer_held = false;
  if (durable.ok()) {
    if (call.held_statelessly) sender_.send(call.caller, call.held_answer);
    else layer_->respond(server, std::move(call.held_answer), call.held_status);
  } else {
    // No record, no call (R1): the caller is refused. The callee, whose 2xx is never ACKed, ends
    // its side with a BYE after 64*T1 (RFC 3261 §13.3.1.4).
    if (const auto dialog = dialogs_.find(call.call_id); dialog != dialogs_.end() && dialog->second.leg) {
      CallRecord& leg = *dialog->second.leg;
      leg.ended_at_us = clock_.now_us();
      leg.outcome = Outcome::failed;
      leg.failure_code = 500;
      leg.end_reason = "not_recorded";
      traffic_.closed(leg);
    }
    dialogs_.erase(call.call_id);
    if (call.voicemail_session) {
      voicemail_->endpoint->discard(call.voicemail_session);
      voicemail_sessions_.erase(call.voicemail_session);
      own_dialogs_.erase(call.call_id);
      call.voicemail_session = 0;
    }
    call.held_answer.clear();
    if (call.relayed) relay_->remove(call.call_id);
    Message request;
    ParseError error;
    if (parse_message(call.request, request, error)) {
      const ErrorCode code = durable.error().code;
      layer_->respond(server, build_not_durable(request, code, "Call could not be recorded", "px"),
                      not_durable_status(code));
    }
  }
  forget_if_done(call);
}

void Proxy::forget_if_done(Call& call) {
  for (const Branch& b : call.branches)
    if (b.status == 0) return;
  forget(call.server_tx);
}

void Proxy::on_final(Call& call, size_t branch, int status, std::string forwarded) {
  call.branches[branch].status = status;
  if (call.best_status == 0 || preference(status) < preference(call.best_status)) {
    call.best_status = status;
    call.best_response = std::move(forwarded);
  }
  if (status >= 600)
    for (const Branch& b : call.branches)
      if (b.status == 0) layer_->cancel(b.tx);
  for (const Branch& b : call.branches)
    if (b.status == 0) return;
  finish(call);
}

void Proxy::finish(Call& call) {
  // Answered: release_answer() sends the 2xx and forgets the call (after the relay's answer, if any).
  if (call.answer_held || call.relay_pending || call.voicemail_pending) return;
  if (call.node_relay) node_flows_.erase(call.call_id);  // its one branch failed: no dialog
  // A featured call takes its next step (a forward, the group's next member) instead of ending.
  if (call.stage != Call::Stage::direct && !call.final_sent && !call.cancelled && advance(call)) return;
  const TxId server = call.server_tx;
  int status = call.best_status;
  // Busy everywhere, or nobody answered in the line's ring time: the box takes the call.
  if (!call.final_sent && !call.cancelled && !call.box_id.empty()) {
    const bool busy = status == 486 || status == 600;
    const bool unanswered = call.timed_out || status == 408 || status == 480;
    if ((busy || unanswered) && answer_with_voicemail(call, busy ? Unanswered::busy : Unanswered::no_answer)) return;
  }
  if (!call.final_sent) {
    if (call.timed_out && !call.cancelled && status == 487) {
      // We gave up ringing (timer C): the caller hears a timeout, not a cancellation it never sent.
      Message request;
      ParseError error;
      status = 408;
      if (parse_message(call.request, request, error)) respond(server, request, 408, "Request Timeout");
    } else {
      layer_->respond(server, call.best_response, status);
    }
    call.final_sent = true;
  }
  if (!call.record.id.empty() && call.record.answered_at_us == 0) {
    call.record.ended_at_us = clock_.now_us();
    call.record.outcome = outcome_for(status, call.cancelled, call.timed_out);
    if (call.record.outcome == Outcome::failed) call.record.failure_code = status;
    traffic_.closed(call.record);
    if (call.relayed) relay_->remove(call.call_id);  // never answered: nothing to relay
  }
  close_leg(call, status);
  forget(server);
}

void Proxy::on_timeout(TxId client) {
  if (notifies_.count(client)) return notify_answered(client, 408);
  if (own_.count(client)) return finish_own(client, 408);
  if (const auto leg = leg_invites_.find(client); leg != leg_invites_.end()) {
    const uint64_t session = leg->second;
    leg_invites_.erase(leg);
    return leg_failed(session, 408);
  }
  const auto owner = branch_of_.find(client);
  if (owner == branch_of_.end()) return;
  const auto it = calls_.find(owner->second);
  if (it == calls_.end()) return;
  Call& call = it->second;
  for (size_t i = 0; i < call.branches.size(); ++i) {
    if (call.branches[i].tx != client || call.branches[i].status != 0) continue;
    Message request;
    ParseError error;
    std::string timeout;
    if (parse_message(call.request, request, error)) timeout = build_response(request, 408, "Request Timeout", "px");
    return on_final(call, i, 408, std::move(timeout));
  }
}

void Proxy::ring_timeout(TxId server) {
  const auto it = calls_.find(server);
  if (it == calls_.end() || it->second.final_sent) return;
  it->second.ring_timer = 0;
  it->second.timed_out = true;
  for (const Branch& b : it->second.branches)
    if (b.status == 0) layer_->cancel(b.tx);
}

void Proxy::forget(TxId server) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  timers_.cancel(it->second.ring_timer);
  for (const Branch& b : it->second.branches) branch_of_.erase(b.tx);
  pending_hops_.erase(server);
  calls_.erase(it);
}

void Proxy::on_stray_response(const Message& response, const Peer&) {
  // A response whose transaction is gone (a late 2xx retransmission): if we added its top Via,
  // pass it on statelessly to the next one (§16.7, RFC 6026).
  const Via& top = response.top_via();
  if (top.host != strip_brackets(config_.host) || (top.port ? top.port : 5060) != config_.port) return;
  if (response.method() == Method::invite && !legs_.empty()) {
    // A receptionist's leg: its answerer repeats the 2xx until privox's ACK arrives.
    if (const auto leg = legs_.find(std::string(response.call_id())); leg != legs_.end()) {
      if (const auto r = receptions_.find(leg->second); r != receptions_.end()) send_leg_request(r->second, "ACK");
      return;
    }
  }
  // R1: an INVITE's 2xx tells the caller it is connected, so it passes only for a dialog whose
  // record this process made durable. After a crash and restart the callee still repeats the 2xx
  // it sent while its answer was held for the record; that record was lost with the crash, and the
  // call never was answered as far as privox knows. The callee gives up after 64*T1 and ends its
  // side with a BYE (RFC 3261 §13.3.1.4).
  const auto dialog = dialogs_.find(std::string(response.call_id()));
  if (response.method() == Method::invite && dialog == dialogs_.end()) return;
  std::optional<Via> second;
  int index = 0;
  response.for_each(Header::via, [&](std::string_view value) {
    if (index++ == 1) {
      second = parse_via(value);
      return false;
    }
    return true;
  });
  if (!second) return;
  const auto peer = peer_for_via(*second);
  if (!peer) return;
  // A relayed call's answer is repeated with the SDP the caller already has from us.
  if (response.method() == Method::invite && !dialog->second.relayed_answer.empty())
    return sender_.send(*peer, build_response_forward(response, dialog->second.relayed_answer));
  sender_.send(*peer, build_response_forward(response));
}

}  // namespace privox::sip
