#include "media/endpoint.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spandsp.h>
#include <sodium.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/log.h"
#include "media/g711.h"
#include "media/jitter_buffer.h"
#include "media/keys.h"
#include "media/rtp.h"

namespace privox::media {
namespace {

constexpr int64_t kTickNs = 20'000'000;
constexpr size_t kFrameSamples = Recorder::kFrameSamples;
constexpr size_t kMaxDatagram = 1500;

enum class Phase : uint8_t { playing, recording, conferencing };

bool same_host(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr == reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
  return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                     &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, sizeof(in6_addr)) == 0;
}

std::optional<sockaddr_storage> to_sockaddr(const std::string& address, uint16_t port, socklen_t& length) {
  sockaddr_storage out{};
  auto& v4 = reinterpret_cast<sockaddr_in&>(out);
  auto& v6 = reinterpret_cast<sockaddr_in6&>(out);
  if (inet_pton(AF_INET, address.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    length = sizeof(sockaddr_in);
    return out;
  }
  if (inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    length = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

int64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace

const char* to_string(SessionResult result) {
  switch (result) {
    case SessionResult::recorded: return "recorded";
    case SessionResult::too_short: return "too_short";
    case SessionResult::played: return "played";
    case SessionResult::hung_up: return "hung_up";
    case SessionResult::failed: return "failed";
  }
  return "failed";
}

struct Endpoint::Session {
  uint64_t id = 0;
  int rtp_fd = -1, rtcp_fd = -1;
  sockaddr_storage remote{};
  socklen_t remote_length = 0;
  SessionPlan plan;
  Phase phase = Phase::playing;
  size_t prompt = 0;           // the prompt playing
  size_t prompt_sample = 0;    // how far into it
  JitterBuffer jitter{3};
  EventKeys event_keys;
  ToneKeys tone_keys;
  std::unique_ptr<Recorder> recorder;
  bool hung_up = false;
  bool then_end = false;       // a menu session ends once its prompts are played
  bool done = false;           // ended: report and close on this tick
  SessionResult result = SessionResult::failed;
  uint16_t out_sequence = 0;
  uint32_t out_timestamp = 0;
  uint32_t out_ssrc = 0;
  bool marker = true;
  SessionEnd stats;
  uint64_t room = 0;                        // the conference it is in; 0: none
  std::array<int16_t, kFrameSamples> said{};  // in a conference: what it said this tick

  ~Session() {
    if (rtp_fd >= 0) ::close(rtp_fd);
    if (rtcp_fd >= 0) ::close(rtcp_fd);
  }
};

struct Endpoint::Command {
  enum class Kind : uint8_t { open, hang_up, discard, play, record, join, leave, press } kind = Kind::open;
  uint64_t id = 0;
  std::unique_ptr<Session> session;
  std::vector<std::shared_ptr<const Prompt>> prompts;  // play, record
  bool then_end = false;
  std::unique_ptr<Recorder> recorder;  // record
  uint64_t room = 0;                   // join
  char key = 0;                        // press
};

namespace {

// `ms` of one frequency at -16 dBm0 (quieter than the record tone: it plays over people talking).
void append_tone(std::vector<int16_t>& out, int hz, int ms) {
  tone_gen_descriptor_t* descriptor = tone_gen_descriptor_init(nullptr, hz, -16, 0, 0, ms, 0, 0, 0, 0);
  tone_gen_state_t* generator = tone_gen_init(nullptr, descriptor);
  const size_t from = out.size();
  out.resize(from + static_cast<size_t>(ms) * 8);
  const int made = generator ? tone_gen(generator, out.data() + from, ms * 8) : 0;
  out.resize(from + static_cast<size_t>(made > 0 ? made : 0));
  if (generator) tone_gen_free(generator);
  if (descriptor) tone_gen_descriptor_free(descriptor);
}

}  // namespace

Prompt conference_tone(bool joining) {
  Prompt tone;
  append_tone(tone.samples, joining ? 600 : 900, 100);
  append_tone(tone.samples, joining ? 900 : 600, 100);
  return tone;
}

Prompt record_tone() {
  // 1 kHz at -13 dBm0 for 500 ms, as most voicemail systems beep.
  tone_gen_descriptor_t* descriptor = tone_gen_descriptor_init(nullptr, 1000, -13, 0, 0, 500, 0, 0, 0, 0);
  tone_gen_state_t* generator = tone_gen_init(nullptr, descriptor);
  Prompt tone;
  tone.samples.resize(4000);
  const int made = generator ? tone_gen(generator, tone.samples.data(), static_cast<int>(tone.samples.size())) : 0;
  tone.samples.resize(static_cast<size_t>(made > 0 ? made : 0));
  if (generator) tone_gen_free(generator);
  if (descriptor) tone_gen_descriptor_free(descriptor);
  return tone;
}

Endpoint::Endpoint(EndpointConfig config, Ended ended, Pressed pressed, Recorded recorded)
    : config_(std::move(config)),
      ended_(std::move(ended)),
      pressed_(std::move(pressed)),
      recorded_(std::move(recorded)),
      next_port_(static_cast<uint16_t>(config_.first_port & ~1u)) {}

Result<std::unique_ptr<Endpoint>> Endpoint::start(EndpointConfig config, Ended ended, Pressed pressed,
                                                  Recorded recorded) {
  if (config.first_port < 1024 || config.last_port <= config.first_port)
    return invalid("media_ports", "the media endpoint's port range must be 1024-65535, first below last");
  socklen_t length = 0;
  if (!to_sockaddr(config.address, 0, length))
    return invalid("media_address", "the media endpoint's address must be an IP address");
  std::unique_ptr<Endpoint> endpoint(new Endpoint(std::move(config), std::move(ended), std::move(pressed), std::move(recorded)));
  endpoint->thread_ = std::thread([e = endpoint.get()] { e->run(); });
  pthread_setname_np(endpoint->thread_.native_handle(), "privox-media");  // what top and the bench name it
  return endpoint;
}

Endpoint::~Endpoint() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Endpoint::finish_all() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  apply_commands();  // sessions opened, and hang-ups sent, before the thread stopped
  while (!sessions_.empty()) {
    const auto it = sessions_.begin();
    it->second->hung_up = true;
    end(it->first, *it->second, true);
  }
}

Result<std::pair<int, int>> Endpoint::bind_pair(uint16_t& port) {
  socklen_t length = 0;
  const size_t pairs = (config_.last_port - config_.first_port + 1) / 2;
  for (size_t tried = 0; tried < pairs; ++tried) {
    uint16_t candidate = 0;
    {
      std::lock_guard lock(mutex_);
      candidate = next_port_;
      next_port_ = static_cast<uint16_t>(next_port_ + 2 > config_.last_port - 1 ? config_.first_port & ~1u : next_port_ + 2);
    }
    auto rtp_address = to_sockaddr(config_.address, candidate, length);
    auto rtcp_address = to_sockaddr(config_.address, static_cast<uint16_t>(candidate + 1), length);
    const int family = rtp_address->ss_family;
    const int rtp = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int rtcp = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (rtp < 0 || rtcp < 0) {
      if (rtp >= 0) ::close(rtp);
      if (rtcp >= 0) ::close(rtcp);
      return Error{ErrorCode::unavailable, "media", fmt::format("no socket for media: {}", std::strerror(errno))};
    }
    if (::bind(rtp, reinterpret_cast<const sockaddr*>(&*rtp_address), length) == 0 &&
        ::bind(rtcp, reinterpret_cast<const sockaddr*>(&*rtcp_address), length) == 0) {
      port = candidate;
      return std::pair{rtp, rtcp};
    }
    ::close(rtp);
    ::close(rtcp);
  }
  return Error{ErrorCode::unavailable, "media", "every media port of the endpoint is in use"};
}

Result<Endpoint::Opened> Endpoint::open(SessionPlan plan) {
  if (open_sessions_.load() >= config_.max_sessions)
    return Error{ErrorCode::unavailable, "media", "the media endpoint is at its session limit"};
  if (plan.menu) plan.record = false;
  auto session = std::make_unique<Session>();
  const auto remote = to_sockaddr(plan.remote.address, plan.remote.port, session->remote_length);
  if (!remote) return invalid("sdp", "the caller's media address is not an IP address");
  session->remote = *remote;
  if (plan.record) {
    PRIVOX_ASSIGN(session->recorder, Recorder::create(plan.limits));
  }
  uint16_t port = 0;
  PRIVOX_ASSIGN(const auto fds, bind_pair(port));
  session->rtp_fd = fds.first;
  session->rtcp_fd = fds.second;
  randombytes_buf(&session->out_ssrc, sizeof session->out_ssrc);
  randombytes_buf(&session->out_sequence, sizeof session->out_sequence);  // RFC 3550 §5.1: random starts
  randombytes_buf(&session->out_timestamp, sizeof session->out_timestamp);
  session->plan = std::move(plan);
  Opened opened;
  opened.port = port;
  {
    std::lock_guard lock(mutex_);
    opened.session = session->id = next_id_++;
    commands_.push_back(Command{Command::Kind::open, opened.session, std::move(session), {}, false, nullptr});
  }
  wake_.notify_one();
  open_sessions_.fetch_add(1);
  return opened;
}

void Endpoint::push(Command command) {
  {
    std::lock_guard lock(mutex_);
    commands_.push_back(std::move(command));
  }
  wake_.notify_one();
}

void Endpoint::hang_up(uint64_t session) { push(Command{Command::Kind::hang_up, session, nullptr, {}, false, nullptr}); }

void Endpoint::discard(uint64_t session) { push(Command{Command::Kind::discard, session, nullptr, {}, false, nullptr}); }

void Endpoint::play(uint64_t session, std::vector<std::shared_ptr<const Prompt>> prompts, bool then_end) {
  push(Command{Command::Kind::play, session, nullptr, std::move(prompts), then_end, nullptr});
}

Status Endpoint::record(uint64_t session, std::vector<std::shared_ptr<const Prompt>> prompts, RecordingLimits limits) {
  PRIVOX_ASSIGN(std::unique_ptr<Recorder> recorder, Recorder::create(limits));  // allocates: not on the thread
  push(Command{Command::Kind::record, session, nullptr, std::move(prompts), false, std::move(recorder)});
  return {};
}

void Endpoint::join(uint64_t session, uint64_t room) {
  Command c{Command::Kind::join, session, nullptr, {}, false, nullptr};
  c.room = room;
  push(std::move(c));
}

void Endpoint::leave(uint64_t session) { push(Command{Command::Kind::leave, session, nullptr, {}, false, nullptr}); }

void Endpoint::press(uint64_t session, char key) {
  Command c{Command::Kind::press, session, nullptr, {}, false, nullptr};
  c.key = key;
  push(std::move(c));
}

void Endpoint::ask_for_realtime() const {
  // As Asterisk's -p and FreeSWITCH's -rp: a low real-time priority, above every ordinary thread
  // (rtpengine's, the SIP worker's, a load generator's), below the kernel's own. A tick takes a
  // few milliseconds of the 20, and the kernel's real-time throttling caps the rest.
  if (config_.realtime_priority <= 0) return;
  sched_param param{};
  param.sched_priority = config_.realtime_priority;
  if (const int error = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param); error != 0) {
    log::info("media", "endpoint.realtime_refused", {{"priority", config_.realtime_priority}, {"errno", error}});
    return;
  }
  log::info("media", "endpoint.realtime", {{"priority", config_.realtime_priority}});
}

void Endpoint::run() {
  ask_for_realtime();
  int64_t next = monotonic_ns();
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (sessions_.empty()) {
      // Idle: no ticks until a session comes (a node with no voicemail call costs nothing).
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_.load() || !commands_.empty(); });
      next = monotonic_ns();
    }
    apply_commands();
    tick_due_ns_ = next;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      Session& s = *it->second;
      tick(s);
      if (s.done) {
        const uint64_t id = it->first;
        ++it;
        end(id, s, true);
      } else {
        ++it;
      }
    }
    mix_rooms();
    next += kTickNs;
    // Behind by more than five ticks (the machine stalled): start the clock again rather than
    // sending a burst the far end would only drop.
    if (monotonic_ns() - next > 5 * kTickNs) next = monotonic_ns();
    timespec wake{static_cast<time_t>(next / 1'000'000'000), static_cast<long>(next % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, nullptr) == EINTR) {
    }
  }
}

