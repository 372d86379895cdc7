#pragma once
// Problem: a phone behind NAT often hears nothing when media flows phone to phone, and privox
// cannot see or shape a call's audio. rtpengine relays it: the proxy hands each SDP offer and
// answer to rtpengine, which allocates ports of its own and rewrites the SDP so that both ends send
// their media to it. This is the client of rtpengine's ng control protocol: bencoded dictionaries
// over UDP, each request prefixed with a cookie that its reply repeats, so retransmissions (the
// same cookie, the same bytes) are answered from rtpengine's cache rather than applied twice.
//
// Every command is asynchronous: the reply (or "no answer" after the last retransmission) comes
// back through a callback on the SIP worker thread, so a slow relay never stalls signalling. The
// client tracks whether rtpengine answers (`state()`): a timeout marks it down, any reply up, and
// a ping every second while down (every few seconds while up) finds out when it is back. While it
// is known to be down, new commands fail at once, so callers get their 503 without waiting.
//
// Thread-safety: the SIP worker thread (the io_context's) only, except `state()`, which any thread
// may read (the portal's /healthz).

#include <utility>  // before Asio, see http/server.h

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "common/clock.h"
#include "common/result.h"
#include "sip/media_profile.h"
#include "sip/timer_queue.h"

namespace privox::sip {

struct RtpengineOptions {
  std::string host = "127.0.0.1";  // rtpengine's --listen-ng address
  uint16_t port = 2223;
  int64_t first_retry_us = 250'000;  // doubled on each retransmission
  int attempts = 4;                  // sends in all before giving up: 250 + 500 + 1000 + 2000 ms
  int64_t ping_up_us = 5'000'000;    // how often a relay that answers is pinged
  int64_t ping_down_us = 1'000'000;  // ... and one that does not
  // Where the state is published for other threads (serve's /healthz); may be null. It must
  // outlive the client.
  std::atomic<uint8_t>* published_state = nullptr;
};

enum class RelayState : uint8_t { unknown, up, down };
const char* to_string(RelayState state);

// What rtpengine said to one command, or why it said nothing.
struct RelayReply {
  enum class Outcome : uint8_t {
    ok,         // result "ok" (or "pong")
    refused,    // result "error": rtpengine understood and declined (an SDP it cannot use, an unknown call)
    no_answer,  // no reply after every retransmission, or the relay is known to be down
  };
  Outcome outcome = Outcome::no_answer;
  std::string sdp;     // offer and answer: the SDP rewritten to point at rtpengine
  std::string reason;  // refused: rtpengine's error-reason
  std::string raw;     // the whole bencoded reply (query: the call's streams and counters)
  bool ok() const { return outcome == Outcome::ok; }
};

// Which call, and which of its sides sends the SDP: the From tag of the message carrying it, and
// the To tag (empty for an initial offer, whose callee has not answered yet).
struct RelayLeg {
  RelayLeg(std::string_view call, std::string_view from, std::string_view to) : call_id(call), from_tag(from), to_tag(to) {}
  std::string_view call_id;
  std::string_view from_tag;
  std::string_view to_tag;
  // Where the SIP message carrying the SDP came from, when its SDP names a private address other
  // than that (a phone behind NAT): the relay sends to this address instead (rtpengine's
  // SIP-source-address, with the SDP's port) until the phone's own packets show the real port.
  // Empty: the SDP's address is used.
  std::string_view nat_source;
  bool nat_source_ipv6 = false;
  // Which of the called side's offers this is or answers (relay_branch, sip/media_profile.h); empty
  // for a side whose tags the relay already knows.
  std::string_view branch;
};


class RtpengineClient {
 public:
  using Done = std::function<void(RelayReply)>;

  RtpengineClient(boost::asio::io_context& io, TimerQueue& timers, const Clock& clock, RtpengineOptions options);
  ~RtpengineClient();
  RtpengineClient(const RtpengineClient&) = delete;
  RtpengineClient& operator=(const RtpengineClient&) = delete;

