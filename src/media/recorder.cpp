#include "media/recorder.h"

#include <cmath>

namespace privox::media {
namespace {

double level_dbov(std::span<const int16_t> pcm) {
  if (pcm.empty()) return -120.0;
  double sum = 0;
  for (const int16_t s : pcm) sum += static_cast<double>(s) * s;
  const double rms = std::sqrt(sum / static_cast<double>(pcm.size()));
  return rms < 1.0 ? -120.0 : 20.0 * std::log10(rms / 32768.0);
}

}  // namespace

const char* to_string(RecordingEnd end) {
  switch (end) {
    case RecordingEnd::recording: return "recording";
    case RecordingEnd::hangup: return "hangup";
    case RecordingEnd::key: return "key";
    case RecordingEnd::silence: return "silence";
    case RecordingEnd::max_length: return "max_length";
  }
  return "recording";
}

Result<std::unique_ptr<Recorder>> Recorder::create(RecordingLimits limits) {
  if (limits.max_ms <= 0 || limits.silence_ms <= 0 || limits.min_ms < 0)
    return invalid("limits", "message length and silence must be positive");
  PRIVOX_ASSIGN(std::unique_ptr<OpusWriter> writer, OpusWriter::create(8000));
  return std::unique_ptr<Recorder>(new Recorder(limits, std::move(writer)));
}

Recorder::Recorder(RecordingLimits limits, std::unique_ptr<OpusWriter> writer)
    : limits_(limits), writer_(std::move(writer)) {
  silence_.reserve(static_cast<size_t>(limits_.silence_ms / 20 + 1) * kFrameSamples);
}

Status Recorder::flush_silence() {
  if (silence_.empty()) return {};
  Status s = writer_->write(silence_);
  silence_.clear();
  silent_frames_ = 0;
  return s;
}

RecordingEnd Recorder::frame(std::span<const int16_t> pcm) {
  if (end_ != RecordingEnd::recording) return end_;
  pcm = pcm.first(std::min(pcm.size(), kFrameSamples));
  ++kept_frames_;
  if (level_dbov(pcm) < limits_.silence_dbov) {
    silence_.insert(silence_.end(), pcm.begin(), pcm.end());
    silence_.resize(silence_.size() + (kFrameSamples - pcm.size()), 0);
    if (++silent_frames_ * 20 >= limits_.silence_ms) {
      // The silence that ended the message is not part of it.
      kept_frames_ -= silent_frames_;
      silence_.clear();
      silent_frames_ = 0;
      end_ = RecordingEnd::silence;
    }
  } else {
    Status s = flush_silence();
    if (s.ok()) s = writer_->write(pcm);
    if (!s.ok()) {
      failed_ = s;
      end_ = RecordingEnd::hangup;
      return end_;
    }
  }
  if (end_ == RecordingEnd::recording && kept_frames_ * 20 >= limits_.max_ms) end_ = RecordingEnd::max_length;
  return end_;
}

RecordingEnd Recorder::key(char pressed) {
  if (end_ == RecordingEnd::recording && pressed == '#') end_ = RecordingEnd::key;
  return end_;
}

void Recorder::hang_up() {
  if (end_ == RecordingEnd::recording) end_ = RecordingEnd::hangup;
}

Result<std::optional<Recording>> Recorder::finish() {
  hang_up();
  if (!failed_.ok()) return failed_.error();
  // A pause before '#' or a hang-up is part of what the caller left; trailing silence that ended
  // the message was dropped above.
  PRIVOX_TRY(flush_silence());
  PRIVOX_ASSIGN(std::string ogg, writer_->finish());
  if (duration_ms() < limits_.min_ms) return std::optional<Recording>();
  return std::optional<Recording>(Recording{std::move(ogg), duration_ms(), end_});
}

}  // namespace privox::media