void Endpoint::apply_commands() {
  std::vector<Command> commands;
  {
    std::lock_guard lock(mutex_);
    commands.swap(commands_);
  }
  for (Command& c : commands) {
    if (c.kind == Command::Kind::open) {
      sessions_.emplace(c.id, std::move(c.session));
      continue;
    }
    const auto it = sessions_.find(c.id);
    if (it == sessions_.end()) continue;
    Session& target = *it->second;
    if (c.kind == Command::Kind::discard) {
      end(c.id, target, false);
    } else if (c.kind == Command::Kind::join) {
      if (target.plan.menu && c.room != 0) enter_room(target, c.room);
    } else if (c.kind == Command::Kind::leave) {
      leave_room(target);
    } else if (c.kind == Command::Kind::press) {
      if (!target.done) on_key(target, c.key);
    } else if (c.kind == Command::Kind::play || c.kind == Command::Kind::record) {
      Session& s = target;
      if (!s.plan.menu) continue;
      leave_room(s);  // a menu that plays again is out of its conference
      s.plan.prompts = std::move(c.prompts);
      s.prompt = 0;
      s.prompt_sample = 0;
      s.then_end = c.then_end;
      s.phase = Phase::playing;  // a recording under way is dropped: the menu moved on
      s.recorder = std::move(c.recorder);
    } else {
      target.hung_up = true;
      target.done = true;
    }
  }
}

