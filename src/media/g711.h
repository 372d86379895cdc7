#pragma once
// G.711 (A-law and µ-law) to and from 16-bit linear audio, through spandsp's tables: the only
// codecs the media endpoint speaks on the wire (rtpengine transcodes anything else to them).
//
// Thread-safety: free functions, no shared state.

#include <cstdint>
#include <span>

namespace privox::media {

enum class G711 : uint8_t { pcmu = 0, pcma = 8 };  // their static RTP payload types

// Decodes min(in, out) samples; returns how many.
size_t g711_decode(G711 law, std::span<const uint8_t> in, std::span<int16_t> out);
size_t g711_encode(G711 law, std::span<const int16_t> in, std::span<uint8_t> out);

}  // namespace privox::media
