// Call features on the proxy (issue 15): a line's forwarding and do-not-disturb, and ring groups,
// as callflow/ stores them and the directory carries them. A call comes here only when the line it
// reaches has forwarding or do-not-disturb, or it dials a ring group's number: a plain line's call
// never does, so the proxy path of every other call costs one flag test more than before.
//
// A featured call keeps its one server transaction and its one traffic record while privox sends
// it on step by step, a sequential search (RFC 3261 §16.6): each step forks new branches once every
// branch of the one before is final, with its own ring timer. What a step that ends unanswered
// leads to is the line's forwarding for that condition (busy, no answer), the group's next member
// or its overflow, else the line's own treatment (its box, or the failure). Every step that sends
// the call somewhere else counts a hop; past ProxyConfig::max_forward_hops the caller gets 483,
// which cuts the loops configuration could not see (a chain through busy or no-answer forwards).
//
// A forward to an external number is an outbound call of the line that forwarded: it gets its own
// outbound traffic record (rated and debited like any), and the company's destination rules, its
// international wallet and the line's live fraud rules judge it as they judge a call the line
// places. A withheld caller stays withheld: the trunk sees an anonymous From and the forwarding
// line's number as P-Asserted-Identity, with the caller's Privacy header left as it was.
//
// A target that is gone (a deleted line or group) or of another company never fails the call: the
// last line called takes it in its box, and the operator's log says so, with ids only.

#include <fmt/format.h>

#include <algorithm>

#include "common/ids.h"
#include "common/log.h"
#include "media/endpoint.h"
#include "fraud/guard.h"
#include "numbers/e164.h"
#include "rating/store.h"
#include "sip/builder.h"
#include "sip/proxy.h"
#include "sip/rtpengine.h"
#include "wallet/book.h"