void Endpoint::tick(Session& s) {
  if (s.done) return;
  receive(s);
  if (s.done) return;
  play_out(s);
  if (s.done) return;
  if (s.phase == Phase::playing) send_frame(s);
}

void Endpoint::receive(Session& s) {
  // One buffer set for every session: the thread reads one session's datagrams at a time.
  static thread_local std::array<std::array<uint8_t, kMaxDatagram>, kMaxDatagramsPerTick> buffers;
  static thread_local std::array<iovec, kMaxDatagramsPerTick> vectors;
  static thread_local std::array<mmsghdr, kMaxDatagramsPerTick> headers;
  static thread_local std::array<sockaddr_storage, kMaxDatagramsPerTick> sources;
  for (size_t i = 0; i < kMaxDatagramsPerTick; ++i) {
    vectors[i] = {buffers[i].data(), buffers[i].size()};
    headers[i] = {};
    headers[i].msg_hdr.msg_iov = &vectors[i];
    headers[i].msg_hdr.msg_iovlen = 1;
    headers[i].msg_hdr.msg_name = &sources[i];
    headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  const int got = ::recvmmsg(s.rtp_fd, headers.data(), kMaxDatagramsPerTick, MSG_DONTWAIT, nullptr);
  for (int i = 0; i < got; ++i) {
    if (!same_host(sources[static_cast<size_t>(i)], s.remote)) {
      ++s.stats.refused;
      continue;
    }
    const std::span<const uint8_t> datagram(buffers[static_cast<size_t>(i)].data(), headers[static_cast<size_t>(i)].msg_len);
    const RtpParse parsed = parse_rtp(datagram);
    if (!parsed.packet) {
      ++s.stats.refused;
      continue;
    }
    ++s.stats.packets_in;
    const RtpPacket& p = *parsed.packet;
    if (p.header.payload_type == static_cast<uint8_t>(s.plan.remote.law)) {
      s.jitter.push(p.header.sequence, p.payload);
    } else if (static_cast<int>(p.header.payload_type) == s.plan.remote.event_type) {
      if (const auto event = parse_telephone_event(p.payload))
        if (const char key = s.event_keys.on_event(p.header.timestamp, *event)) on_key(s, key);
    } else {
      ++s.stats.refused;
    }
    if (s.done) return;
  }
  // RTCP is counted and dropped: the endpoint's sessions are short and one-way in what matters.
  std::array<uint8_t, kMaxDatagram> rtcp{};
  for (size_t i = 0; i < kMaxDatagramsPerTick && ::recv(s.rtcp_fd, rtcp.data(), rtcp.size(), MSG_DONTWAIT) >= 0; ++i)
    ++s.stats.rtcp_in;
}

void Endpoint::play_out(Session& s) {
  std::array<uint8_t, JitterBuffer::kMaxFrameBytes> payload{};
  std::array<int16_t, JitterBuffer::kMaxFrameBytes> pcm{};
  size_t length = 0;
  const JitterBuffer::Pop popped = s.jitter.pop(payload, length);
  if (popped == JitterBuffer::Pop::waiting) return;  // nothing has arrived yet
  size_t samples = kFrameSamples;
  if (popped == JitterBuffer::Pop::frame) {
    samples = g711_decode(s.plan.remote.law, std::span<const uint8_t>(payload.data(), length), pcm);
  } else {
    ++s.stats.late_or_lost;  // concealed as silence
  }
  std::array<char, 8> keys{};
  const size_t pressed = s.tone_keys.feed(std::span<const int16_t>(pcm.data(), samples), keys);
  for (size_t i = 0; i < pressed && !s.done; ++i) on_key(s, keys[i]);
  if (s.phase == Phase::conferencing) {
    // A phone's 10 ms frame is half of what the room mixes this tick; a 30 ms one loses its tail.
    std::copy_n(pcm.begin(), std::min(samples, kFrameSamples), s.said.begin());
    return;
  }
  if (s.done || s.phase != Phase::recording) return;
  // A frame of other than 20 ms (a phone sending 10 or 30 ms) is recorded in 20 ms pieces.
  for (size_t offset = 0; offset + kFrameSamples <= samples; offset += kFrameSamples) {
    if (s.recorder->frame(std::span<const int16_t>(pcm.data() + offset, kFrameSamples)) != RecordingEnd::recording) {
      if (s.plan.menu) return hand_over_recording(s);
      s.done = true;
      return;
    }
  }
}

void Endpoint::on_key(Session& s, char key) {
  if (s.plan.menu) {
    if (s.phase != Phase::recording) {
      if (pressed_) pressed_(s.id, key);
    } else if (s.recorder->key(key) != RecordingEnd::recording) {
      hand_over_recording(s);
    }
    return;
  }
  if (s.phase == Phase::playing) {
    // A key during the greeting skips to the tone (the caller knows what to do).
    const size_t tone = s.plan.prompts.empty() ? 0 : s.plan.prompts.size() - 1;
    if (s.plan.record && s.prompt < tone) {
      s.prompt = tone;
      s.prompt_sample = 0;
    }
    return;
  }
  if (s.recorder->key(key) != RecordingEnd::recording) s.done = true;
}

void Endpoint::send_frame(Session& s) {
  if (s.plan.menu && s.prompt >= s.plan.prompts.size()) {
    // A menu records once its prompts are played if record() asked it to; else it waits, silent,
    // for its next prompts, or ends once its last ones are played.
    if (s.recorder) {
      s.phase = Phase::recording;
      return;
    }
    if (s.then_end) {
      s.result = SessionResult::played;
      s.done = true;
    }
    return;
  }
  std::array<int16_t, kFrameSamples> pcm{};
  size_t filled = 0;
  while (filled < kFrameSamples && s.prompt < s.plan.prompts.size()) {
    const auto& samples = s.plan.prompts[s.prompt]->samples;
    const size_t take = std::min(kFrameSamples - filled, samples.size() - s.prompt_sample);
    std::copy_n(samples.begin() + static_cast<std::ptrdiff_t>(s.prompt_sample), take, pcm.begin() + static_cast<std::ptrdiff_t>(filled));
    filled += take;
    s.prompt_sample += take;
    if (s.prompt_sample == samples.size()) {
      ++s.prompt;
      s.prompt_sample = 0;
    }
  }
  send_pcm(s, pcm);
  if (s.prompt < s.plan.prompts.size() || s.plan.menu) return;
  if (s.plan.record) {
    s.phase = Phase::recording;
  } else {
    s.result = SessionResult::played;
    s.done = true;
  }
}

void Endpoint::send_pcm(Session& s, std::span<const int16_t> pcm) {
  std::array<uint8_t, kRtpHeaderBytes + kFrameSamples> packet{};
  RtpHeader header;
  header.payload_type = static_cast<uint8_t>(s.plan.remote.law);
  header.marker = s.marker;
  header.sequence = s.out_sequence++;
  header.timestamp = s.out_timestamp;
  header.ssrc = s.out_ssrc;
  s.out_timestamp += kFrameSamples;
  s.marker = false;
  write_rtp_header(header, std::span<uint8_t, kRtpHeaderBytes>(packet.data(), kRtpHeaderBytes));
  g711_encode(s.plan.remote.law, pcm.first(kFrameSamples), std::span<uint8_t>(packet.data() + kRtpHeaderBytes, kFrameSamples));
  if (::sendto(s.rtp_fd, packet.data(), packet.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&s.remote),
               s.remote_length) <= 0) {
    ++s.stats.unsent;
    return;
  }
  ++s.stats.packets_out;
  if (monotonic_ns() - tick_due_ns_ > kLateNs) ++s.stats.sent_late;
}

