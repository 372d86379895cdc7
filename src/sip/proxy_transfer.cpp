// Transfer of a carrier's party (issue 15), whether the carrier called the phone or the phone
// called out. Between phones, privox passes REFER along the dialog
// and the transferee calls the target itself. A carrier refuses REFER, so when a phone transfers a
// call that came in through the trunk, privox carries the transfer out itself, with the joint the
// receptionist uses (sip/proxy_receptionist.cpp):
//   - privox answers the phone's REFER 202 and from then on holds the phone's side of the carrier's
//     dialog: it sends as the phone (its tags, its route set and the carrier's target, all as the
//     REFER named them), answers what the carrier sends, and answers the phone's own BYE;
//   - the carrier's party hears music while privox sends a leg to the target (a line or a group of
//     the transferor's company, by the Refer-To's number, or a public number through the trunk as
//     the transferor's own call out), routed by the proxy like any call;
//   - when the leg is answered, rtpengine is told the answer under the phone's tag with port
//     latching, so the carrier's media moves to the target with no re-INVITE towards the carrier;
//     the phone, if it stayed, is told by NOTIFY (message/sipfrag, RFC 3515) how it went;
//   - a BYE from either side ends the other; the carrier's record stays open until the carrier's
//     dialog ends (the carrier bills it to its end) and ends "transferred"; the leg has its own.
// Blind and attended transfers (the Refer-To naming the consultation call to replace, which the
// leg carries to the target, RFC 3891) of a carrier's call to a phone are carried out this way; the
// phone's REFER in any other call goes along the dialog as before.

#include <fmt/format.h>

#include "common/ascii.h"
#include "common/ids.h"
#include "common/log.h"
#include "media/sdp.h"
#include "sip/builder.h"
#include "sip/proxy.h"
#include "sip/rtpengine.h"

