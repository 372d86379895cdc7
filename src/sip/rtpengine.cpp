#include "sip/rtpengine.h"

#include <fmt/format.h>
#include <sodium.h>

#include <boost/asio/ip/address.hpp>

#include <array>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "sip/bencode.h"

namespace privox::sip {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

// rtpengine answers within a millisecond on loopback; a datagram is at most what UDP carries.
constexpr size_t kBufferBytes = 65'536;

// Both ends send media to rtpengine: the SDP's origin and connection addresses become its own, and
// ICE candidates (which would let the phones bypass the relay) are removed. SDES offers only RFC
// 4568's own suites, AES_CM_128_HMAC_SHA1_80 and _32, which every SDES phone implements: never a
// NULL suite (it reads as SRTP and sends the audio in clear), and not the GCM, 192/256-bit or F8
// ones rtpengine would offer first, which common phones key wrongly or not at all (Debian's
// baresip 1.0 takes AEAD_AES_256_GCM with a 42-byte key and decrypts nothing). rtpengine 10.5 has
// no "only-" flag, hence the list of what to leave out.
constexpr std::array<std::string_view, 10> kSdesLeftOut = {
    "no-AEAD_AES_256_GCM",     "no-AEAD_AES_128_GCM",     "no-AES_256_CM_HMAC_SHA1_80", "no-AES_256_CM_HMAC_SHA1_32",
    "no-AES_192_CM_HMAC_SHA1_80", "no-AES_192_CM_HMAC_SHA1_32", "no-F8_128_HMAC_SHA1_80",  "no-F8_128_HMAC_SHA1_32",
    "no-NULL_HMAC_SHA1_80",    "no-NULL_HMAC_SHA1_32"};

// A browser's side (MediaProfile::webrtc) gets DTLS-SRTP with the relay's ICE candidates and
// RTP and RTCP on one port; every other side has ICE removed and RTCP on its own port, since
// a desk phone may not demultiplex them.
void media_flags(bencode::Writer& w, MediaProfile profile, bool offer, std::vector<std::string_view>& flags) {
  const bool webrtc = profile == MediaProfile::webrtc;
  w.string("ICE").string(webrtc ? "force" : "remove");
  w.string("replace").begin_list().string("origin").string("session-connection").end();
  if (webrtc) {
    w.string("rtcp-mux").begin_list().string(offer ? "offer" : "accept").end();
    if (offer) w.entry("transport-protocol", "UDP/TLS/RTP/SAVPF").string("SDES").begin_list().string("off").end();
    if (offer) flags.emplace_back("generate-mid");
    return;
  }
  w.string("SDES").begin_list();
  for (std::string_view flag : kSdesLeftOut) w.string(flag);
  w.end();
  if (offer) w.string("rtcp-mux").begin_list().string("demux").end();
  if (profile == MediaProfile::rtp) w.entry("transport-protocol", "RTP/AVP").entry("DTLS", "off");
  if (profile == MediaProfile::srtp) w.entry("transport-protocol", "RTP/SAVP").entry("DTLS", "off");
}

std::string leg_command(std::string_view command, const RelayLeg& leg, std::string_view sdp, bool keep_ports = false,
                        MediaProfile profile = MediaProfile::keep) {
  std::string body;
  bencode::Writer w(body);
  w.begin_dict().entry("command", command).entry("call-id", leg.call_id).entry("from-tag", leg.from_tag);
  if (!leg.to_tag.empty()) w.entry("to-tag", leg.to_tag);
  if (!leg.branch.empty()) w.entry("via-branch", leg.branch);
  w.entry("sdp", sdp);
  std::vector<std::string_view> flags;
  media_flags(w, profile, command == "offer", flags);
  if (keep_ports) flags.emplace_back("port-latching");
  if (!leg.nat_source.empty()) {
    w.string("received-from").begin_list().string(leg.nat_source_ipv6 ? "IP6" : "IP4").string(leg.nat_source).end();
    flags.emplace_back("SIP-source-address");
  }
  if (!flags.empty()) {
    w.string("flags").begin_list();
    for (std::string_view f : flags) w.string(f);
    w.end();
  }
  w.end();
  return body;
}

std::string call_command(std::string_view command, std::string_view call_id) {
  std::string body;
  bencode::Writer(body).begin_dict().entry("command", command).entry("call-id", call_id).end();
  return body;
}

}  // namespace