void Endpoint::enter_room(Session& s, uint64_t room) {
  if (s.room == room) return;
  leave_room(s);
  if (s.recorder) s.recorder.reset();  // a recording under way is dropped: the caller moved on
  s.phase = Phase::conferencing;
  s.plan.prompts.clear();
  s.prompt = 0;
  s.prompt_sample = 0;
  s.then_end = false;
  s.room = room;
  s.said.fill(0);
  Room& r = rooms_[room];
  r.members.push_back(&s);
  const Prompt tone = conference_tone(true);
  r.tone.insert(r.tone.end(), tone.samples.begin(), tone.samples.end());
}

void Endpoint::leave_room(Session& s) {
  if (s.room == 0) return;
  const auto it = rooms_.find(s.room);
  s.room = 0;
  s.phase = Phase::playing;
  if (it == rooms_.end()) return;
  Room& r = it->second;
  std::erase(r.members, &s);
  if (r.members.empty()) {
    rooms_.erase(it);
    return;
  }
  const Prompt tone = conference_tone(false);
  r.tone.insert(r.tone.end(), tone.samples.begin(), tone.samples.end());
}

void Endpoint::mix_rooms() {
  for (auto& [id, r] : rooms_) {
    std::array<int32_t, kFrameSamples> sum{};
    for (const Session* member : r.members)
      for (size_t i = 0; i < kFrameSamples; ++i) sum[i] += member->said[i];
    for (size_t i = 0; i < kFrameSamples && r.tone_at < r.tone.size(); ++i) sum[i] += r.tone[r.tone_at++];
    if (r.tone_at == r.tone.size()) {
      r.tone.clear();
      r.tone_at = 0;
    }
    std::array<int16_t, kFrameSamples> heard{};
    for (Session* member : r.members) {
      for (size_t i = 0; i < kFrameSamples; ++i)
        heard[i] = static_cast<int16_t>(std::clamp<int32_t>(sum[i] - member->said[i], INT16_MIN, INT16_MAX));
      send_pcm(*member, heard);
    }
    for (Session* member : r.members) member->said.fill(0);
  }
}

