#include "media/opus.h"

#include <ogg/ogg.h>
#include <opus/opus.h>
#include <opus/opusfile.h>
#include <sodium.h>

#include <array>
#include <cstddef>
#include <string>

namespace privox::media {

struct OpusWriter::OggStream {
  ogg_stream_state state;
};

namespace {

void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}
void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

Result<std::unique_ptr<OpusWriter>> OpusWriter::create(int sample_rate, int bitrate) {
  std::unique_ptr<OpusWriter> writer(new OpusWriter());
  int error = OPUS_OK;
  writer->encoder_ = opus_encoder_create(sample_rate, 1, OPUS_APPLICATION_VOIP, &error);
  if (!writer->encoder_) return invalid("sample_rate", std::string("opus encoder: ") + opus_strerror(error));
  writer->rate_ = sample_rate;
  opus_encoder_ctl(writer->encoder_, OPUS_SET_BITRATE(bitrate));
  opus_encoder_ctl(writer->encoder_, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
  // Telephone audio has nothing above 4 kHz, and the endpoint encodes hundreds of calls on one thread.
  opus_encoder_ctl(writer->encoder_, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_NARROWBAND));
  opus_encoder_ctl(writer->encoder_, OPUS_SET_COMPLEXITY(3));
  opus_int32 lookahead = 0;
  opus_encoder_ctl(writer->encoder_, OPUS_GET_LOOKAHEAD(&lookahead));
  writer->pre_skip_ = int64_t{lookahead} * 48'000 / sample_rate;
  writer->frame_.reserve(static_cast<size_t>(sample_rate / 50));
  writer->ogg_ = new OggStream;
  uint32_t serial = 0;
  randombytes_buf(&serial, sizeof serial);
  ogg_stream_init(&writer->ogg_->state, static_cast<int>(serial & 0x7fffffff));

  // RFC 7845 §5: the identification header alone on the first page, the comment header on the next.
  std::string head = "OpusHead";
  head += static_cast<char>(1);  // version
  head += static_cast<char>(1);  // mono
  put16(head, static_cast<uint16_t>(writer->pre_skip_));
  put32(head, static_cast<uint32_t>(sample_rate));
  put16(head, 0);                // output gain
  head += static_cast<char>(0);  // channel mapping family 0
  std::string tags = "OpusTags";
  const std::string vendor = "privox";
  put32(tags, static_cast<uint32_t>(vendor.size()));
  tags += vendor;
  put32(tags, 0);  // no user comments: nothing about the caller goes in the file
  for (std::string* packet : {&head, &tags}) {
    ogg_packet p{};
    p.packet = reinterpret_cast<unsigned char*>(packet->data());
    p.bytes = static_cast<long>(packet->size());
    p.b_o_s = packet == &head ? 1 : 0;
    p.packetno = writer->packet_no_++;
    ogg_stream_packetin(&writer->ogg_->state, &p);
    writer->take_pages(true);
  }
  return writer;
}

OpusWriter::~OpusWriter() {
  if (encoder_) opus_encoder_destroy(encoder_);
  if (ogg_) {
    ogg_stream_clear(&ogg_->state);
    delete ogg_;
  }
  // The recording was someone's voice: no copy of it outlives the writer in freed memory.
  if (!frame_.empty()) sodium_memzero(frame_.data(), frame_.size() * sizeof(int16_t));
  if (!out_.empty()) sodium_memzero(out_.data(), out_.size());
}

void OpusWriter::take_pages(bool flush) {
  ogg_page page;
  while (flush ? ogg_stream_flush(&ogg_->state, &page) : ogg_stream_pageout(&ogg_->state, &page)) {
    out_.append(reinterpret_cast<const char*>(page.header), static_cast<size_t>(page.header_len));
    out_.append(reinterpret_cast<const char*>(page.body), static_cast<size_t>(page.body_len));
  }
}

Status OpusWriter::encode_frame(bool last) {
  const size_t frame_samples = static_cast<size_t>(rate_ / 50);
  frame_.resize(frame_samples, 0);  // the last frame is padded with silence
  std::array<unsigned char, 1500> packet{};
  const opus_int32 bytes =
      opus_encode(encoder_, frame_.data(), static_cast<int>(frame_samples), packet.data(), static_cast<opus_int32>(packet.size()));
  if (bytes < 0) return make_error(ErrorCode::internal, std::string("opus: ") + opus_strerror(bytes));
  samples_coded_ += static_cast<int64_t>(frame_samples);
  // The granule position counts 48 kHz samples from the start, look-ahead included; the last one
  // says where the audio really ends, so the padding is trimmed (RFC 7845 §4).
  const int64_t coded = last ? samples_in_ : samples_coded_;
  ogg_packet p{};
  p.packet = packet.data();
  p.bytes = bytes;
  p.e_o_s = last ? 1 : 0;
  p.granulepos = pre_skip_ + coded * 48'000 / rate_;
  p.packetno = packet_no_++;
  ogg_stream_packetin(&ogg_->state, &p);
  take_pages(last);
  sodium_memzero(frame_.data(), frame_.size() * sizeof(int16_t));
  frame_.clear();
  return {};
}

Status OpusWriter::write(std::span<const int16_t> pcm) {
  if (finished_ || !encoder_) return make_error(ErrorCode::internal, "opus: the stream is finished");
  const size_t frame_samples = static_cast<size_t>(rate_ / 50);
  for (int16_t sample : pcm) {
    frame_.push_back(sample);
    ++samples_in_;
    if (frame_.size() == frame_samples) PRIVOX_TRY(encode_frame(false));
  }
  return {};
}

Result<std::string> OpusWriter::finish() {
  if (finished_ || !encoder_) return make_error(ErrorCode::internal, "opus: the stream is finished");
  finished_ = true;
  PRIVOX_TRY(encode_frame(true));  // the partial frame, or one of silence that carries the end
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