const char* to_string(RelayState state) {
  switch (state) {
    case RelayState::unknown: return "unknown";
    case RelayState::up: return "up";
    case RelayState::down: return "down";
  }
  return "unknown";
}

RtpengineClient::RtpengineClient(asio::io_context& io, TimerQueue& timers, const Clock& clock, RtpengineOptions options)
    : timers_(timers), clock_(clock), options_(std::move(options)), socket_(io),
      buffer_(std::make_unique<char[]>(kBufferBytes)) {
  uint32_t seed = 0;
  randombytes_buf(&seed, sizeof seed);
  cookie_prefix_ = fmt::format("{:08x}", seed);
}

RtpengineClient::~RtpengineClient() { stop(); }

Status RtpengineClient::open() {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (ec) return invalid("media-relay", fmt::format("'{}' is not an IP address", options_.host));
  if (options_.port == 0) return invalid("media-relay", "needs a port");
  const udp::endpoint relay(address, options_.port);
  socket_.open(relay.protocol(), ec);
  if (!ec) socket_.connect(relay, ec);
  if (ec) return make_error(ErrorCode::unavailable, fmt::format("media relay control socket: {}", ec.message()));
  receive();
  ping({});
  return {};
}

void RtpengineClient::stop() {
  if (stopped_) return;
  stopped_ = true;
  timers_.cancel(ping_timer_);
  boost::system::error_code ignored;
  socket_.close(ignored);
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [cookie, p] : pending) {
    timers_.cancel(p.timer);
    if (p.done) p.done(RelayReply{});
  }
}

void RtpengineClient::offer(const RelayLeg& leg, std::string_view sdp, Done done, MediaProfile profile) {
  send(Command::offer, leg_command("offer", leg, sdp, false, profile),
       [this, call_id = std::string(leg.call_id), done = std::move(done)](RelayReply reply) mutable {
         if (reply.ok()) relayed_calls_.insert(std::move(call_id));
         if (done) done(std::move(reply));
       });
}

void RtpengineClient::answer(const RelayLeg& leg, std::string_view sdp, Done done, MediaProfile profile) {
  send(Command::answer, leg_command("answer", leg, sdp, false, profile), std::move(done));
}

void RtpengineClient::offer_keeping_ports(const RelayLeg& leg, std::string_view sdp, Done done) {
  send(Command::offer, leg_command("offer", leg, sdp, true), std::move(done));
}

void RtpengineClient::answer_keeping_ports(const RelayLeg& leg, std::string_view sdp, Done done) {
  send(Command::answer, leg_command("answer", leg, sdp, true), std::move(done));
}

void RtpengineClient::remove(std::string_view call_id) {
  relayed_calls_.erase(std::string(call_id));
  send(Command::remove, call_command("delete", call_id), {});
}

void RtpengineClient::query(std::string_view call_id, Done done) {
  send(Command::query, call_command("query", call_id), std::move(done));
}