  // Opens the control socket towards rtpengine and starts pinging it. Fails only when the address
  // cannot be used at all; rtpengine being down is a state, not an error.
  Status open();
  // Stops pinging and answers every command still waiting with no_answer.
  void stop();
  // The event loop's timer must follow the TimerQueue when a reply (not the timer) changed it:
  // Server::reschedule_timers in production.
  void set_timers_changed(std::function<void()> changed) { timers_changed_ = std::move(changed); }

  void offer(const RelayLeg& leg, std::string_view sdp, Done done, MediaProfile profile = MediaProfile::keep);
  // `profile`: the side the answer goes to (the offerer); webrtc for a browser, which needs ICE.
  void answer(const RelayLeg& leg, std::string_view sdp, Done done, MediaProfile profile = MediaProfile::keep);
  // An answer from a side whose media moves elsewhere (the receptionist's leg, answered by a phone,
  // takes privox's place in the caller's call): rtpengine keeps the ports it gave both sides
  // (port-latching), so the other side goes on sending where it did and hears the new one from the
  // same port, with no re-INVITE towards it.
  void answer_keeping_ports(const RelayLeg& leg, std::string_view sdp, Done done);
  // The same for an offer from that side (it made the call's offer: a re-INVITE's worth).
  void offer_keeping_ports(const RelayLeg& leg, std::string_view sdp, Done done);
  // Ends the call's relaying; nobody waits for the reply.
  void remove(std::string_view call_id);
  void query(std::string_view call_id, Done done);
  void ping(Done done);
  // Music on hold: rtpengine plays `file` (a WAV it can read) to the side of the call whose tag is
  // `tag`, over and over, instead of what the other side sends; stop_media ends it. Nobody waits
  // for the reply: a relay that cannot play leaves the held side in silence, as before.
  void play_media(std::string_view call_id, std::string_view tag, std::string_view file);
  void stop_media(std::string_view call_id, std::string_view tag);

  RelayState state() const { return state_.load(std::memory_order_relaxed); }
  size_t waiting() const { return pending_.size(); }

  // What the relay was asked and said (for the metrics), and the calls it carries now: those with
  // an offer it took and no delete since.
  enum class Command : uint8_t { offer, answer, remove, query, ping, play_media, stop_media };
  static constexpr size_t kCommands = 7;
  static constexpr size_t kOutcomes = 3;  // RelayReply::Outcome
  struct Stats {
    std::array<std::array<uint64_t, kOutcomes>, kCommands> replies{};  // [command][outcome]
    size_t calls = 0;
  };
  Stats stats() const;

 private:
  struct Pending {
    std::string packet;  // cookie, space, bencoded request: sent again as is
    Done done;
    int sent = 0;
    int64_t delay_us = 0;
    TimerQueue::Id timer = 0;
  };

  // `body` is the bencoded dictionary; sends it under a new cookie and waits for its reply. Only
  // a `probe` (a ping) goes out while the relay is known to be down.
  void send(Command command, std::string_view body, Done done, bool probe = false);
  void retransmit(const std::string& cookie);
  void receive();
  void on_datagram(std::string_view datagram);
  void schedule_ping();
  void set_state(RelayState state);

  TimerQueue& timers_;
  const Clock& clock_;
  const RtpengineOptions options_;
  boost::asio::ip::udp::socket socket_;
  std::unique_ptr<char[]> buffer_;
  std::function<void()> timers_changed_;
  std::unordered_map<std::string, Pending> pending_;  // by cookie
  Stats stats_;
  std::unordered_set<std::string> relayed_calls_;  // Call-IDs whose offer the relay took
  std::string cookie_prefix_;
  uint64_t next_cookie_ = 0;
  TimerQueue::Id ping_timer_ = 0;
  bool ping_waiting_ = false;
  bool stopped_ = false;
  std::atomic<RelayState> state_{RelayState::unknown};
};

}  // namespace privox::sip
