#pragma once
// Problem: voicemail needs privox itself to answer a call's audio: play a greeting and a tone,
// then record what the caller says, ending on '#', silence, the longest message allowed or the
// caller hanging up. The media endpoint does that for many calls at once on one thread of its
// own, paced at one 20 ms frame per tick: each session owns an RTP socket (and one for RTCP on the
// next port, drained and counted), takes the caller's G.711 through a jitter buffer into the
// recorder (media/recorder.h), hears key presses both as RFC 4733 events and in-band tones
// (media/keys.h), and sends its prompts as G.711. Nothing is allocated per packet: datagrams land
// in buffers the endpoint owns, frames in the session's fixed jitter buffer.
//
// A session's datagrams are accepted only from the address its caller's SDP named (in privox,
// rtpengine's), so a stranger who finds the port cannot speak into a message. A flood costs the
// session at most kMaxDatagramsPerTick reads a tick; the rest wait in the socket or are dropped by
// the kernel.
//
// A conference (join()) is a set of menu sessions the thread mixes once per tick, after it has read
// every session: each member hears the sum of the others' frames (never its own voice), plus a
// rising tone when someone joins and a falling one when someone leaves. The mix is 32-bit and
// clamped once per member, so a loud room saturates rather than wraps.
//
// Thread-safety: open(), hang_up(), discard(), join() and leave() from any thread; the `ended` callback runs on the
// endpoint's thread and must not block it (hand the message over to another thread).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "media/prompt.h"
#include "media/recorder.h"
#include "media/sdp.h"

namespace privox::media {

struct EndpointConfig {
  std::string address = "127.0.0.1";  // the sockets bind here, and answers name it
  uint16_t first_port = 40000;         // RTP on even ports of [first, last], RTCP on the next
  uint16_t last_port = 44999;
  size_t max_sessions = 2000;
  // Frames fall due every 20 ms whatever else the machine runs, so the endpoint's thread asks for
  // this SCHED_FIFO priority (0: it does not ask). Refused without RLIMIT_RTPRIO or CAP_SYS_NICE,
  // and then it runs as any other thread; late frames show in the totals either way.
  int realtime_priority = 10;
};

// What one session does: play `prompts` in order, then (when `record`) record. A menu session
// (listening to one's messages) records nothing: every key goes to the endpoint's `pressed`
// callback, and once its prompts are played it waits, silent, for play() to give it more.
struct SessionPlan {
  AudioChoice remote;  // the caller's side, from its SDP offer
  std::vector<std::shared_ptr<const Prompt>> prompts;
  bool record = true;  // false: the prompts are all (a full mailbox), then the session ends
  bool menu = false;
  RecordingLimits limits;
};

enum class SessionResult : uint8_t {
  recorded,    // `recording` holds the message
  too_short,   // ended before min_ms: nothing kept
  played,      // a session without recording played its prompts
  hung_up,     // the caller hung up before recording began
  failed,      // the recorder failed (its error is logged); nothing kept
};
const char* to_string(SessionResult result);

struct SessionEnd {
  uint64_t session = 0;
  SessionResult result = SessionResult::failed;
  std::optional<Recording> recording;
  // For the operator's view of media quality; never personal. `late_or_lost`: the caller's
  // frames the jitter buffer had to conceal; `sent_late`: frames privox sent more than kLateNs
  // after their tick was due (a receiver's one-frame buffer would conceal them); `unsent`: frames
  // the socket refused.
  uint64_t packets_in = 0, packets_out = 0, late_or_lost = 0, refused = 0, rtcp_in = 0, sent_late = 0, unsent = 0;
};

// Every session the endpoint has ended, reported or discarded: a menu whose caller was handed on
// is discarded without `ended`, and its audio is counted here all the same.
struct EndpointTotals {
  uint64_t sessions = 0, packets_in = 0, packets_out = 0, late_or_lost = 0, refused = 0, sent_late = 0, unsent = 0;
};

class Endpoint {
 public:
  static constexpr size_t kMaxDatagramsPerTick = 32;
  // A frame sent this long after its tick was due counts as late (one frame's worth).
  static constexpr int64_t kLateNs = 20'000'000;
  using Ended = std::function<void(SessionEnd)>;
  using Pressed = std::function<void(uint64_t session, char key)>;
  // What a menu session recorded (record()): nullopt when it was too short or failed.
  using Recorded = std::function<void(uint64_t session, std::optional<Recording> recording)>;

