// Message waiting (RFC 3842 over RFC 6665): a phone subscribes to the message-summary of its own
// line's box, authenticated as it registers (401), and privox answers as the notifier: a NOTIFY at
// once with the box's new and old counts, another after every refresh, and one whenever they
// change. Changes are found by a sweep every kSweepUs that reads the counts of every subscribed
// box in one query (VoicemailBoxes, off this thread), so a message left through another node, or
// deleted from the portal or the CLI, lights or clears the lamp too.
//
// Unsolicited (VoicemailDesk::unsolicited_mwi, for phones that never subscribe): the same sweep
// also reads the boxes of every line with a registered device and no subscription, and sends each
// such device a NOTIFY outside any dialog when its box's counts change; a box first seen empty is
// not announced, so a restart does not ring through every phone with "no".

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <unordered_set>
#include <vector>

#include "sip/builder.h"
#include "sip/proxy.h"

namespace privox::sip {
namespace {

constexpr int64_t kSweepUs = 2'000'000;
constexpr int64_t kMinExpires = 60, kMaxExpires = 3600, kDefaultExpires = 3600;
// A phone that reboots subscribes again under a new Call-ID; past this many a box's oldest
// subscription makes way, so no line can grow the table (and the sweep's query) without bound.
constexpr size_t kMaxSubscriptionsPerBox = 8;

bool wants_message_summary(const Message& request) {
  std::string_view event = request.first_value(Header::event);
  event = event.substr(0, event.find(';'));
  while (!event.empty() && event.back() == ' ') event.remove_suffix(1);
  return event == "message-summary";
}

// The Expires header's seconds; -1 when absent or not a number.
int64_t expires_of(const Message& request) {
  const std::string_view text = request.first_value(Header::expires);
  int64_t value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() ? value : -1;
}

std::string summary_body(const std::string& account, const VoicemailBoxes::Counts& c) {
  return fmt::format("Messages-Waiting: {}\r\nMessage-Account: {}\r\nVoice-Message: {}/{}\r\n",
                     c.fresh > 0 ? "yes" : "no", account, c.fresh, c.heard);
}

}  // namespace

void Proxy::challenge_subscriber(TxId tx, const Message& request, bool stale, const Peer& from) {
  // As the registrar does: the subscriber is the line's own phone, so 401, not a proxy's 407.
  const std::vector<std::string> values = auth_.challenges(stale, from, request, false);
  std::vector<ExtraHeader> extra;
  extra.reserve(values.size());
  for (const std::string& v : values) extra.push_back({"WWW-Authenticate", v});
  layer_->respond_statelessly(tx, build_response(request, 401, "Unauthorized", "px", extra), 401);
}

void Proxy::handle_subscribe(TxId tx, const Message& request, const Peer& from) {
  if (!voicemail_ || !voicemail_->boxes || !wants_message_summary(request)) {
    const ExtraHeader extra[] = {{"Allow-Events", "message-summary"}};
    return layer_->respond(tx, build_response(request, 489, "Bad Event", "px", extra), 489);
  }
  const AuthOutcome auth = auth_.authenticate(request, false, from);
  if (!auth.extension) return challenge_subscriber(tx, request, auth.stale, from);
  const ExtensionInfo& line = *auth.extension;
  const std::string_view user = request.request_uri().user;
  if (!user.empty() && user != line.sip_user && user != line.number)
    return respond(tx, request, 403, "Forbidden: a phone subscribes to its own line's voicemail only");
  int64_t expires = expires_of(request);
  if (expires < 0) expires = kDefaultExpires;
  if (expires > 0 && expires < kMinExpires) {
    const std::string min = std::to_string(kMinExpires);
    const ExtraHeader extra[] = {{"Min-Expires", min}};
    return layer_->respond(tx, build_response(request, 423, "Interval Too Brief", "px", extra), 423);
  }
  expires = std::min(expires, kMaxExpires);
  const auto contact = parse_name_addr(request.first_value(Header::contact));
  if (!contact || contact->wildcard) return respond(tx, request, 400, "Bad Request: SUBSCRIBE needs a Contact");

  const std::string tag = fmt::format("mwi{:x}", ++subscription_counter_);
  const std::string call_id(request.call_id());
  Subscription sub;
  sub.box_id = line.id;
  sub.account = fmt::format("sip:{}@{}", line.sip_user, config_.host);
  sub.peer = from;
  sub.head = fmt::format("NOTIFY {} SIP/2.0\r\n", contact->uri_text);
  request.for_each(Header::record_route, [&](std::string_view value) {
    append_header(sub.head, "Route", value);
    return true;
  });
  append_header(sub.head, "From", fmt::format("{};tag={}", request.first_value(Header::to), tag));
  append_header(sub.head, "To", request.first_value(Header::from));
  append_header(sub.head, "Call-ID", call_id);
  sub.expires_at_us = clock_.now_us() + expires * 1'000'000;

  const std::string expires_text = std::to_string(expires);
  const std::string our_contact = fmt::format("<sip:voicemail@{}:{}{}>", config_.host, config_.port,
                                              from.uri_param());
  const ExtraHeader extra[] = {{"Expires", expires_text}, {"Contact", our_contact}};
  layer_->respond(tx, build_response(request, 200, "OK", tag, extra), 200);
  drop_oldest_beyond(line.id, kMaxSubscriptionsPerBox - 1);
  subscriptions_[call_id] = std::move(sub);
  if (expires == 0) {
    // A fetch (RFC 6665 §4.4.3): one NOTIFY with the counts, then the subscription is over.
    subscriptions_[call_id].expires_at_us = 0;
  }
  notify_current(call_id);
  schedule_mwi_sweep();
}

void Proxy::drop_oldest_beyond(const std::string& box_id, size_t keep) {
  std::vector<std::pair<int64_t, std::string>> held;  // (expires_at_us, Call-ID)
  for (const auto& [call_id, sub] : subscriptions_)
    if (sub.box_id == box_id) held.emplace_back(sub.expires_at_us, call_id);
  if (held.size() <= keep) return;
  std::sort(held.begin(), held.end());
  for (size_t i = 0; i + keep < held.size(); ++i) {
    notify(held[i].second, nullptr, "terminated;reason=rejected");
    subscriptions_.erase(held[i].second);
  }
}

bool Proxy::handle_own_subscription(TxId tx, const Message& request, const Peer& from) {
  const auto it = subscriptions_.find(std::string(request.call_id()));
  if (it == subscriptions_.end() || request.method() != Method::subscribe) return false;
  const AuthOutcome auth = auth_.authenticate(request, false, from);
  if (!auth.extension || auth.extension->id != it->second.box_id) {
    challenge_subscriber(tx, request, auth.stale, from);
    return true;
  }
  int64_t expires = expires_of(request);
  if (expires < 0) expires = kDefaultExpires;
  expires = expires == 0 ? 0 : std::clamp(expires, kMinExpires, kMaxExpires);
  const std::string expires_text = std::to_string(expires);
  const ExtraHeader extra[] = {{"Expires", expires_text}};
  layer_->respond(tx, build_response(request, 200, "OK", "", extra), 200);
  it->second.peer = from;
  it->second.expires_at_us = expires == 0 ? 0 : clock_.now_us() + expires * 1'000'000;
  notify_current(it->first);
  return true;
}

void Proxy::notify_current(const std::string& call_id) {
  const auto it = subscriptions_.find(call_id);
  if (it == subscriptions_.end()) return;
  voicemail_->boxes->counts({it->second.box_id}, [this, call_id](std::optional<VoicemailBoxes::CountsByBox> counts) {
    const auto sub = subscriptions_.find(call_id);
    if (sub == subscriptions_.end()) return;
    VoicemailBoxes::Counts c;
    if (counts) {
      if (const auto found = counts->find(sub->second.box_id); found != counts->end()) c = found->second;
    }
    const bool ending = sub->second.expires_at_us == 0;
    notify(call_id, counts ? &c : nullptr, ending ? "terminated;reason=timeout" : "active");
    if (ending) subscriptions_.erase(call_id);
  });
}

void Proxy::notify(const std::string& call_id, const VoicemailBoxes::Counts* counts, std::string_view state) {
  const auto it = subscriptions_.find(call_id);
  if (it == subscriptions_.end()) return;
  Subscription& sub = it->second;
  const std::string branch = new_branch();
  std::string request = sub.head;
  request.insert(request.find("\r\n") + 2, fmt::format("Via: {}\r\n", via_for(sub.peer, branch)));
  append_header(request, "CSeq", fmt::format("{} NOTIFY", ++sub.cseq));
  append_header(request, "Max-Forwards", "70");
  append_header(request, "Contact", fmt::format("<sip:voicemail@{}:{}{}>", config_.host, config_.port,
                                                sub.peer.uri_param()));
  append_header(request, "Event", "message-summary");
  const int64_t left = std::max<int64_t>(0, (sub.expires_at_us - clock_.now_us()) / 1'000'000);
  append_header(request, "Subscription-State",
                state == "active" ? fmt::format("active;expires={}", left) : std::string(state));
  // Without counts (the store did not answer) the NOTIFY says the subscription holds, and no more.
  const std::string body = counts ? summary_body(sub.account, *counts) : std::string{};
  if (counts) {
    append_header(request, "Content-Type", "application/simple-message-summary");
    sub.told = *counts;
  }
  append_header(request, "Content-Length", std::to_string(body.size()));
  request += "\r\n";
  request += body;
  const TxId client = layer_->send_request(sub.peer, std::move(request), Method::notify, branch);
  notifies_[client] = call_id;
}

void Proxy::notify_answered(TxId client, int status) {
  const auto it = notifies_.find(client);
  if (it == notifies_.end()) return;
  const std::string call_id = std::move(it->second);
  notifies_.erase(it);
  // RFC 6665 §4.2.2: a NOTIFY refused (481: the phone forgot the subscription) or never answered
  // ends the subscription.
  if (status >= 300) subscriptions_.erase(call_id);
}

void Proxy::start_message_waiting() {
  if (voicemail_ && voicemail_->boxes && voicemail_->unsolicited_mwi) schedule_mwi_sweep();
}

void Proxy::schedule_mwi_sweep() {
  const bool unsolicited = voicemail_ && voicemail_->unsolicited_mwi;
  if (mwi_timer_ || (subscriptions_.empty() && !unsolicited)) return;
  mwi_timer_ = timers_.schedule(clock_.now_us() + kSweepUs, [this] {
    mwi_timer_ = 0;
    mwi_sweep();
  });
}

void Proxy::mwi_sweep() {
  if (mwi_sweeping_) return schedule_mwi_sweep();
  const int64_t now = clock_.now_us();
  std::vector<std::string> expired, boxes;
  for (const auto& [call_id, sub] : subscriptions_) {
    if (sub.expires_at_us <= now) expired.push_back(call_id);
    else boxes.push_back(sub.box_id);
  }
  for (const std::string& call_id : expired) {
    notify(call_id, nullptr, "terminated;reason=timeout");
    subscriptions_.erase(call_id);
  }
  // Unsolicited: the boxes of lines with a device and no subscription.
  std::vector<std::string> unsubscribed;
  if (voicemail_->unsolicited_mwi) {
    std::unordered_set<std::string> subscribed(boxes.begin(), boxes.end());
    location_.for_each([&](const std::string& line, const Binding& b) {
      if (b.expires_at_us > now && !subscribed.contains(line)) unsubscribed.push_back(line);
    });
    std::sort(unsubscribed.begin(), unsubscribed.end());
    unsubscribed.erase(std::unique(unsubscribed.begin(), unsubscribed.end()), unsubscribed.end());
    boxes.insert(boxes.end(), unsubscribed.begin(), unsubscribed.end());
  }
  if (boxes.empty()) {
    unsolicited_told_.clear();
    return schedule_mwi_sweep();
  }
  std::sort(boxes.begin(), boxes.end());
  boxes.erase(std::unique(boxes.begin(), boxes.end()), boxes.end());
  mwi_sweeping_ = true;
  voicemail_->boxes->counts(std::move(boxes), [this, unsubscribed = std::move(unsubscribed)](
                                                  std::optional<VoicemailBoxes::CountsByBox> counts) {
    mwi_sweeping_ = false;
    if (counts) notify_unsolicited(*counts, unsubscribed);
    if (counts) {
      std::vector<std::string> changed;
      for (const auto& [call_id, sub] : subscriptions_) {
        const auto found = counts->find(sub.box_id);
        const VoicemailBoxes::Counts now_counts = found == counts->end() ? VoicemailBoxes::Counts{} : found->second;
        if (!sub.told || !(*sub.told == now_counts)) changed.push_back(call_id);
      }
      for (const std::string& call_id : changed) {
        const auto& sub = subscriptions_.at(call_id);
        const auto found = counts->find(sub.box_id);
        const VoicemailBoxes::Counts c = found == counts->end() ? VoicemailBoxes::Counts{} : found->second;
        notify(call_id, &c, "active");
      }
    }
    schedule_mwi_sweep();
  });
}

void Proxy::notify_unsolicited(const VoicemailBoxes::CountsByBox& counts, const std::vector<std::string>& boxes) {
  std::unordered_map<std::string, VoicemailBoxes::Counts> told;
  const int64_t now = clock_.now_us();
  for (const std::string& box : boxes) {
    const auto found = counts.find(box);
    const VoicemailBoxes::Counts c = found == counts.end() ? VoicemailBoxes::Counts{} : found->second;
    told[box] = c;
    const auto before = unsolicited_told_.find(box);
    const bool changed = before == unsolicited_told_.end() ? c.total_nonzero() : !(before->second == c);
    const ExtensionInfo* line = directory_.by_id(box);
    if (!changed || !line) continue;
    const std::string account = fmt::format("sip:{}@{}", line->sip_user, config_.host);
    const std::string body = summary_body(account, c);
    for (const Binding& b : location_.lookup(box, now)) {
      if (b.through) continue;  // the node that holds the phone's flow tells it
      const std::string branch = new_branch();
      std::string request = fmt::format("NOTIFY {} SIP/2.0\r\n", b.contact);
      append_header(request, "Via", via_for(b.peer, branch));
      append_header(request, "Max-Forwards", "70");
      append_header(request, "From", fmt::format("<sip:voicemail@{}:{}>;tag={}", config_.host, config_.port, new_branch()));
      append_header(request, "To", fmt::format("<{}>", account));
      append_header(request, "Call-ID", fmt::format("{}@{}", new_branch(), config_.host));
      append_header(request, "CSeq", "1 NOTIFY");
      append_header(request, "Contact", fmt::format("<sip:voicemail@{}:{}{}>", config_.host, config_.port,
                                                    b.peer.uri_param()));
      append_header(request, "Event", "message-summary");
      append_header(request, "Subscription-State", "active");
      append_header(request, "Content-Type", "application/simple-message-summary");
      append_header(request, "Content-Length", std::to_string(body.size()));
      request += "\r\n";
      request += body;
      layer_->send_request(b.peer, std::move(request), Method::notify, branch);
    }
  }
  unsolicited_told_ = std::move(told);  // boxes no longer unsubscribed or registered are forgotten
}

}  // namespace privox::sip
