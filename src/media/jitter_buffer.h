#pragma once
// Problem: RTP arrives late, early, twice or not at all, and a recording or a menu needs one frame
// every 20 ms in order. The jitter buffer holds a fixed ring of frames indexed by sequence number:
// it reorders what arrives within the ring's reach, drops what is late or repeated, and plays out
// one frame per tick, saying when the frame is missing (the caller then conceals the gap). It
// starts playing once `target` frames are buffered, which absorbs that much jitter. Nothing is
// allocated after construction, whatever arrives; a sequence jump beyond the ring (a new source,
// a long pause with packets lost) restarts it there.
//
// Thread-safety: one per stream, used by the thread that receives it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace privox::media {

class JitterBuffer {
 public:
  static constexpr size_t kSlots = 64;           // 1.28 s of 20 ms frames
  static constexpr size_t kMaxFrameBytes = 480;  // 60 ms of G.711

  explicit JitterBuffer(size_t target_frames = 3) : target_(target_frames < kSlots ? target_frames : kSlots - 1) {}

  enum class Push : uint8_t { stored, late, duplicate, too_large, restarted };
  Push push(uint16_t sequence, std::span<const uint8_t> payload);

  enum class Pop : uint8_t {
    frame,    // `out` holds the next frame, `length` bytes
    missing,  // the next frame did not arrive (or the buffer ran dry): conceal one frame
    waiting,  // not started: fewer than `target` frames have arrived yet
  };
  // Once per frame time, by the playout clock.
  Pop pop(std::span<uint8_t, kMaxFrameBytes> out, size_t& length);

  struct Stats {
    uint64_t stored = 0, late = 0, duplicate = 0, too_large = 0, restarted = 0, played = 0, missing = 0;
  };
  const Stats& stats() const { return stats_; }
  size_t buffered() const { return buffered_; }

 private:
  struct Slot {
    std::array<uint8_t, kMaxFrameBytes> bytes{};
    uint16_t length = 0;
    uint16_t sequence = 0;
    bool filled = false;
  };
  void clear();

  const size_t target_;
  std::array<Slot, kSlots> slots_{};
  uint16_t next_ = 0;  // the sequence number to play next
  bool have_next_ = false;
  bool playing_ = false;
  size_t buffered_ = 0;
  Stats stats_;
};

}  // namespace privox::media
