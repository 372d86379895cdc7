// libFuzzer target for the SDP offers the media endpoint answers (media/sdp.h): whatever arrives,
// choose_audio either refuses it or returns a choice whose address is an IP literal and whose port
// is not 0, and the answer written from that choice names the chosen law; an SDP read as
// encrypted names an SRTP profile.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//       src/media/sdp.cpp src/media/sdp_fuzz.cpp -lfmt -o sdp_fuzz

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "media/sdp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace privox::media;
  const std::string_view offer(reinterpret_cast<const char*>(data), size);
  // Whatever the direction reads as, reading it never crashes, and a hold is a direction.
  const Direction direction = audio_direction(offer);
  if (is_hold(offer) != (direction == Direction::sendonly || direction == Direction::inactive)) std::abort();
  // Encryption is judged from the m= line's profile: plain RTP/AVP is never encrypted.
  if (audio_encrypted(offer) && offer.find("SAVP") == std::string_view::npos) std::abort();
  // An audio address is an address the SDP holds, and there is none without an audio stream.
  if (const auto address = audio_address(offer)) {
    if (address->empty() || offer.find(*address) == std::string_view::npos) std::abort();
    if (offer.find("m=audio ") == std::string_view::npos) std::abort();
  }
  const auto choice = choose_audio(offer);
  if (!choice) return 0;
  if (choice->port == 0 || choice->address.empty()) std::abort();
  const std::string answer = write_answer(*choice, "127.0.0.1", 40000, 1);
  const std::string_view name = choice->law == G711::pcmu ? "PCMU/8000" : "PCMA/8000";
  if (answer.find(name) == std::string::npos) std::abort();
  return 0;
}
