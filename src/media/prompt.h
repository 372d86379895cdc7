#pragma once
// What the media endpoint plays: prompts and greetings as 8 kHz mono 16-bit audio, read from WAV
// through libsndfile, whatever the file's own format (PCM of any width, float, A-law or µ-law, mono
// or stereo, any sample rate: libsamplerate brings it to 8 kHz). A greeting an office manager
// uploads is untrusted input, read from memory: anything that is not a WAV file libsndfile can
// read, is empty, too large or too long is refused with a reason that names the problem.
//
// Thread-safety: free functions, no shared state.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace privox::media {

struct Prompt {
  std::vector<int16_t> samples;  // 8 kHz mono
  int64_t duration_ms() const { return static_cast<int64_t>(samples.size()) / 8; }
};

struct PromptLimits {
  size_t max_bytes = 16u << 20;  // what an upload may weigh
  int64_t max_ms = 300'000;      // and how long it may play
  int64_t min_ms = 100;          // shorter is no greeting (and what a cut-off file leaves)
};

// Errors are invalid("audio", ...), naming what is wrong.
Result<Prompt> load_wav(std::span<const uint8_t> bytes, const PromptLimits& limits = {});
Result<Prompt> load_wav_file(const std::string& path, const PromptLimits& limits = {});
// A voicemail as the endpoint plays it back to its owner: Ogg Opus (media/opus.h) at 8 kHz.
Result<Prompt> load_ogg_opus(std::string_view ogg);

}  // namespace privox::media
