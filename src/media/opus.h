#pragma once
// Voice kept compact: Ogg Opus (RFC 7845), encoded by libopus at the audio's own rate and framed
// by libogg (libopusenc resamples everything to 48 kHz first, which cost four times as much a
// frame: bench/RESULTS.md, voicemail deposits), encoded as it is recorded and held
// in memory only, so that a voicemail never touches disk in clear (the caller seals the bytes
// under their owner's key before anything is stored). About 16 kbit/s for telephone speech, a
// quarter of G.711 (7.5 KB for 3 s against 24 KB). Decoding (libopusfile) is for the listener's
// copy and for tests.
//
// Thread-safety: one encoder per recording, used by one thread at a time.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

struct OpusEncoder;

namespace privox::media {

class OpusWriter {
 public:
  // `sample_rate`: what write() is given (8000 for G.711 audio); `bitrate` in bit/s.
  static Result<std::unique_ptr<OpusWriter>> create(int sample_rate = 8000, int bitrate = 16'000);
  ~OpusWriter();
  OpusWriter(const OpusWriter&) = delete;
  OpusWriter& operator=(const OpusWriter&) = delete;

  // Mono 16-bit samples at the sample rate given to create().
  Status write(std::span<const int16_t> pcm);
  // Ends the stream and hands over its bytes; the writer is spent after this.
  Result<std::string> finish();
  size_t bytes_so_far() const { return out_.size(); }

 private:
  OpusWriter() = default;
  Status encode_frame(bool last);
  void take_pages(bool flush);

  OpusEncoder* encoder_ = nullptr;
  struct OggStream;  // libogg's stream state (an anonymous struct there, so it is wrapped)
  OggStream* ogg_ = nullptr;
  int rate_ = 8000;
  int64_t pre_skip_ = 0;        // 48 kHz samples the decoder drops (the encoder's look-ahead)
  int64_t samples_in_ = 0;      // what write() was given, at `rate_`
  int64_t samples_coded_ = 0;   // what went into packets, at `rate_`
  int64_t packet_no_ = 0;
  std::vector<int16_t> frame_;  // the 20 ms frame being filled
  std::string out_;  // the Ogg pages so far; wiped when the writer goes
  bool finished_ = false;
};

// The audio in an Ogg Opus stream, mono at 48 kHz (what Opus decodes to); an error names what is
// wrong with the stream.
Result<std::vector<int16_t>> decode_ogg_opus(std::string_view ogg);

}  // namespace privox::media
