#pragma once
// Problem: a voicemail is recorded until the caller hangs up, presses '#', stays silent for a
// while or reaches the longest message allowed; a message shorter than a second is a hang-up, not a
// message; and the silence that ended it is no part of it. The recorder takes the caller's audio
// one 20 ms frame at a time (decoded, or zeros for a frame the jitter buffer could not fill) and
// the keys pressed, and says when the message has ended and why. Audio goes straight into an
// Ogg Opus stream in memory (media/opus.h); silent frames wait in a buffer sized once, and reach
// the stream only when speech follows them, so a message ended by silence is trimmed of it.
//
// Thread-safety: one per recording, used by one thread at a time.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "media/opus.h"

namespace privox::media {

struct RecordingLimits {
  int64_t max_ms = 180'000;     // voicemail.max_message_seconds
  int64_t silence_ms = 10'000;  // voicemail.silence_seconds: this long under `silence_dbov` ends it
  int64_t min_ms = 1'000;       // a shorter message is discarded
  double silence_dbov = -45.0;  // a frame quieter than this (RMS, dB below full scale) is silent
};

enum class RecordingEnd : uint8_t { recording, hangup, key, silence, max_length };
const char* to_string(RecordingEnd end);

struct Recording {
  std::string ogg;  // Ogg Opus, mono
  int64_t duration_ms = 0;
  RecordingEnd end = RecordingEnd::hangup;
};

class Recorder {
 public:
  static constexpr size_t kFrameSamples = 160;  // 20 ms at 8 kHz

  static Result<std::unique_ptr<Recorder>> create(RecordingLimits limits);

  // One frame of the caller's audio; returns `recording` while the message goes on, else why it
  // ended (then later frames are ignored).
  RecordingEnd frame(std::span<const int16_t> pcm);
  // A key the caller pressed: '#' ends the message.
  RecordingEnd key(char pressed);
  // The caller hung up.
  void hang_up();
  RecordingEnd state() const { return end_; }
  int64_t duration_ms() const { return kept_frames_ * 20; }

  // The message once it has ended (a hang-up if it had not); nullopt when it is shorter than
  // `min_ms`, which discards it.
  Result<std::optional<Recording>> finish();

 private:
  Recorder(RecordingLimits limits, std::unique_ptr<OpusWriter> writer);
  Status flush_silence();

  const RecordingLimits limits_;
  std::unique_ptr<OpusWriter> writer_;
  std::vector<int16_t> silence_;  // silent frames not yet written, capacity fixed at creation
  int64_t kept_frames_ = 0;       // frames written, or waiting in `silence_`
  int64_t silent_frames_ = 0;     // frames in `silence_`
  RecordingEnd end_ = RecordingEnd::recording;
  Status failed_;                 // the encoder's error, reported by finish()
};

}  // namespace privox::media