namespace privox::sip {

namespace {

// The Refer-To header's value (compact form "r"), or empty.
std::string_view refer_to(const Message& request) {
  for (const HeaderField& h : request.headers())
    if (iequals_ascii(h.name, "Refer-To") || iequals_ascii(h.name, "r")) return h.value;
  return {};
}

constexpr uint64_t kTransferKeyBit = uint64_t{1} << 63;

}  // namespace

callflow::MenuAction Proxy::outside_transfer_target(const ExtensionInfo& transferor, const std::string& e164) const {
  // One of the company's own DIDs is its line, reached without the trunk. Any other number is the
  // transferor's own call out through the trunk: rated, judged by the company's destination rules,
  // wallet and fraud rules, the line's DID asserted, an outbound record of the line's.
  if (const ExtensionInfo* line = directory_.by_did(e164); line && line->company_id == transferor.company_id)
    return {callflow::MenuActionKind::line, line->id};
  return {callflow::MenuActionKind::external, e164};
}

bool Proxy::take_transfer(TxId tx, const Message& request, const Peer& from, Dialog& dialog) {
  // Only the phone's REFER (not the carrier's tag) in a relayed call privox can hand on.
  if (!relay_ || !receptionist_ || dialog.phone_offer.empty() || request.from().tag() == dialog.carrier_tag)
    return false;
  const ExtensionInfo* transferor = directory_.by_id(dialog.record.subject_id);
  const auto target_uri = parse_name_addr(refer_to(request));
  if (!transferor || !target_uri || target_uri->uri.user.empty()) return false;
  if (target_uri->uri.param("method")) return false;  // a REFER for something else than INVITE
  // An attended transfer names the consultation call the target is to replace (RFC 3891): the
  // leg carries it, and the target's phone swaps that call for the carrier's party.
  const std::optional<std::string> replaces = uri_header(target_uri->uri.headers, "Replaces");
  if (!replaces) {
    respond(tx, request, 400, "Bad Request: the Refer-To's Replaces cannot be read");
    return true;
  }
  const std::string number(target_uri->uri.user);
  callflow::MenuAction target;
  if (const ExtensionInfo* line = directory_.by_number(transferor->company_id, number))
    target = {callflow::MenuActionKind::line, line->id};
  else if (const callflow::RingGroup* group = directory_.group_by_number(transferor->company_id, number))
    target = {callflow::MenuActionKind::group, group->id};
  else if (const auto e164 = directory_.to_e164(number, transferor->country))
    target = outside_transfer_target(*transferor, *e164);
  else {
    respond(tx, request, 404, "Not Found: no line, group or public number is the transfer target");
    return true;
  }

  const uint64_t key = kTransferKeyBit | ++transfer_counter_;
  Reception r;
  auto plan = std::make_shared<ReceptionPlan>();
  plan->company_id = transferor->company_id;
  plan->country = transferor->country;
  r.plan = std::move(plan);
  r.transfer = true;
  r.transferor_here = true;
  r.transferor = from;
  r.call_id = std::string(request.call_id());
  r.caller_tag = dialog.carrier_tag;  // the party that stays
  r.own_tag = std::string(request.from().tag());  // the side privox replaces
  const bool called_out = dialog.record.direction == traffic::Direction::outbound;
  r.replaced_side_offered = called_out;
  r.carrier_sdp = dialog.carrier_sdp;
  // The leg is the carrier's party calling the target: for a call the phone made, the number it
  // called.
  r.source = called_out ? dialog.record.destination : dialog.record.source;
  r.withheld = dialog.record.source_withheld;
  r.direction = traffic::Direction::inbound;
  r.trunk_id = dialog.record.trunk_id;
  r.owner_id = transferor->id;
  r.owner_did = transferor->did;
  r.offer = dialog.phone_offer;
  r.replaces = *replaces;
  // The phone's side of the dialog, as its REFER names it: privox sends as the phone from now on.
  r.transferor_contact = std::string(parse_name_addr(request.first_value(Header::contact))
                                         ? parse_name_addr(request.first_value(Header::contact))->uri_text
                                         : std::string_view(request.from().uri_text));
  r.as_transferor_from = std::string(request.first_value(Header::from));
  r.as_transferor_to = std::string(request.first_value(Header::to));
  r.carrier_target = std::string(request.request_uri_text());
  int index = 0;
  request.for_each(Header::route, [&](std::string_view value) {
    const auto route = parse_name_addr(value);
    if (index++ == 0 && route && names_us(route->uri)) return true;  // privox's own entry
    if (!r.carrier_next && route) r.carrier_next = peer_for_uri(route->uri);
    append_header(r.carrier_route, "Route", value);
    return true;
  });
  if (r.carrier_route.empty()) r.carrier_next = peer_for_uri(request.request_uri());
  r.carrier_cseq = request.cseq().number;
  respond(tx, request, 202, "Accepted");
  dialog.transfer = key;
  Reception& held = receptions_[key] = std::move(r);
  notify_transferor(held, "SIP/2.0 100 Trying", false);
  if (const std::string& music = music_for(held.plan->company_id); !music.empty())
    relay_->play_media(held.call_id, held.caller_tag, music);
  log::info("sip", "transfer.taken", {{"line", log::Id(transferor->id)}});
  send_leg(key, held, target);
  return true;
}

void Proxy::handle_taken_over(TxId tx, const Message& request, Dialog& dialog) {
  const uint64_t key = dialog.transfer;
  const auto it = receptions_.find(key);
  const bool from_carrier = request.from().tag() == dialog.carrier_tag;
  if (it == receptions_.end()) return respond(tx, request, 481, "Call/Transaction Does Not Exist");
  Reception& r = it->second;
  if (!from_carrier) {
    // The transferor: its BYE (a blind transfer's last step) ends only its own part.
    if (request.method() == Method::bye) r.transferor_here = false;
    return respond(tx, request, 200, "OK");
  }
  switch (request.method()) {
    case Method::bye: {
      respond(tx, request, 200, "OK");
      const std::string call_id = r.call_id;
      close_dialog_record(call_id, "transferred");  // `dialog` is gone after this
      relay_->remove(call_id);
      end_reception(key, true);  // the leg is cancelled or ended
      return;
    }
    case Method::invite: {
      // A session refresh or hold from the carrier: privox's answer stands, in the direction that
      // answers the offer's; the target hears music while the carrier holds.
      const std::string& music = music_for(r.plan->company_id);
      if (r.mode == Reception::Mode::connected && !music.empty()) {
        if (media::is_hold(request.body())) relay_->play_media(r.call_id, r.own_tag, music);
        else relay_->stop_media(r.call_id, r.own_tag);
      }
      const ExtraHeader extra[] = {{"Content-Type", "application/sdp"}};
      const std::string sdp =
          media::with_direction(dialog.relayed_answer, media::answering(media::audio_direction(request.body())));
      layer_->respond(tx, build_response(request, 200, "OK", "", extra, sdp), 200);
      return;
    }
    default:
      return respond(tx, request, 200, "OK");
  }
}

void Proxy::notify_transferor(Reception& r, std::string_view sipfrag, bool final) {
  if (!r.transferor_here) return;
  const std::string branch = new_branch();
  // From the carrier's side of the dialog towards the phone: the REFER's From and To swapped.
  std::string notify = fmt::format("NOTIFY {} SIP/2.0\r\n", r.transferor_contact);
  append_header(notify, "Via", via_for(r.transferor, branch));
  append_header(notify, "Max-Forwards", "70");
  append_header(notify, "From", r.as_transferor_to);
  append_header(notify, "To", r.as_transferor_from);
  append_header(notify, "Call-ID", r.call_id);
  append_header(notify, "CSeq", fmt::format("{} NOTIFY", ++r.notify_cseq));
  append_header(notify, "Event", "refer");
  append_header(notify, "Subscription-State", final ? "terminated;reason=noresource" : "active;expires=60");
  append_header(notify, "Content-Type", "message/sipfrag;version=2.0");
  append_header(notify, "Content-Length", std::to_string(sipfrag.size()));
  notify += "\r\n";
  notify += sipfrag;
  layer_->send_request(r.transferor, std::move(notify), Method::notify, branch);
}

void Proxy::hang_up_carrier(Reception& r) {
  // As the transferor would: to the carrier's target, through the route set beyond privox.
  const std::optional<Peer> next = r.carrier_next;
  close_dialog_record(r.call_id, "transferred");
  relay_->remove(r.call_id);
  if (!next) return log::warn("sip", "transfer.carrier_unreachable", {});
  const std::string branch = new_branch();
  std::string bye = fmt::format("BYE {} SIP/2.0\r\n", r.carrier_target);
  append_header(bye, "Via", via_for(*next, branch));
  bye += r.carrier_route;
  append_header(bye, "Max-Forwards", "70");
  append_header(bye, "From", r.as_transferor_from);
  append_header(bye, "To", r.as_transferor_to);
  append_header(bye, "Call-ID", r.call_id);
  append_header(bye, "CSeq", fmt::format("{} BYE", ++r.carrier_cseq));
  append_header(bye, "Content-Length", "0");
  bye += "\r\n";
  layer_->send_request(*next, std::move(bye), Method::bye, branch);
}

}  // namespace privox::sip