namespace privox::sip {

using traffic::CallRecord;
using traffic::Direction;
using traffic::Outcome;

std::vector<Proxy::Target> Proxy::targets_of(const ExtensionInfo& line, int64_t now_us) const {
  std::vector<Target> out;
  for (const Binding& b : location_.lookup(line.id, now_us)) {
    // A phone registered in clear before its company required encryption is not rung, nor one
    // whose flow another node holds: nodes speak to each other in clear.
    if (line.encryption_required && (!b.peer.private_signalling() || b.through)) continue;
    out.push_back({b.peer, b.contact, b.through});
  }
  return out;
}

void Proxy::route(Call& call) {
  call.needs_routing = false;
  if (call.stage == Call::Stage::group) {
    const callflow::RingGroup* group = directory_.group_by_id(call.stage_id);
    if (!group) return refuse(call, 480, "Temporarily Unavailable");
    return enter_group(call, *group);
  }
  const ExtensionInfo* line = directory_.by_id(call.stage_id);
  if (!line) return refuse(call, 480, "Temporarily Unavailable");
  enter_line(call, *line);
}

void Proxy::enter_line(Call& call, const ExtensionInfo& line) {
  call.stage = Call::Stage::line;
  call.stage_id = line.id;
  call.acting_line = line.id;
  call.fallback_line = line.id;
  call.flow_company = line.company_id;
  call.box_id = line.id;
  call.box_company_id = line.company_id;
  call.box_number = line.number;
  const callflow::Forwarding& forwarding = line.forwarding;
  if (forwarding.dnd) return line_busy(call, line);
  if (forwarding.always) return send_to(call, *forwarding.always, Unanswered::unavailable);
  ring_line(call, line);
}

void Proxy::ring_line(Call& call, const ExtensionInfo& line) {
  const std::vector<Target> targets = targets_of(line, clock_.now_us());
  const callflow::Forwarding& forwarding = line.forwarding;
  if (targets.empty()) {
    if (forwarding.unregistered) return send_to(call, *forwarding.unregistered, Unanswered::unavailable);
    return fall_back(call, Unanswered::unavailable, 480, "Temporarily Unavailable");
  }
  // The line rings for its no-answer time when a forward waits on it, else for its box's ring
  // time; timer C bounds either.
  int64_t ring_us = config_.ring_timeout_us;
  if (forwarding.no_answer) ring_us = std::min<int64_t>(ring_us, int64_t{forwarding.no_answer_seconds} * 1'000'000);
  else if (voicemail_) ring_us = std::min(ring_us, voicemail_->ring_time_us);
  ring(call, targets, ring_us);
}

void Proxy::line_busy(Call& call, const ExtensionInfo& line) {
  if (line.forwarding.busy) return send_to(call, *line.forwarding.busy, Unanswered::busy);
  if (!answer_with_voicemail(call, Unanswered::busy)) refuse(call, 486, "Busy Here");
}

void Proxy::enter_group(Call& call, const callflow::RingGroup& group) {
  call.stage = Call::Stage::group;
  call.stage_id = group.id;
  call.flow_company = group.company_id;
  // A group has no box of its own: a call nobody in it takes goes to its overflow.
  call.box_id.clear();
  call.box_company_id.clear();
  call.box_number.clear();
  call.group_step = 0;
  call.group_start = 0;
  const size_t members = group.member_line_ids.size();
  if (group.strategy == callflow::Strategy::round_robin && members > 0) {
    // Each call starts one member further on than the last; the turn is this node's own.
    size_t& next = group_next_[group.id];
    call.group_start = next % members;
    next = (call.group_start + 1) % members;
  }
  ring_group_step(call, group);
}

void Proxy::ring_group_step(Call& call, const callflow::RingGroup& group) {
  const int64_t now = clock_.now_us();
  const size_t members = group.member_line_ids.size();
  const auto ringable = [&](const std::string& id) -> const ExtensionInfo* {
    const ExtensionInfo* line = directory_.by_id(id);
    // A member on do-not-disturb is skipped, as is a line moved to another company since.
    return line && !line->forwarding.dnd && line->company_id == group.company_id ? line : nullptr;
  };
  std::vector<Target> targets;
  if (group.strategy == callflow::Strategy::simultaneous) {
    if (call.group_step++ == 0)
      for (const std::string& id : group.member_line_ids)
        if (const ExtensionInfo* line = ringable(id)) {
          std::vector<Target> more = targets_of(*line, now);
          targets.insert(targets.end(), more.begin(), more.end());
        }
  } else {
    while (targets.empty() && call.group_step < members) {
      const std::string& id = group.member_line_ids[(call.group_start + call.group_step++) % members];
      if (const ExtensionInfo* line = ringable(id)) targets = targets_of(*line, now);
    }
  }
  if (!targets.empty())
    return ring(call, targets, std::min<int64_t>(config_.ring_timeout_us, int64_t{group.ring_seconds} * 1'000'000));
  if (group.overflow) return send_to(call, *group.overflow, Unanswered::no_answer);
  const bool busy = call.best_status == 486 || call.best_status == 600;
  refuse(call, busy ? 486 : 480, busy ? "Busy Here" : "Temporarily Unavailable");
}

bool Proxy::advance(Call& call) {
  const int status = call.best_status;
  const bool busy = status == 486 || status == 600;
  const bool unanswered = call.timed_out || status == 408 || status == 480 || status == 487;
  if (call.stage == Call::Stage::group) {
    const callflow::RingGroup* group = directory_.group_by_id(call.stage_id);
    if (!group) fall_back(call, Unanswered::no_answer, 480, "Temporarily Unavailable");
    else ring_group_step(call, *group);
    return true;
  }
  if (call.stage != Call::Stage::line) return false;  // an external forward ends as the trunk answered
  const ExtensionInfo* line = directory_.by_id(call.stage_id);
  if (!line) return false;
  const callflow::Forwarding& forwarding = line->forwarding;
  if (busy && forwarding.busy) {
    send_to(call, *forwarding.busy, Unanswered::busy);
    return true;
  }
  if (unanswered && forwarding.no_answer) {
    send_to(call, *forwarding.no_answer, Unanswered::no_answer);
    return true;
  }
  return false;  // the line's own treatment: its box, or the failure
}

void Proxy::send_to(Call& call, const callflow::Target& target, Unanswered why) {
  if (++call.hops > config_.max_forward_hops) {
    log::warn("sip", "callflow.hop_limit", {{"line", log::Id(call.acting_line)}, {"hops", call.hops}});
    return refuse(call, 483, "Too Many Hops: the call's forwards run in a loop");
  }
  switch (target.kind) {
    case callflow::TargetKind::line:
      if (const ExtensionInfo* line = directory_.by_id(target.ref); line && line->company_id == call.flow_company)
        return enter_line(call, *line);
      break;
    case callflow::TargetKind::group:
      if (const callflow::RingGroup* group = directory_.group_by_id(target.ref);
          group && group->company_id == call.flow_company)
        return enter_group(call, *group);
      break;
    case callflow::TargetKind::voicemail:
      if (const ExtensionInfo* line = directory_.by_id(target.ref); line && line->company_id == call.flow_company) {
        call.box_id = line->id;
        call.box_company_id = line->company_id;
        call.box_number = line->number;
        if (!answer_with_voicemail(call, why)) refuse(call, 480, "Temporarily Unavailable");
        return;
      }
      break;
    case callflow::TargetKind::external:
      return forward_external(call, target.ref);
  }
  log::warn("sip", "callflow.broken_target",
            {{"line", log::Id(call.acting_line)}, {"kind", static_cast<int64_t>(target.kind)}});
  fall_back(call, why, 480, "Temporarily Unavailable");
}

void Proxy::fall_back(Call& call, Unanswered why, int status, std::string_view reason) {
  const ExtensionInfo* line = call.fallback_line.empty() ? nullptr : directory_.by_id(call.fallback_line);
  if (line && call.box_id.empty()) {
    call.box_id = line->id;
    call.box_company_id = line->company_id;
    call.box_number = line->number;
  }
  if (!answer_with_voicemail(call, why)) refuse(call, status, reason);
}

void Proxy::forward_external(Call& call, const std::string& e164) {
  const TrunkInfo* trunk = directory_.outbound_trunk();
  const ExtensionInfo* line = directory_.by_id(call.acting_line);
  if (!trunk || !line) {
    log::warn("sip", "callflow.no_trunk", {{"line", log::Id(call.acting_line)}});
    return fall_back(call, Unanswered::unavailable, 503, "No route to the public network");
  }
  const int64_t now = clock_.now_us();
  CallRecord leg;
  leg.id = new_id(now);
  leg.company_id = line->company_id;
  leg.subject_id = line->id;
  leg.direction = Direction::outbound;
  leg.source = line->did.empty() ? line->number : line->did;
  leg.destination = e164;
  leg.source_withheld = call.record.source_withheld;
  leg.started_at_us = now;
  leg.trunk_id = trunk->id;
  // The line's company pays for the leg: its destination rules, wallet and fraud rules decide, as
  // for a call the line places itself.
  const numbers::Destination where = rates_ ? destinations_.of(e164) : numbers::Destination{};
  std::optional<std::string> refused = destination_refused(line->company_id, line->country, e164, where);
  int status = 403;
  if (!refused && wallet_ && rates_)
    if (auto no = wallet_->admit(*rates_->table(), leg.id, line->company_id, line->country, where.region, e164, now)) {
      refused = no->reason;
      status = no->status;
    }
  if (!refused && fraud_)
    if (auto no = fraud_->admit(line->id, line->company_id, 0, now)) {
      refused = no->reason;
      status = no->status;
    }
  if (refused) {
    leg.ended_at_us = now;
    leg.outcome = Outcome::failed;
    leg.failure_code = status;
    traffic_.closed(leg);
    log::info("sip", "callflow.forward_refused", {{"line", log::Id(line->id)}, {"status", status}});
    return fall_back(call, Unanswered::unavailable, status, *refused);
  }
  call.leg = std::move(leg);
  call.stage = Call::Stage::external;
  call.to_trunk = true;
  call.hide_caller = call.record.source_withheld;
  call.asserted = line->did.empty() ? std::string()
                                    : fmt::format("<sip:{}@{}>", line->did, strip_brackets(config_.host));
  ring(call, {{trunk->address, fmt::format("sip:{}@{}", e164, trunk->address.host_port()), std::nullopt}},
       config_.ring_timeout_us);
}

void Proxy::ring(Call& call, const std::vector<Target>& targets, int64_t ring_us) {
  Message request;
  ParseError error;
  if (!parse_message(call.request, request, error)) return refuse(call, 500, "Server Internal Error");  // parsed once
  timers_.cancel(call.ring_timer);
  call.timed_out = false;
  call.best_status = 0;
  call.best_response.clear();
  call.ring_timer = timers_.schedule(clock_.now_us() + ring_us, [this, tx = call.server_tx] { ring_timeout(tx); });
  if (const MediaProfile wanted = profile_for(targets); call.relayed && wanted != call.callee_profile) {
    // This step's phones need the offer in another profile (TLS phones SRTP, the others plain):
    // the relay makes it again for the called side before they ring.
    call.callee_profile = wanted;
    call.relay_pending = true;
    call.pending_targets = targets;
    call.pending_ring_us = ring_us;
    return relay_->offer(relay_leg(call.call_id, request.from().tag(), {}, call.caller, request.body(), wanted),
                         request.body(),
                         [this, tx = call.server_tx](RelayReply reply) { reoffered(tx, std::move(reply)); }, wanted);
  }
  if (call.relayed) return fork_each_kind(call, request, targets);
  fork(call, request, targets);
}

void Proxy::apply_feature_code(Call& call) {
  timers_.cancel(call.ring_timer);
  call.ring_timer = 0;
  call.voicemail_pending = true;  // the store answers off this thread; a CANCEL meanwhile waits for it
  const bool on = call.feature == '+';
  line_settings_->set_dnd(call.acting_line, on, [this, server = call.server_tx, on](bool stored) {
    feature_code_stored(server, on, stored);
  });
}

void Proxy::feature_code_stored(TxId server, bool on, bool stored) {
  const auto it = calls_.find(server);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.voicemail_pending = false;
  if (call.cancelled) return refuse(call, 487, "Request Terminated");
  if (!stored) return refuse(call, 500, "Server Internal Error: the setting could not be stored");
  Message request;
  ParseError error;
  const bool offer = call.relayed ? !call.relayed_offer.empty()
                                  : parse_message(call.request, request, error) && carries_sdp(request);
  // The phone hears "do not disturb activated" from the media endpoint; without one (or without an
  // offer to answer), the reason phrase says it.
  if (!voicemail_ || !offer)
    return refuse(call, 480, on ? "Temporarily Unavailable: do-not-disturb is on" : "Temporarily Unavailable: do-not-disturb is off");
  media::SessionPlan plan;
  plan.record = false;
  plan.prompts = {voicemail_->prompts.do_not_disturb, on ? voicemail_->prompts.activated : voicemail_->prompts.deactivated};
  open_session(call, std::move(plan));
}

const std::string& Proxy::music_for(std::string_view company_id) {
  // The company's own (callflow/music.h, written to this node's disk by the directory loader),
  // else the node's setting; empty: none.
  const std::string* own = directory_.music_for(company_id);
  return own && !own->empty() ? *own : config_.music_on_hold;
}

void Proxy::music_on_hold(const Call& call, Dialog& dialog) {
  if (!relay_ || call.held_tag.empty()) return;
  const std::string& music = music_for(dialog.record.company_id);
  if (music.empty()) return;
  if (call.hold_change > 0 && dialog.music_to.empty()) {
    relay_->play_media(call.call_id, call.held_tag, music);
    dialog.music_to = call.held_tag;
  } else if (call.hold_change < 0 && dialog.music_to == call.held_tag) {
    relay_->stop_media(call.call_id, call.held_tag);
    dialog.music_to.clear();
  }
}

void Proxy::close_leg(Call& call, int status) {
  if (!call.leg) return;
  call.leg->ended_at_us = clock_.now_us();
  call.leg->outcome = outcome_for(status, call.cancelled, call.timed_out);
  if (call.leg->outcome == Outcome::failed) call.leg->failure_code = status;
  traffic_.closed(*call.leg);
  call.leg.reset();
}

}  // namespace privox::sip