  // Starts the endpoint's thread. `ended` runs once for every session opened and not discarded;
  // `pressed` for each key of a menu session; `recorded` for each recording a menu session made.
  static Result<std::unique_ptr<Endpoint>> start(EndpointConfig config, Ended ended, Pressed pressed = {},
                                                 Recorded recorded = {});
  ~Endpoint();  // stops the thread; sessions still open are dropped without `ended`
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  struct Opened {
    uint64_t session = 0;
    uint16_t port = 0;  // the RTP port to name in the answer
  };
  // Binds the session's sockets and hands it to the thread, which starts playing on its next tick.
  // Errors: unavailable when every port is taken or max_sessions are open.
  Result<Opened> open(SessionPlan plan);
  // The caller hung up: what was recorded is kept (if long enough) and `ended` runs.
  void hang_up(uint64_t session);
  // The call is gone and nothing is kept: `ended` does not run.
  void discard(uint64_t session);
  // Stops the thread and ends every session still open as if its caller had hung up: what each
  // recorded so far is reported through `ended`, on the calling thread (a node shutting down keeps
  // the messages being left). Idempotent; the destructor does it too, reporting nothing.
  void finish_all();
  // A menu session plays these prompts instead of what it was playing; with `then_end`, the
  // session ends (and `ended` runs) once they are played.
  void play(uint64_t session, std::vector<std::shared_ptr<const Prompt>> prompts, bool then_end);
  // A menu session plays these prompts, then records (a member recording their greeting by
  // phone): keys go to the recording, not to `pressed`, until it ends on '#', silence or
  // `limits.max_ms`; then `recorded` runs and the session waits, silent, as a menu does. A hang-up
  // meanwhile ends the session with what was recorded in SessionEnd::recording. Errors: those of
  // Recorder::create.
  Status record(uint64_t session, std::vector<std::shared_ptr<const Prompt>> prompts, RecordingLimits limits);

  // A menu session stops what it plays and joins conference `room` (any number the caller chooses;
  // a room exists while it has members); everyone in it hears the entry tone. Its keys still go to
  // `pressed`. A session that ends, or leave()s, leaves its room, and the rest hear the exit tone.
  // How many may join is the caller's to decide (it knows its rooms' limits).
  void join(uint64_t session, uint64_t room);
  // Back to a silent menu session, out of its room.
  void leave(uint64_t session);
  // A key the caller pressed that came by another way than the session's audio (SIP INFO): handled
  // on the endpoint's thread as if it had come as an RFC 4733 event, so that it reaches a recording
  // under way ('#' ends it) and is ordered with the keys the audio carries.
  void press(uint64_t session, char key);

  const std::string& address() const { return config_.address; }
  size_t sessions() const { return open_sessions_.load(std::memory_order_relaxed); }
  EndpointTotals totals() const;

 private:
  struct Session;
  struct Command;
  struct Room {
    std::vector<Session*> members;  // sessions_ owns them; a session leaves before it goes
    std::vector<int16_t> tone;      // entry and exit tones still to play to everyone
    size_t tone_at = 0;
  };

  Endpoint(EndpointConfig config, Ended ended, Pressed pressed, Recorded recorded);
  void push(Command command);
  void run();
  void ask_for_realtime() const;
  void apply_commands();
  void tick(Session& s);
  void receive(Session& s);
  void play_out(Session& s);
  void send_frame(Session& s);
  void on_key(Session& s, char key);
  void hand_over_recording(Session& s);
  void send_pcm(Session& s, std::span<const int16_t> pcm);
  void enter_room(Session& s, uint64_t room);
  void leave_room(Session& s);
  void mix_rooms();
  void end(uint64_t id, Session& s, bool report);
  void add_to_totals(const SessionEnd& ended);
  Result<std::pair<int, int>> bind_pair(uint16_t& port);

  const EndpointConfig config_;
  const Ended ended_;
  const Pressed pressed_;
  const Recorded recorded_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_sessions_{0};
  mutable std::mutex totals_mutex_;  // guards totals_, added to once per ended session
  EndpointTotals totals_;
  int64_t tick_due_ns_ = 0;  // when the tick under way was due (the thread's own)
  std::mutex mutex_;  // guards commands_ and next_port_
  std::condition_variable wake_;  // an idle thread waits here for its next session
  std::vector<Command> commands_;
  uint16_t next_port_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;  // the thread's own
  std::unordered_map<uint64_t, Room> rooms_;                          // the thread's own
  std::thread thread_;
};

// What a conference's members hear when someone joins (rising) and leaves (falling): two 100 ms
// tones a fifth apart.
Prompt conference_tone(bool joining);

// The tone that tells a caller to speak: 1 kHz for half a second, from spandsp's tone generator.
Prompt record_tone();

}  // namespace privox::media