void RtpengineClient::play_media(std::string_view call_id, std::string_view tag, std::string_view file) {
  std::string body;
  // Hold lasts as long as it lasts: the music repeats until stop_media (or the call's delete).
  bencode::Writer(body)
      .begin_dict()
      .entry("command", "play media")
      .entry("call-id", call_id)
      .entry("from-tag", tag)
      .entry("file", file)
      .entry("repeat-times", int64_t{100'000})
      .end();
  send(Command::play_media, body, {});
}

void RtpengineClient::stop_media(std::string_view call_id, std::string_view tag) {
  std::string body;
  bencode::Writer(body).begin_dict().entry("command", "stop media").entry("call-id", call_id).entry("from-tag", tag).end();
  send(Command::stop_media, body, {});
}

void RtpengineClient::ping(Done done) {
  std::string body;
  bencode::Writer(body).begin_dict().entry("command", "ping").end();
  ping_waiting_ = true;
  send(
      Command::ping, body,
      [this, done = std::move(done)](RelayReply reply) {
        ping_waiting_ = false;
        if (done) done(std::move(reply));
        schedule_ping();
      },
      true);
}

void RtpengineClient::schedule_ping() {
  if (stopped_) return;
  timers_.cancel(ping_timer_);
  const int64_t every = state() == RelayState::up ? options_.ping_up_us : options_.ping_down_us;
  ping_timer_ = timers_.schedule(clock_.now_us() + every, [this] {
    ping_timer_ = 0;
    if (!ping_waiting_) ping({});
  });
}

RtpengineClient::Stats RtpengineClient::stats() const {
  Stats out = stats_;
  out.calls = relayed_calls_.size();
  return out;
}

void RtpengineClient::send(Command command, std::string_view body, Done done, bool probe) {
  // Every reply, or its absence, is counted on its way to the caller.
  done = [this, command, done = std::move(done)](RelayReply reply) {
    ++stats_.replies.at(static_cast<size_t>(command)).at(static_cast<size_t>(reply.outcome));
    if (done) done(std::move(reply));
  };
  // Known down: the caller hears so now, and the pings find out when rtpengine is back. A delete
  // is dropped: rtpengine ends calls that stop sending media on its own.
  if (stopped_ || (state() == RelayState::down && !probe)) {
    if (done) done(RelayReply{});
    return;
  }
  std::string cookie = fmt::format("{}{:x}", cookie_prefix_, ++next_cookie_);
  Pending p;
  p.packet = cookie + ' ';
  p.packet += body;
  p.done = std::move(done);
  p.delay_us = options_.first_retry_us;
  auto [it, inserted] = pending_.emplace(std::move(cookie), std::move(p));
  retransmit(it->first);
  if (timers_changed_) timers_changed_();
}

void RtpengineClient::retransmit(const std::string& cookie) {
  const auto it = pending_.find(cookie);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  if (p.sent >= options_.attempts) {
    Done done = std::move(p.done);
    pending_.erase(it);
    set_state(RelayState::down);
    if (done) done(RelayReply{});
    return;
  }
  boost::system::error_code ec;
  socket_.send(asio::buffer(p.packet), 0, ec);  // a refused send is retried like a lost one
  ++p.sent;
  p.timer = timers_.schedule(clock_.now_us() + p.delay_us, [this, cookie] { retransmit(cookie); });
  p.delay_us *= 2;
}

void RtpengineClient::receive() {
  socket_.async_receive(asio::buffer(buffer_.get(), kBufferBytes), [this](boost::system::error_code ec, size_t n) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    // Other errors (ICMP port unreachable while rtpengine is down) leave the retransmission
    // timers to decide; the socket stays open for when it returns.
    if (!ec) on_datagram(std::string_view(buffer_.get(), n));
    if (timers_changed_) timers_changed_();
    receive();
  });
}

void RtpengineClient::on_datagram(std::string_view datagram) {
  const size_t space = datagram.find(' ');
  if (space == std::string_view::npos) return;
  const auto it = pending_.find(std::string(datagram.substr(0, space)));
  if (it == pending_.end()) return;  // a late reply to a retransmission already answered
  Done done = std::move(it->second.done);
  timers_.cancel(it->second.timer);
  pending_.erase(it);
  set_state(RelayState::up);

  RelayReply reply;
  reply.raw = std::string(datagram.substr(space + 1));
  bencode::Document doc;
  std::string error;
  if (!doc.parse(reply.raw, error) || doc.root().kind != bencode::Kind::dict) {
    log::warn("sip", "media_relay.unreadable_reply", {{"dictionary", error.empty()}, {"bytes", reply.raw.size()}});
    reply.outcome = RelayReply::Outcome::refused;
    reply.reason = "unreadable reply from the media relay";
  } else {
    const std::string_view result = doc.text(doc.root(), "result");
    if (result == "ok" || result == "pong") {
      reply.outcome = RelayReply::Outcome::ok;
      reply.sdp = std::string(doc.text(doc.root(), "sdp"));
    } else {
      reply.outcome = RelayReply::Outcome::refused;
      reply.reason = std::string(doc.text(doc.root(), "error-reason").substr(0, 200));
      if (reply.reason.empty()) reply.reason = "the media relay refused";
    }
  }
  if (done) done(std::move(reply));
}

void RtpengineClient::set_state(RelayState state) {
  const RelayState before = state_.exchange(state, std::memory_order_relaxed);
  if (options_.published_state) options_.published_state->store(static_cast<uint8_t>(state), std::memory_order_relaxed);
  if (before == state) return;
  if (state == RelayState::down)
    log::error("sip", "media_relay.down", {{"effect", "new_calls_503"}});  // its address is in the configuration
  else if (before == RelayState::down)
    log::info("sip", "media_relay.up");
  if (state == RelayState::up && before != RelayState::up) schedule_ping();
}

}  // namespace privox::sip
