#include "media/prompt.h"

#include <samplerate.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "media/opus.h"

namespace privox::media {
namespace {

constexpr int kRate = 8000;

// libsndfile reads from memory through these.
struct Memory {
  std::span<const uint8_t> bytes;
  sf_count_t at = 0;
};

sf_count_t memory_length(void* m) { return static_cast<sf_count_t>(static_cast<Memory*>(m)->bytes.size()); }

sf_count_t memory_seek(sf_count_t offset, int whence, void* m) {
  auto* mem = static_cast<Memory*>(m);
  const auto size = static_cast<sf_count_t>(mem->bytes.size());
  sf_count_t to = offset;
  if (whence == SEEK_CUR) to = mem->at + offset;
  if (whence == SEEK_END) to = size + offset;
  if (to < 0 || to > size) return -1;
  mem->at = to;
  return to;
}

sf_count_t memory_read(void* out, sf_count_t count, void* m) {
  auto* mem = static_cast<Memory*>(m);
  const sf_count_t n = std::min(count, static_cast<sf_count_t>(mem->bytes.size()) - mem->at);
  if (n <= 0) return 0;
  std::copy_n(mem->bytes.begin() + mem->at, n, static_cast<uint8_t*>(out));
  mem->at += n;
  return n;
}

sf_count_t memory_write(const void*, sf_count_t, void*) { return 0; }

sf_count_t memory_tell(void* m) { return static_cast<Memory*>(m)->at; }

Error bad(std::string message) { return invalid("audio", std::move(message)); }

// Mono floats at `rate` to 8 kHz 16-bit samples.
Result<std::vector<int16_t>> to_8k(std::vector<float> mono, int rate) {
  if (rate != kRate) {
    const double ratio = static_cast<double>(kRate) / rate;
    std::vector<float> resampled(static_cast<size_t>(std::ceil(static_cast<double>(mono.size()) * ratio)) + 16);
    SRC_DATA data{};
    data.data_in = mono.data();
    data.input_frames = static_cast<long>(mono.size());
    data.data_out = resampled.data();
    data.output_frames = static_cast<long>(resampled.size());
    data.src_ratio = ratio;
    if (const int rc = src_simple(&data, SRC_SINC_MEDIUM_QUALITY, 1); rc != 0)
      return bad(std::string("cannot resample to 8 kHz: ") + src_strerror(rc));
    resampled.resize(static_cast<size_t>(data.output_frames_gen));
    mono = std::move(resampled);
  }
  std::vector<int16_t> out(mono.size());
  std::transform(mono.begin(), mono.end(), out.begin(), [](float s) {
    return static_cast<int16_t>(std::lround(std::clamp(s, -1.0F, 1.0F) * 32767.0F));
  });
  return out;
}

}  // namespace

Result<Prompt> load_wav(std::span<const uint8_t> bytes, const PromptLimits& limits) {
  if (bytes.empty()) return bad("the file is empty");
  if (bytes.size() > limits.max_bytes)
    return bad("the file is " + std::to_string(bytes.size() >> 10) + " KB; at most " +
               std::to_string(limits.max_bytes >> 10) + " KB");
  Memory memory{bytes};
  SF_VIRTUAL_IO io{memory_length, memory_seek, memory_read, memory_write, memory_tell};
  SF_INFO info{};
  SNDFILE* file = sf_open_virtual(&io, SFM_READ, &info, &memory);
  if (!file) return bad("not an audio file this service can read (a WAV file is expected)");
  const auto close = [&] { sf_close(file); };
  if ((info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_WAV && (info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_WAVEX) {
    close();
    return bad("not a WAV file");
  }
  if (info.channels < 1 || info.channels > 8 || info.samplerate < 4000 || info.samplerate > 192'000 || info.frames <= 0) {
    close();
    return bad("a WAV file with no audio, or with a channel count or sample rate out of range");
  }
  // The buffer below is sized from the header's count; no WAV encoding packs more than 8 samples
  // in a byte (GSM 6.10 packs 5), so a count beyond that is a lie about a file of this size.
  if (static_cast<uint64_t>(info.frames) * static_cast<uint64_t>(info.channels) > uint64_t{8} * bytes.size()) {
    close();
    return bad("the WAV header claims more audio than the file holds");
  }
  if (info.frames / info.samplerate * 1000 > limits.max_ms) {
    close();
    return bad("the audio lasts " + std::to_string(info.frames / info.samplerate) + " s; at most " +
               std::to_string(limits.max_ms / 1000) + " s");
  }
  std::vector<float> interleaved(static_cast<size_t>(info.frames) * static_cast<size_t>(info.channels));
  const sf_count_t read = sf_readf_float(file, interleaved.data(), info.frames);
  close();
  if (read <= 0) return bad("the WAV file's audio cannot be read");
  if (read < info.frames) return bad("the WAV file is cut short: its audio ends before its header says");
  // Mixed to one channel, each at its share.
  std::vector<float> mono(static_cast<size_t>(read));
  for (size_t f = 0; f < mono.size(); ++f) {
    float sum = 0;
    for (int c = 0; c < info.channels; ++c) sum += interleaved[f * static_cast<size_t>(info.channels) + static_cast<size_t>(c)];
    mono[f] = sum / static_cast<float>(info.channels);
  }
  PRIVOX_ASSIGN(std::vector<int16_t> samples, to_8k(std::move(mono), info.samplerate));
  Prompt prompt{std::move(samples)};
  if (prompt.duration_ms() < limits.min_ms)
    return bad("the audio lasts " + std::to_string(prompt.duration_ms()) + " ms; at least " +
               std::to_string(limits.min_ms) + " ms");
  return prompt;
}

Result<Prompt> load_wav_file(const std::string& path, const PromptLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::not_found, "cannot open " + path);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return load_wav(bytes, limits);
}

Result<Prompt> load_ogg_opus(std::string_view ogg) {
  PRIVOX_ASSIGN(const std::vector<int16_t> pcm, decode_ogg_opus(ogg));
  std::vector<float> mono(pcm.size());
  std::transform(pcm.begin(), pcm.end(), mono.begin(), [](int16_t v) { return static_cast<float>(v) / 32768.0F; });
  Prompt prompt;
  PRIVOX_ASSIGN(prompt.samples, to_8k(std::move(mono), 48'000));
  return prompt;
}

}  // namespace privox::media
