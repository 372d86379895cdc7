#pragma once
// Key presses (DTMF) from a call's audio, the two ways phones send them: as RFC 4733
// telephone-events (what nearly every phone and rtpengine send, one event repeated in several
// packets that share its RTP timestamp, its end packet sent three times), and in-band as tones in
// the G.711 audio (older phones and carriers), detected by spandsp's DTMF receiver. Both report each
// press once, as the key it stands for. A flood of events costs a comparison each: the state is
// one timestamp, whatever arrives.
//
// Thread-safety: one per stream, used by the thread that receives it.

#include <cstdint>
#include <memory>
#include <span>

#include "media/rtp.h"

struct dtmf_rx_state_s;

namespace privox::media {

class EventKeys {
 public:
  // The key pressed, once per event: on the event's first packet, so that a menu answers without
  // waiting for the key's release. '\0' for repeats and for events that are not keys.
  char on_event(uint32_t rtp_timestamp, const TelephoneEvent& event);

 private:
  bool seen_ = false;
  uint32_t last_timestamp_ = 0;
};

class ToneKeys {
 public:
  ToneKeys();
  ~ToneKeys();
  ToneKeys(const ToneKeys&) = delete;
  ToneKeys& operator=(const ToneKeys&) = delete;

  // Feeds 8 kHz linear samples; returns the keys recognised in them (usually none), at most
  // `out.size()`, written to `out`.
  size_t feed(std::span<const int16_t> samples, std::span<char> out);

 private:
  dtmf_rx_state_s* rx_;
};

}  // namespace privox::media
