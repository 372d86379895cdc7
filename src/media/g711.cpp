#include "media/g711.h"

#include <spandsp.h>

#include <algorithm>

namespace privox::media {

size_t g711_decode(G711 law, std::span<const uint8_t> in, std::span<int16_t> out) {
  const size_t n = std::min(in.size(), out.size());
  if (law == G711::pcma)
    for (size_t i = 0; i < n; ++i) out[i] = alaw_to_linear(in[i]);
  else
    for (size_t i = 0; i < n; ++i) out[i] = ulaw_to_linear(in[i]);
  return n;
}

size_t g711_encode(G711 law, std::span<const int16_t> in, std::span<uint8_t> out) {
  const size_t n = std::min(in.size(), out.size());
  if (law == G711::pcma)
    for (size_t i = 0; i < n; ++i) out[i] = linear_to_alaw(in[i]);
  else
    for (size_t i = 0; i < n; ++i) out[i] = linear_to_ulaw(in[i]);
  return n;
}

}  // namespace privox::media
