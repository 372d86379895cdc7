#include "media/jitter_buffer.h"

#include <algorithm>

namespace privox::media {

void JitterBuffer::clear() {
  for (Slot& s : slots_) s.filled = false;
  buffered_ = 0;
  playing_ = false;
}

JitterBuffer::Push JitterBuffer::push(uint16_t sequence, std::span<const uint8_t> payload) {
  if (payload.size() > kMaxFrameBytes) {
    ++stats_.too_large;
    return Push::too_large;
  }
  Push result = Push::stored;
  if (!have_next_) {
    next_ = sequence;
    have_next_ = true;
  }
  // Sequence numbers wrap at 2^16: the signed distance says ahead or behind.
  const auto ahead = static_cast<int16_t>(static_cast<uint16_t>(sequence - next_));
  if (ahead < 0) {
    ++stats_.late;
    return Push::late;
  }
  if (static_cast<size_t>(ahead) >= kSlots) {
    clear();
    next_ = sequence;
    ++stats_.restarted;
    result = Push::restarted;
  }
  Slot& slot = slots_[sequence % kSlots];
  if (slot.filled && slot.sequence == sequence) {
    ++stats_.duplicate;
    return Push::duplicate;
  }
  if (!slot.filled) ++buffered_;
  std::copy(payload.begin(), payload.end(), slot.bytes.begin());
  slot.length = static_cast<uint16_t>(payload.size());
  slot.sequence = sequence;
  slot.filled = true;
  ++stats_.stored;
  return result;
}

JitterBuffer::Pop JitterBuffer::pop(std::span<uint8_t, kMaxFrameBytes> out, size_t& length) {
  length = 0;
  if (!playing_) {
    if (buffered_ < std::max<size_t>(target_, 1)) return Pop::waiting;
    playing_ = true;
  }
  if (buffered_ == 0) {
    // Ran dry (the sender paused, or everything since was lost): conceal, and wait here for what
    // comes next rather than skip ahead over frames that may still arrive.
    ++stats_.missing;
    return Pop::missing;
  }
  Slot& slot = slots_[next_ % kSlots];
  const bool present = slot.filled && slot.sequence == next_;
  ++next_;
  if (!present) {
    ++stats_.missing;
    return Pop::missing;
  }
  std::copy_n(slot.bytes.begin(), slot.length, out.begin());
  length = slot.length;
  slot.filled = false;
  --buffered_;
  ++stats_.played;
  return Pop::frame;
}

}  // namespace privox::media
