#include "media/keys.h"

#include <spandsp.h>

namespace privox::media {

char EventKeys::on_event(uint32_t rtp_timestamp, const TelephoneEvent& event) {
  // RFC 4733 §2.5.1.2: every packet of one event carries the timestamp of its start; a new
  // timestamp is a new event (a lost start packet is covered by the ones that follow it).
  if (seen_ && rtp_timestamp == last_timestamp_) return '\0';
  seen_ = true;
  last_timestamp_ = rtp_timestamp;
  return event_key(event.event);
}

ToneKeys::ToneKeys() : rx_(dtmf_rx_init(nullptr, nullptr, nullptr)) {}

ToneKeys::~ToneKeys() { dtmf_rx_free(rx_); }

size_t ToneKeys::feed(std::span<const int16_t> samples, std::span<char> out) {
  if (!rx_) return 0;
  dtmf_rx(rx_, samples.data(), static_cast<int>(samples.size()));
  return dtmf_rx_get(rx_, out.data(), static_cast<int>(out.size()));
}

}  // namespace privox::media