void Endpoint::hand_over_recording(Session& s) {
  std::optional<Recording> recording;
  auto finished = s.recorder->finish();
  if (!finished)
    log::warn("media", "recording.unfinished", {{"session", s.id}, {"error", log::error_code(finished.error())}});
  else if (finished->has_value())
    recording = std::move(**finished);
  s.recorder.reset();
  s.phase = Phase::playing;
  s.plan.prompts.clear();
  s.prompt = 0;
  s.prompt_sample = 0;
  if (recorded_) recorded_(s.id, std::move(recording));
}

void Endpoint::end(uint64_t id, Session& s, bool report) {
  leave_room(s);
  SessionEnd outcome = s.stats;
  outcome.session = id;
  outcome.late_or_lost = s.jitter.stats().missing + s.jitter.stats().late;
  if (s.recorder && s.phase == Phase::recording) {
    if (s.hung_up) s.recorder->hang_up();
    auto finished = s.recorder->finish();
    if (!finished) {
      log::warn("media", "recording.unfinished", {{"session", id}, {"error", log::error_code(finished.error())}});
      outcome.result = SessionResult::failed;
    } else if (!finished->has_value()) {
      outcome.result = SessionResult::too_short;
    } else {
      outcome.result = SessionResult::recorded;
      outcome.recording = std::move(**finished);
    }
  } else {
    outcome.result = s.plan.record ? SessionResult::hung_up : SessionResult::played;
  }
  add_to_totals(outcome);
  sessions_.erase(id);  // closes the sockets; `s` is gone
  open_sessions_.fetch_sub(1);
  if (report && ended_) ended_(std::move(outcome));
}

void Endpoint::add_to_totals(const SessionEnd& ended) {
  std::lock_guard lock(totals_mutex_);
  ++totals_.sessions;
  totals_.packets_in += ended.packets_in;
  totals_.packets_out += ended.packets_out;
  totals_.late_or_lost += ended.late_or_lost;
  totals_.refused += ended.refused;
  totals_.sent_late += ended.sent_late;
  totals_.unsent += ended.unsent;
}

EndpointTotals Endpoint::totals() const {
  std::lock_guard lock(totals_mutex_);
  return totals_;
}

}  // namespace privox::media
