#pragma once
// Voice kept compact: Ogg Opus (RFC 7845) through libopusenc, encoded as it is recorded and held
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

struct OggOpusEnc;

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
  static int on_write(void* self, const unsigned char* data, int32_t length);
  static int on_close(void* self);

  OggOpusEnc* encoder_ = nullptr;
  std::string out_;  // the Ogg pages so far; wiped when the writer goes
  bool finished_ = false;
};

// The audio in an Ogg Opus stream, mono at 48 kHz (what Opus decodes to); an error names what is
// wrong with the stream.
Result<std::vector<int16_t>> decode_ogg_opus(std::string_view ogg);

}  // namespace privox::media
