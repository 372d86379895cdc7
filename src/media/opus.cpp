#include "media/opus.h"

#include <opus/opusenc.h>
#include <opus/opusfile.h>
#include <sodium.h>

#include <cstddef>
#include <string>

namespace privox::media {

int OpusWriter::on_write(void* self, const unsigned char* data, int32_t length) {
  static_cast<OpusWriter*>(self)->out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
  return 0;
}

int OpusWriter::on_close(void*) { return 0; }

Result<std::unique_ptr<OpusWriter>> OpusWriter::create(int sample_rate, int bitrate) {
  std::unique_ptr<OpusWriter> writer(new OpusWriter());
  const OpusEncCallbacks callbacks{&OpusWriter::on_write, &OpusWriter::on_close};
  OggOpusComments* comments = ope_comments_create();
  if (!comments) return make_error(ErrorCode::internal, "opus: out of memory");
  int error = OPE_OK;
  writer->encoder_ = ope_encoder_create_callbacks(&callbacks, writer.get(), comments, sample_rate, 1, 0, &error);
  ope_comments_destroy(comments);
  if (!writer->encoder_)
    return invalid("sample_rate", std::string("opus encoder: ") + ope_strerror(error));
  ope_encoder_ctl(writer->encoder_, OPUS_SET_BITRATE(bitrate));
  ope_encoder_ctl(writer->encoder_, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
  // Telephone audio has nothing above 4 kHz, and the endpoint encodes hundreds of calls on one
  // thread: narrowband at complexity 3 halves the cost of a frame (bench/run-voicemail.sh; about
  // 160 against 330 µs on the benchmark machine, most of it libopusenc's 48 kHz path).
  ope_encoder_ctl(writer->encoder_, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_NARROWBAND));
  ope_encoder_ctl(writer->encoder_, OPUS_SET_COMPLEXITY(3));
  return writer;
}

OpusWriter::~OpusWriter() {
  if (encoder_) ope_encoder_destroy(encoder_);
  // The recording was someone's voice: no copy of it outlives the writer in freed memory.
  if (!out_.empty()) sodium_memzero(out_.data(), out_.size());
}

Status OpusWriter::write(std::span<const int16_t> pcm) {
  if (finished_ || !encoder_) return make_error(ErrorCode::internal, "opus: the stream is finished");
  const int rc = ope_encoder_write(encoder_, pcm.data(), static_cast<int>(pcm.size()));
  if (rc != OPE_OK) return make_error(ErrorCode::internal, std::string("opus: ") + ope_strerror(rc));
  return {};
}

Result<std::string> OpusWriter::finish() {
  if (finished_ || !encoder_) return make_error(ErrorCode::internal, "opus: the stream is finished");
  finished_ = true;
  const int rc = ope_encoder_drain(encoder_);
  if (rc != OPE_OK) return make_error(ErrorCode::internal, std::string("opus: ") + ope_strerror(rc));
  return std::exchange(out_, std::string());
}

Result<std::vector<int16_t>> decode_ogg_opus(std::string_view ogg) {
  int error = 0;
  OggOpusFile* file = op_open_memory(reinterpret_cast<const unsigned char*>(ogg.data()), ogg.size(), &error);
  if (!file) return invalid("audio", "not an Ogg Opus stream (opusfile error " + std::to_string(error) + ")");
  std::vector<int16_t> pcm;
  const ogg_int64_t total = op_pcm_total(file, -1);
  if (total > 0) pcm.reserve(static_cast<size_t>(total));
  // 120 ms at 48 kHz, for two channels: the most op_read() returns at once.
  std::vector<opus_int16> chunk(size_t{5760} * 2);
  while (true) {
    const int n = op_read(file, chunk.data(), static_cast<int>(chunk.size()), nullptr);
    if (n < 0) {
      op_free(file);
      return invalid("audio", "the Ogg Opus stream is damaged (opusfile error " + std::to_string(n) + ")");
    }
    if (n == 0) break;
    const auto samples = static_cast<ptrdiff_t>(n) * op_channel_count(file, -1);
    pcm.insert(pcm.end(), chunk.begin(), chunk.begin() + samples);
  }
  op_free(file);
  return pcm;
}

}  // namespace privox::media
