#include <gtest/gtest.h>
#include <sndfile.h>
#include <spandsp.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <fstream>
#include <iterator>
#include <cmath>
#include <string>
#include <vector>

#include "media/endpoint.h"
#include "media/g711.h"
#include "media/jitter_buffer.h"
#include "media/keys.h"
#include "media/opus.h"
#include "media/prompt.h"
#include "media/recorder.h"
#include "media/rtp.h"
#include "media/sdp.h"

namespace privox::media {
namespace {

std::vector<uint8_t> packet(uint8_t first, uint8_t second, std::vector<uint8_t> rest = {}) {
  std::vector<uint8_t> p = {first, second, 0x12, 0x34, 0, 0, 0x03, 0x20, 0xde, 0xad, 0xbe, 0xef};
  p.insert(p.end(), rest.begin(), rest.end());
  return p;
}

TEST(RtpTest, ReadsTheHeaderAndAViewOfThePayload) {
  const auto p = packet(0x80, 0x88, {1, 2, 3});
  const RtpParse r = parse_rtp(p);
  ASSERT_TRUE(r.packet) << to_string(r.error);
  EXPECT_EQ(r.packet->header.payload_type, 8);
  EXPECT_TRUE(r.packet->header.marker);
  EXPECT_EQ(r.packet->header.sequence, 0x1234);
  EXPECT_EQ(r.packet->header.timestamp, 800u);
  EXPECT_EQ(r.packet->header.ssrc, 0xdeadbeefu);
  ASSERT_EQ(r.packet->payload.size(), 3u);
  EXPECT_EQ(r.packet->payload.data(), p.data() + 12);
}

TEST(RtpTest, SkipsCsrcsAndTheExtensionAndDropsPadding) {
  // Two CSRCs, an extension of one word, then a payload of 2 bytes padded with 2.
  const auto p = packet(0xb2, 0x00, {0, 0, 0, 1, 0, 0, 0, 2, 0xbe, 0xde, 0, 1, 9, 9, 9, 9, 7, 7, 0, 2});
  const RtpParse r = parse_rtp(p);
  ASSERT_TRUE(r.packet) << to_string(r.error);
  ASSERT_EQ(r.packet->payload.size(), 2u);
  EXPECT_EQ(r.packet->payload[0], 7);
}

TEST(RtpTest, RefusesWhatIsNotUsableRtpAndSaysWhy) {
  EXPECT_EQ(parse_rtp(std::vector<uint8_t>(11, 0x80)).error, RtpError::too_short);
  EXPECT_EQ(parse_rtp(packet(0x40, 0)).error, RtpError::not_version_2);
  EXPECT_EQ(parse_rtp(packet(0x8f, 0)).error, RtpError::csrc_past_end);
  EXPECT_EQ(parse_rtp(packet(0x90, 0, {0, 0, 0, 9})).error, RtpError::bad_extension);
  EXPECT_EQ(parse_rtp(packet(0x90, 0, {0, 0})).error, RtpError::bad_extension);
  EXPECT_EQ(parse_rtp(packet(0xa0, 0, {1, 5})).error, RtpError::bad_padding);
  EXPECT_EQ(parse_rtp(packet(0xa0, 0, {1, 0})).error, RtpError::bad_padding);
  EXPECT_EQ(parse_rtp(packet(0x80, 200)).error, RtpError::rtcp);
  EXPECT_FALSE(parse_rtp(packet(0x80, 200)).packet);
  EXPECT_EQ(to_string(RtpError::bad_padding), "padding longer than the payload");
}

TEST(RtpTest, WritesAHeaderItReadsBack) {
  std::array<uint8_t, kRtpHeaderBytes + 1> bytes{};
  write_rtp_header({.payload_type = 101, .marker = true, .sequence = 65535, .timestamp = 0x01020304, .ssrc = 7},
                   std::span<uint8_t, kRtpHeaderBytes>(bytes.data(), kRtpHeaderBytes));
  const RtpParse r = parse_rtp(bytes);
  ASSERT_TRUE(r.packet);
  EXPECT_EQ(r.packet->header.payload_type, 101);
  EXPECT_TRUE(r.packet->header.marker);
  EXPECT_EQ(r.packet->header.sequence, 65535);
  EXPECT_EQ(r.packet->header.timestamp, 0x01020304u);
  EXPECT_EQ(r.packet->header.ssrc, 7u);
}

TEST(KeysTest, EachTelephoneEventIsOneKeyPressWhateverItsRepeats) {
  EventKeys keys;
  std::string pressed;
  const auto feed = [&](uint32_t ts, uint8_t event, bool end) {
    const std::array<uint8_t, 4> payload = {event, static_cast<uint8_t>(end ? 0x8a : 0x0a), 0, 160};
    const auto e = parse_telephone_event(payload);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->end, end);
    EXPECT_EQ(e->volume, 10);
    if (const char k = keys.on_event(ts, *e)) pressed += k;
  };
  // '1': start, continuation, three end packets; '#': its start lost; '1' again; a flash (16).
  feed(1000, 1, false);
  feed(1000, 1, false);
  for (int i = 0; i < 3; ++i) feed(1000, 1, true);
  feed(2000, 11, false);
  feed(2000, 11, true);
  feed(3000, 1, false);
  feed(4000, 16, false);
  EXPECT_EQ(pressed, "1#1");
  EXPECT_FALSE(parse_telephone_event(std::array<uint8_t, 3>{1, 2, 3}));
}

TEST(KeysTest, InBandTonesAreRecognisedInG711Audio) {
  // spandsp's generator plays "159#" as tones; they go through A-law and back, as on the wire.
  dtmf_tx_state_t* tx = dtmf_tx_init(nullptr);
  ASSERT_NE(tx, nullptr);
  dtmf_tx_put(tx, "159#", -1);
  ToneKeys keys;
  std::string heard;
  std::array<int16_t, 160> tone{};
  std::array<uint8_t, 160> wire{};
  std::array<int16_t, 160> back{};
  std::array<char, 8> got{};
  for (int frame = 0; frame < 150; ++frame) {
    const int n = dtmf_tx(tx, tone.data(), static_cast<int>(tone.size()));
    std::fill(tone.begin() + n, tone.end(), int16_t{0});
    g711_encode(G711::pcma, tone, wire);
    g711_decode(G711::pcma, wire, back);
    const size_t k = keys.feed(back, got);
    heard.append(got.data(), k);
  }
  dtmf_tx_free(tx);
  EXPECT_EQ(heard, "159#");
}

TEST(G711Test, BothLawsRoundTripWithinTheirQuantisation) {
  const std::array<int16_t, 5> samples = {0, 1000, -1000, 32000, -32000};
  for (const G711 law : {G711::pcma, G711::pcmu}) {
    std::array<uint8_t, 5> wire{};
    std::array<int16_t, 5> back{};
    ASSERT_EQ(g711_encode(law, samples, wire), 5u);
    ASSERT_EQ(g711_decode(law, wire, back), 5u);
    for (size_t i = 0; i < samples.size(); ++i)
      EXPECT_NEAR(back[i], samples[i], std::abs(samples[i]) / 16.0 + 16) << static_cast<int>(law) << " " << i;
  }
}

std::vector<uint8_t> frame(uint8_t fill) { return std::vector<uint8_t>(160, fill); }

TEST(JitterBufferTest, ReordersAndPlaysOneFramePerTickOnceTheTargetIsBuffered) {
  JitterBuffer jb(3);
  std::array<uint8_t, JitterBuffer::kMaxFrameBytes> out{};
  size_t length = 0;
  EXPECT_EQ(jb.push(101, frame(1)), JitterBuffer::Push::stored);
  EXPECT_EQ(jb.pop(out, length), JitterBuffer::Pop::waiting);
  jb.push(103, frame(3));
  jb.push(102, frame(2));  // out of order
  std::vector<uint8_t> played;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(jb.pop(out, length), JitterBuffer::Pop::frame);
    EXPECT_EQ(length, 160u);
    played.push_back(out[0]);
  }
  EXPECT_EQ(played, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(jb.push(102, frame(2)), JitterBuffer::Push::late);
}

TEST(JitterBufferTest, SaysWhenAFrameIsMissingAndDropsDuplicatesAndOversizedFrames) {
  JitterBuffer jb(1);
  std::array<uint8_t, JitterBuffer::kMaxFrameBytes> out{};
  size_t length = 0;
  jb.push(65535, frame(1));
  EXPECT_EQ(jb.push(65535, frame(1)), JitterBuffer::Push::duplicate);
  jb.push(1, frame(3));  // 0 lost, across the wrap
  EXPECT_EQ(jb.pop(out, length), JitterBuffer::Pop::frame);
  EXPECT_EQ(jb.pop(out, length), JitterBuffer::Pop::missing);
  EXPECT_EQ(jb.pop(out, length), JitterBuffer::Pop::frame);
  EXPECT_EQ(out[0], 3);
  // Dry: conceal, but keep the place for what comes next.
  EXPECT_EQ(jb.pop(out, length), JitterBuffer::Pop::missing);
  jb.push(2, frame(4));
  EXPECT_EQ(jb.pop(out, length), JitterBuffer::Pop::frame);
  EXPECT_EQ(out[0], 4);
  EXPECT_EQ(jb.push(3, std::vector<uint8_t>(JitterBuffer::kMaxFrameBytes + 1)), JitterBuffer::Push::too_large);
  EXPECT_EQ(jb.stats().duplicate, 1u);
  EXPECT_EQ(jb.stats().missing, 2u);
  EXPECT_EQ(jb.stats().played, 3u);
}

TEST(JitterBufferTest, AJumpBeyondTheRingRestartsThere) {
  JitterBuffer jb(1);
  std::array<uint8_t, JitterBuffer::kMaxFrameBytes> out{};
  size_t length = 0;
  jb.push(10, frame(1));
  EXPECT_EQ(jb.push(10 + JitterBuffer::kSlots, frame(2)), JitterBuffer::Push::restarted);
  EXPECT_EQ(jb.buffered(), 1u);
  ASSERT_EQ(jb.pop(out, length), JitterBuffer::Pop::frame);
  EXPECT_EQ(out[0], 2);
}

TEST(OpusTest, AVoiceRecordingIsCompactAndDecodesToItsLengthAndItsTone) {
  // Three seconds of a 440 Hz tone at 8 kHz, written in 20 ms frames as the endpoint will.
  auto writer = OpusWriter::create(8000, 16'000);
  ASSERT_TRUE(writer.ok()) << writer.error().describe();
  std::vector<int16_t> frame_pcm(160);
  size_t n = 0;
  for (int f = 0; f < 150; ++f) {
    for (int16_t& s : frame_pcm) s = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * static_cast<double>(n++) / 8000));
    ASSERT_TRUE((*writer)->write(frame_pcm).ok());
  }
  auto ogg = (*writer)->finish();
  ASSERT_TRUE(ogg.ok()) << ogg.error().describe();
  EXPECT_EQ(ogg->substr(0, 4), "OggS");
  EXPECT_LT(ogg->size(), 3 * 24'000 / 8 * 2) << "well under G.711's 24 KB for 3 s";
  EXPECT_FALSE((*writer)->write(frame_pcm).ok()) << "a finished stream takes no more audio";

  auto pcm = decode_ogg_opus(*ogg);
  ASSERT_TRUE(pcm.ok()) << pcm.error().describe();
  EXPECT_NEAR(static_cast<double>(pcm->size()) / 48'000, 3.0, 0.05);
  // The tone survives: zero crossings in the middle second give its frequency.
  int crossings = 0;
  for (size_t i = 48'001; i < 96'000; ++i) crossings += ((*pcm)[i - 1] < 0) != ((*pcm)[i] < 0);
  EXPECT_NEAR(crossings / 2.0, 440, 10);
}

TEST(OpusTest, WhatIsNotOggOpusIsRefusedWithAReason) {
  const auto bad = decode_ogg_opus("RIFF....WAVEfmt not opus at all");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().describe().find("not an Ogg Opus stream"), std::string::npos);
}

// 20 ms frames of a tone (speech stands in) or of silence, as the endpoint feeds them.
class RecorderTest : public ::testing::Test {
 protected:
  std::vector<int16_t> tone_frame() {
    std::vector<int16_t> f(Recorder::kFrameSamples);
    for (int16_t& s : f) s = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * static_cast<double>(n_++) / 8000));
    return f;
  }
  static std::vector<int16_t> silent_frame() { return std::vector<int16_t>(Recorder::kFrameSamples, 3); }
  // Feeds `ms` of tone or silence; returns the state after the last frame.
  RecordingEnd feed(Recorder& r, int ms, bool speech) {
    RecordingEnd state = RecordingEnd::recording;
    for (int t = 0; t < ms; t += 20) state = r.frame(speech ? tone_frame() : silent_frame());
    return state;
  }
  static std::unique_ptr<Recorder> recorder(RecordingLimits limits = {}) {
    auto r = Recorder::create(limits);
    EXPECT_TRUE(r.ok());
    return std::move(r).value();
  }
  size_t n_ = 0;
};

TEST_F(RecorderTest, SilenceEndsTheMessageAndIsTrimmedFromItButAPauseIsKept) {
  auto r = recorder({.max_ms = 180'000, .silence_ms = 2'000});
  EXPECT_EQ(feed(*r, 1'000, true), RecordingEnd::recording);
  EXPECT_EQ(feed(*r, 1'000, false), RecordingEnd::recording);  // a pause
  EXPECT_EQ(feed(*r, 1'000, true), RecordingEnd::recording);
  EXPECT_EQ(feed(*r, 2'000, false), RecordingEnd::silence);
  EXPECT_EQ(r->frame(tone_frame()), RecordingEnd::silence) << "later frames are ignored";
  auto message = r->finish();
  ASSERT_TRUE(message.ok()) << message.error().describe();
  ASSERT_TRUE(message->has_value());
  EXPECT_EQ((*message)->duration_ms, 3'000);
  EXPECT_EQ((*message)->end, RecordingEnd::silence);
  auto pcm = decode_ogg_opus((*message)->ogg);
  ASSERT_TRUE(pcm.ok());
  EXPECT_NEAR(static_cast<double>(pcm->size()) / 48'000, 3.0, 0.05);
}

TEST_F(RecorderTest, HashEndsItAndSoDoesTheLongestMessageAllowed) {
  auto r = recorder();
  feed(*r, 1'500, true);
  EXPECT_EQ(r->key('5'), RecordingEnd::recording);
  EXPECT_EQ(r->key('#'), RecordingEnd::key);
  auto message = r->finish();
  ASSERT_TRUE(message.ok() && message->has_value());
  EXPECT_EQ((*message)->end, RecordingEnd::key);
  EXPECT_EQ((*message)->duration_ms, 1'500);

  auto capped = recorder({.max_ms = 2'000});
  EXPECT_EQ(feed(*capped, 1'980, true), RecordingEnd::recording);
  EXPECT_EQ(feed(*capped, 20, true), RecordingEnd::max_length);
  auto cut = capped->finish();
  ASSERT_TRUE(cut.ok() && cut->has_value());
  EXPECT_EQ((*cut)->duration_ms, 2'000);
  EXPECT_EQ((*cut)->end, RecordingEnd::max_length);
}

TEST_F(RecorderTest, AMessageUnderASecondIsDiscardedAndAHangUpEndsOne) {
  auto brief = recorder();
  feed(*brief, 800, true);
  brief->hang_up();
  auto none = brief->finish();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto r = recorder();
  feed(*r, 1'200, true);
  r->hang_up();
  EXPECT_EQ(r->state(), RecordingEnd::hangup);
  auto message = r->finish();
  ASSERT_TRUE(message.ok() && message->has_value());
  EXPECT_EQ((*message)->end, RecordingEnd::hangup);
  EXPECT_STREQ(to_string((*message)->end), "hangup");
  EXPECT_FALSE(Recorder::create({.max_ms = 0}).ok());
}

// A WAV file in memory, written by libsndfile: `seconds` of a 440 Hz tone.
std::vector<uint8_t> wav_bytes(int rate, int channels, int format, double seconds) {
  const std::string path = ::testing::TempDir() + "/privox-prompt-" + std::to_string(rate) + ".wav";
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  EXPECT_NE(f, nullptr) << sf_strerror(nullptr);
  const auto frames = static_cast<size_t>(seconds * rate);
  std::vector<float> pcm(frames * static_cast<size_t>(channels));
  for (size_t i = 0; i < frames; ++i)
    for (int c = 0; c < channels; ++c)
      pcm[i * static_cast<size_t>(channels) + static_cast<size_t>(c)] =
          0.25F * static_cast<float>(std::sin(2 * M_PI * 440 * static_cast<double>(i) / rate));
  sf_writef_float(f, pcm.data(), static_cast<sf_count_t>(frames));
  sf_close(f);
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(PromptTest, ReadsDebiansPromptsAndUploadsOfAnyRateAsEightKilohertzMono) {
  // Debian's asterisk-core-sounds-en-wav (CC-BY-SA, credited in the README): 8 kHz mono already.
  auto intro = load_wav_file("/usr/share/asterisk/sounds/en_US_f_Allison/vm-intro.wav");
  ASSERT_TRUE(intro.ok()) << intro.error().describe();
  EXPECT_NEAR(static_cast<double>(intro->duration_ms()), 45235 / 8.0, 1);

  // A greeting recorded on a computer: 44.1 kHz stereo float, 2 s.
  const auto upload = load_wav(wav_bytes(44'100, 2, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2.0));
  ASSERT_TRUE(upload.ok()) << upload.error().describe();
  EXPECT_NEAR(static_cast<double>(upload->duration_ms()), 2000, 5);
  int crossings = 0;
  for (size_t i = 4001; i < 12'000; ++i) crossings += (upload->samples[i - 1] < 0) != (upload->samples[i] < 0);
  EXPECT_NEAR(crossings / 2.0, 440, 5) << "the tone survives the resampling";

  const auto alaw = load_wav(wav_bytes(8000, 1, SF_FORMAT_WAV | SF_FORMAT_ALAW, 1.0));
  ASSERT_TRUE(alaw.ok()) << alaw.error().describe();
  EXPECT_EQ(alaw->samples.size(), 8000u);
}

TEST(PromptTest, AnUploadThatIsNotAUsableWavIsRefusedWithItsReason) {
  const auto reason = [](const Result<Prompt>& r) { return r.ok() ? std::string("accepted") : r.error().describe(); };
  EXPECT_EQ(reason(load_wav({})), "audio: the file is empty");
  const std::string text = "this is a text file, not audio at all";
  EXPECT_NE(reason(load_wav(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()))).find("WAV file is expected"),
            std::string::npos);
  const auto aiff = wav_bytes(8000, 1, SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 0.5);
  EXPECT_EQ(reason(load_wav(aiff)), "audio: not a WAV file");
  const auto long_one = wav_bytes(8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 3.0);
  EXPECT_EQ(reason(load_wav(long_one, {.max_ms = 2'000})), "audio: the audio lasts 3 s; at most 2 s");
  EXPECT_NE(reason(load_wav(long_one, {.max_bytes = 1'024})).find("at most 1 KB"), std::string::npos);
  auto cut = long_one;
  cut.resize(60);  // a header that promises 3 s, and 16 bytes of audio
  const std::string why = reason(load_wav(cut));
  EXPECT_EQ(why, "audio: the audio lasts 1 ms; at least 100 ms");  // libsndfile counts what is there
}


// ---- SDP: what the endpoint answers ----

constexpr std::string_view kBaresipOffer =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 30000 RTP/AVP 96 8 0 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

TEST(SdpTest, ChoosesTheCallersFirstG711LawAndItsTelephoneEvents) {
  const auto choice = choose_audio(kBaresipOffer);
  ASSERT_TRUE(choice.ok()) << choice.error().describe();
  EXPECT_EQ(choice->address, "127.0.0.1");
  EXPECT_EQ(choice->port, 30000);
  EXPECT_EQ(choice->law, G711::pcma) << "PCMA comes before PCMU in the offer";
  EXPECT_EQ(choice->event_type, 101);

  const std::string answer = write_answer(*choice, "::1", 40002, 7);
  EXPECT_NE(answer.find("c=IN IP6 ::1\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("m=audio 40002 RTP/AVP 8 101\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("a=rtpmap:8 PCMA/8000\r\n"), std::string::npos) << answer;
  const auto again = choose_audio(answer);
  ASSERT_TRUE(again.ok()) << "privox reads its own answer: " << again.error().describe();
  EXPECT_EQ(again->port, 40002);
}

// The first audio stream's address: its own c= line wins over the session's; anything that is not
// an IP literal, or no audio stream at all, reads as none.
TEST(SdpTest, ReadsTheAudioStreamsConnectionAddress) {
  const std::string session = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n";
  EXPECT_EQ(audio_address(session + "m=audio 4000 RTP/AVP 0\r\n"), "10.0.0.5");
  EXPECT_EQ(audio_address(session + "m=video 5000 RTP/AVP 96\r\nc=IN IP4 192.0.2.9\r\nm=audio 4000 RTP/AVP 0\r\n"
                                    "c=IN IP6 2001:db8::5\r\n"),
            "2001:db8::5");
  EXPECT_EQ(audio_address(session + "m=video 5000 RTP/AVP 96\r\n"), std::nullopt) << "no audio stream";
  EXPECT_EQ(audio_address("v=0\r\nc=IN IP4 phone.example\r\nm=audio 4000 RTP/AVP 0\r\n"), std::nullopt);
}

TEST(SdpTest, TellsSrtpThatEncryptsFromPlainAndNullSuites) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
  const std::string key = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
  EXPECT_TRUE(audio_encrypted(head + "m=audio 4000 RTP/SAVP 0\r\n" + key));
  EXPECT_TRUE(audio_encrypted(head + "m=audio 4000 RTP/SAVPF 0\r\n" + key));
  EXPECT_FALSE(audio_encrypted(head + "m=audio 4000 RTP/AVP 0\r\n" + key)) << "a key beside plain RTP is unused";
  EXPECT_FALSE(audio_encrypted(head + "m=audio 4000 RTP/SAVP 0\r\n")) << "SAVP with no key cannot be keyed";
  EXPECT_FALSE(audio_encrypted(head + "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 NULL_HMAC_SHA1_80 inline:abc\r\n"))
      << "a NULL suite authenticates but leaves the audio in clear";
  EXPECT_FALSE(audio_encrypted(head + key + "m=audio 4000 RTP/SAVP 0\r\n")) << "a key belongs to its stream";
  EXPECT_FALSE(audio_encrypted(head + "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/SAVP 0\r\n" + key))
      << "only the first audio stream counts";
  EXPECT_TRUE(audio_encrypted(head + "a=fingerprint:sha-256 8B:87\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"))
      << "DTLS-SRTP: keyed by the handshake the fingerprint pins";
  EXPECT_FALSE(audio_encrypted(head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n")) << "DTLS with nothing to pin";
  EXPECT_FALSE(audio_encrypted("not an SDP")) << "unreadable: never encrypted";
}

TEST(SdpTest, ReadsTheAudioDirectionAndTellsAHold) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
  const std::string audio = "m=audio 4000 RTP/AVP 0\r\n";
  EXPECT_EQ(audio_direction(head + audio), Direction::sendrecv) << "no attribute: sendrecv";
  EXPECT_EQ(audio_direction(head + audio + "a=sendonly\r\n"), Direction::sendonly);
  EXPECT_TRUE(is_hold(head + audio + "a=sendonly\r\n"));
  EXPECT_TRUE(is_hold(head + audio + "a=inactive\r\n"));
  EXPECT_FALSE(is_hold(head + audio + "a=recvonly\r\n")) << "the holder's peer answers recvonly";
  EXPECT_TRUE(is_hold(head + "a=sendonly\r\n" + audio)) << "a session-level attribute applies to the stream";
  EXPECT_FALSE(is_hold(head + "a=sendonly\r\n" + audio + "a=sendrecv\r\n")) << "the stream's own wins";
  EXPECT_TRUE(is_hold("v=0\r\nc=IN IP4 0.0.0.0\r\n" + audio)) << "RFC 2543 hold";
  EXPECT_FALSE(is_hold(head + "m=video 5000 RTP/AVP 96\r\na=sendonly\r\n" + audio))
      << "only the audio stream's direction counts";
  EXPECT_FALSE(is_hold("not an SDP a=sendonly")) << "unreadable: never a hold";
}

TEST(SdpTest, AnswersAHoldWithTheMatchingDirection) {
  EXPECT_EQ(answering(Direction::sendonly), Direction::recvonly);
  EXPECT_EQ(answering(Direction::recvonly), Direction::sendonly);
  EXPECT_EQ(answering(Direction::inactive), Direction::inactive);
  EXPECT_EQ(answering(Direction::sendrecv), Direction::sendrecv);
  const std::string offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendrecv\r\n"
                            "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
  const std::string held = with_direction(offer, Direction::recvonly);
  EXPECT_EQ(audio_direction(held), Direction::recvonly) << held;
  EXPECT_EQ(held.find("a=sendrecv"), std::string::npos) << "every other direction attribute goes: " << held;
  EXPECT_NE(held.find("m=audio 4000 RTP/AVP 0\r\na=recvonly\r\n"), std::string::npos) << held;
  EXPECT_NE(held.find("a=rtpmap:0 PCMU/8000\r\n"), std::string::npos) << "the rest is kept: " << held;
  const auto still = choose_audio(held);
  ASSERT_TRUE(still.ok()) << still.error().describe();
  EXPECT_EQ(still->port, 4000);
  EXPECT_EQ(with_direction("v=0\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 0\n", Direction::inactive),
            "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=inactive\r\n")
      << "bare line feeds are written as CRLF";
}

TEST(SdpTest, RefusesOffersItCannotAnswerAndSaysWhy) {
  const auto no_g711 = choose_audio("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 9 96\r\na=rtpmap:96 opus/48000/2\r\n");
  ASSERT_FALSE(no_g711.ok());
  EXPECT_NE(no_g711.error().message.find("G.711"), std::string::npos) << no_g711.error().message;
  const auto declined = choose_audio("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 0 RTP/AVP 0\r\n");
  ASSERT_FALSE(declined.ok());
  EXPECT_NE(declined.error().message.find("declined"), std::string::npos);
  EXPECT_FALSE(choose_audio("v=0\r\nc=IN IP4 phone.example\r\nm=audio 4000 RTP/AVP 0\r\n").ok()) << "a name, not an IP";
  EXPECT_FALSE(choose_audio("v=0\r\nm=audio 4000 RTP/AVP 0\r\n").ok()) << "no connection address";
  EXPECT_FALSE(choose_audio("v=0\r\nc=IN IP4 10.0.0.1\r\nm=video 4000 RTP/AVP 96\r\n").ok()) << "no audio";
  EXPECT_FALSE(choose_audio("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/SAVP 0\r\n").ok()) << "SRTP is rtpengine's";
  EXPECT_FALSE(choose_audio("hello").ok());
  EXPECT_FALSE(choose_audio(std::string(20'000, 'a')).ok());
}

// ---- the endpoint, over real UDP on loopback ----

// A caller's RTP socket on loopback.
class Caller {
 public:
  explicit Caller(const char* address = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, address, &a.sin_addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t length = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length);
    port_ = ntohs(a.sin_port);
  }
  ~Caller() { ::close(fd_); }
  uint16_t port() const { return port_; }
  AudioChoice choice() const {
    AudioChoice c;
    c.address = "127.0.0.1";
    c.port = port_;
    c.law = G711::pcmu;
    c.event_type = 101;
    return c;
  }
  void send_to(uint16_t port, const std::vector<uint8_t>& datagram) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    ::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  // Streams `ms` of a 440 Hz tone as PCMU, paced at 20 ms, from sequence `seq` on.
  void stream_tone(uint16_t port, int ms, uint16_t& seq, uint32_t& ts) const {
    size_t n = 0;
    for (int t = 0; t < ms; t += 20) {
      std::array<int16_t, 160> pcm{};
      for (int16_t& s : pcm) s = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * static_cast<double>(n++) / 8000));
      std::vector<uint8_t> datagram(12 + 160);
      RtpHeader h;
      h.payload_type = 0;
      h.sequence = seq++;
      h.timestamp = ts;
      h.ssrc = 42;
      ts += 160;
      write_rtp_header(h, std::span<uint8_t, kRtpHeaderBytes>(datagram.data(), kRtpHeaderBytes));
      g711_encode(G711::pcmu, pcm, std::span<uint8_t>(datagram.data() + 12, 160));
      send_to(port, datagram);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void press(uint16_t port, uint8_t event, uint16_t& seq, uint32_t ts) const {
    for (int repeat = 0; repeat < 3; ++repeat) {
      std::vector<uint8_t> datagram(12 + 4);
      RtpHeader h;
      h.payload_type = 101;
      h.sequence = seq++;
      h.timestamp = ts;
      h.ssrc = 42;
      write_rtp_header(h, std::span<uint8_t, kRtpHeaderBytes>(datagram.data(), kRtpHeaderBytes));
      datagram[12] = event;
      datagram[13] = repeat == 2 ? 0x8a : 0x0a;
      datagram[15] = static_cast<uint8_t>(160 * (repeat + 1));
      send_to(port, datagram);
    }
  }
  // One 20 ms PCMU frame of a `hz` tone, the n-th of its stream.
  void send_tone_frame(uint16_t port, int hz, uint16_t n) const {
    std::array<int16_t, 160> pcm{};
    for (size_t i = 0; i < pcm.size(); ++i)
      pcm[i] = static_cast<int16_t>(6000 * std::sin(2 * M_PI * hz * static_cast<double>(size_t{n} * 160 + i) / 8000));
    std::vector<uint8_t> datagram(12 + 160);
    RtpHeader h;
    h.payload_type = 0;
    h.sequence = n;
    h.timestamp = n * 160u;
    h.ssrc = static_cast<uint32_t>(hz);
    write_rtp_header(h, std::span<uint8_t, kRtpHeaderBytes>(datagram.data(), kRtpHeaderBytes));
    g711_encode(G711::pcmu, pcm, std::span<uint8_t>(datagram.data() + 12, 160));
    send_to(port, datagram);
  }
  // What arrived so far (PCMU), decoded in arrival order.
  std::vector<int16_t> heard() const {
    std::vector<int16_t> out;
    std::array<uint8_t, 1500> buffer{};
    std::array<int16_t, 1500> pcm{};
    ssize_t got = 0;
    while ((got = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT)) > 12) {
      const size_t n = g711_decode(G711::pcmu, std::span<const uint8_t>(buffer.data() + 12, static_cast<size_t>(got) - 12), pcm);
      out.insert(out.end(), pcm.begin(), pcm.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return out;
  }
  // Datagrams that arrive within `ms`.
  size_t drain(int ms) const {
    size_t got = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    std::array<uint8_t, 1500> buffer{};
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) > 0 && ::recv(fd_, buffer.data(), buffer.size(), 0) > 0) ++got;
    }
    return got;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class EndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EndpointConfig config;
    config.first_port = 46000;
    config.last_port = 46999;
    auto e = Endpoint::start(
        config,
        [this](SessionEnd end) {
          std::lock_guard lock(mutex_);
          ended_.push_back(std::move(end));
          changed_.notify_all();
        },
        [this](uint64_t, char key) {
          std::lock_guard lock(mutex_);
          pressed_ += key;
          changed_.notify_all();
        },
        [this](uint64_t, std::optional<Recording> recording) {
          std::lock_guard lock(mutex_);
          recorded_.push_back(std::move(recording));
          changed_.notify_all();
        });
    ASSERT_TRUE(e.ok()) << e.error().describe();
    endpoint_ = std::move(e).value();
  }
  std::optional<SessionEnd> wait_end(int seconds = 5) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, std::chrono::seconds(seconds), [this] { return !ended_.empty(); })) return std::nullopt;
    SessionEnd end = std::move(ended_.front());
    ended_.erase(ended_.begin());
    return end;
  }
  static std::shared_ptr<const Prompt> tone_of(int ms) {
    auto p = std::make_shared<Prompt>();
    p->samples.assign(static_cast<size_t>(ms) * 8, 1000);
    return p;
  }

  std::optional<std::optional<Recording>> wait_recorded(int seconds = 5) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, std::chrono::seconds(seconds), [this] { return !recorded_.empty(); }))
      return std::nullopt;
    std::optional<Recording> r = std::move(recorded_.front());
    recorded_.erase(recorded_.begin());
    return r;
  }
  std::string pressed() {
    std::lock_guard lock(mutex_);
    return pressed_;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<SessionEnd> ended_;
  std::string pressed_;
  std::vector<std::optional<Recording>> recorded_;
  std::unique_ptr<Endpoint> endpoint_;
};

TEST_F(EndpointTest, PlaysItsPromptsThenRecordsUntilHash) {
  Caller caller;
  SessionPlan plan;
  plan.remote = caller.choice();
  plan.prompts = {tone_of(200), std::make_shared<Prompt>(record_tone())};
  auto opened = endpoint_->open(plan);
  ASSERT_TRUE(opened.ok()) << opened.error().describe();
  EXPECT_EQ(opened->port % 2, 0) << "RTP on an even port, RTCP on the next";
  // 200 ms of prompt and 500 ms of tone: 35 frames, paced.
  const size_t heard = caller.drain(1000);
  EXPECT_GE(heard, 33u);
  EXPECT_LE(heard, 37u);

  uint16_t seq = 100;
  uint32_t ts = 0;
  caller.stream_tone(opened->port, 1500, seq, ts);
  caller.press(opened->port, 11, seq, ts);  // '#'
  const auto end = wait_end();
  ASSERT_TRUE(end);
  EXPECT_EQ(end->session, opened->session);
  ASSERT_EQ(end->result, SessionResult::recorded) << to_string(end->result);
  ASSERT_TRUE(end->recording);
  EXPECT_EQ(end->recording->end, RecordingEnd::key);
  EXPECT_NEAR(static_cast<double>(end->recording->duration_ms), 1500, 200);
  auto pcm = decode_ogg_opus(end->recording->ogg);
  ASSERT_TRUE(pcm.ok()) << pcm.error().describe();
  int crossings = 0;
  for (size_t i = 24'001; i < 48'000 && i < pcm->size(); ++i) crossings += ((*pcm)[i - 1] < 0) != ((*pcm)[i] < 0);
  EXPECT_NEAR(crossings, 440, 20) << "half a second of the caller's 440 Hz tone crosses zero 440 times";
  EXPECT_GE(end->packets_in, 70u);
  EXPECT_EQ(endpoint_->sessions(), 0u);
}

TEST_F(EndpointTest, AMenuSessionRecordsWhenAskedAndGoesBackToItsMenu) {
  Caller caller;
  SessionPlan plan;
  plan.remote = caller.choice();
  plan.menu = true;
  auto opened = endpoint_->open(plan);
  ASSERT_TRUE(opened.ok()) << opened.error().describe();
  uint16_t seq = 1;
  uint32_t ts = 0;
  caller.press(opened->port, 1, seq, ts);  // '1' goes to the menu
  ts += 800;
  ASSERT_TRUE(endpoint_->record(opened->session, {tone_of(200)}, RecordingLimits{60'000, 5'000, 1'000}).ok());
  EXPECT_GE(caller.drain(400), 8u) << "the prompt before the recording plays";
  caller.stream_tone(opened->port, 1500, seq, ts);
  caller.press(opened->port, 11, seq, ts);  // '#' ends the recording, and is no menu key
  ts += 800;
  const auto recorded = wait_recorded();
  ASSERT_TRUE(recorded) << "the recording is handed over";
  ASSERT_TRUE(*recorded) << "1.5 s is long enough to keep";
  EXPECT_EQ((*recorded)->end, RecordingEnd::key);
  EXPECT_NEAR(static_cast<double>((*recorded)->duration_ms), 1500, 200);
  EXPECT_TRUE(decode_ogg_opus((*recorded)->ogg).ok());
  caller.press(opened->port, 2, seq, ts);  // the session is a menu again
  for (int i = 0; i < 100 && pressed().size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(pressed(), "12");
  EXPECT_FALSE(wait_end(0)) << "the session goes on after its recording";
  // Too short to keep: the menu hears of it as nothing recorded.
  ASSERT_TRUE(endpoint_->record(opened->session, {}, RecordingLimits{60'000, 5'000, 1'000}).ok());
  ts += 800;
  caller.stream_tone(opened->port, 300, seq, ts);
  caller.press(opened->port, 11, seq, ts);
  const auto brief = wait_recorded();
  ASSERT_TRUE(brief);
  EXPECT_FALSE(*brief);
  endpoint_->hang_up(opened->session);
  const auto end = wait_end();
  ASSERT_TRUE(end);
  EXPECT_EQ(end->result, SessionResult::played);
}

TEST_F(EndpointTest, AStrangerCannotSpeakIntoAMessageAndAHangUpKeepsWhatWasSaid) {
  Caller caller;
  Caller stranger("127.0.0.2");
  SessionPlan plan;
  plan.remote = caller.choice();
  auto opened = endpoint_->open(plan);
  ASSERT_TRUE(opened.ok()) << opened.error().describe();
  uint16_t seq = 1, stranger_seq = 1;
  uint32_t ts = 0, stranger_ts = 0;
  stranger.press(opened->port, 11, stranger_seq, stranger_ts);  // a '#' from elsewhere ends nothing
  std::thread noise([&] { stranger.stream_tone(opened->port, 1200, stranger_seq, stranger_ts); });
  caller.stream_tone(opened->port, 1200, seq, ts);
  noise.join();
  endpoint_->hang_up(opened->session);
  const auto end = wait_end();
  ASSERT_TRUE(end);
  ASSERT_EQ(end->result, SessionResult::recorded) << to_string(end->result);
  EXPECT_EQ(end->recording->end, RecordingEnd::hangup);
  EXPECT_NEAR(static_cast<double>(end->recording->duration_ms), 1200, 200) << "the stranger's frames were not added";
  EXPECT_GE(end->refused, 60u);
}

TEST_F(EndpointTest, AFullBoxPlaysItsPromptAndEndsAndADiscardedSessionReportsNothing) {
  Caller caller;
  SessionPlan full;
  full.remote = caller.choice();
  full.record = false;
  full.prompts = {tone_of(100)};
  auto opened = endpoint_->open(full);
  ASSERT_TRUE(opened.ok());
  const auto end = wait_end();
  ASSERT_TRUE(end);
  EXPECT_EQ(end->result, SessionResult::played);
  EXPECT_FALSE(end->recording);

  SessionPlan plan;
  plan.remote = caller.choice();
  auto discarded = endpoint_->open(plan);
  ASSERT_TRUE(discarded.ok());
  endpoint_->discard(discarded->session);
  EXPECT_FALSE(wait_end(1)) << "a discarded session is not reported";
  EXPECT_EQ(endpoint_->sessions(), 0u);
}

TEST_F(EndpointTest, TheTotalsCountEverySessionADiscardedMenuIncluded) {
  // A receptionist's menu that hands its caller on is discarded, not reported: the operator's
  // media figures must still hold what it sent.
  Caller caller;
  SessionPlan menu;
  menu.remote = caller.choice();
  menu.menu = true;
  menu.record = false;
  menu.prompts = {tone_of(2000)};
  auto opened = endpoint_->open(menu);
  ASSERT_TRUE(opened.ok());
  size_t heard = caller.drain(300);
  EXPECT_GE(heard, 10u);
  endpoint_->discard(opened->session);
  heard += caller.drain(300);  // what was in flight, and proof that nothing more comes
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (endpoint_->totals().sessions == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));

  const EndpointTotals totals = endpoint_->totals();
  EXPECT_EQ(totals.sessions, 1u);
  EXPECT_EQ(totals.packets_out, heard) << "every frame sent reached the caller over loopback";
  EXPECT_LE(totals.sent_late, totals.packets_out);
  EXPECT_EQ(totals.unsent, 0u);
  EXPECT_EQ(totals.packets_in, 0u);
  EXPECT_FALSE(wait_end(1)) << "still not reported through `ended`";
}

TEST_F(EndpointTest, GarbageAndKeyFloodsNeverEndASessionWrongly) {
  Caller caller;
  SessionPlan plan;
  plan.remote = caller.choice();
  auto opened = endpoint_->open(plan);
  ASSERT_TRUE(opened.ok());
  uint16_t seq = 1;
  uint32_t ts = 0;
  for (int i = 0; i < 2000; ++i) {
    caller.send_to(opened->port, {0x00, 0x01, 0x02});  // not RTP
    caller.press(opened->port, static_cast<uint8_t>(i % 10), seq, ts += 160);  // digits, never '#'
  }
  caller.stream_tone(opened->port, 1200, seq, ts);
  endpoint_->hang_up(opened->session);
  const auto end = wait_end();
  ASSERT_TRUE(end);
  EXPECT_EQ(end->result, SessionResult::recorded) << to_string(end->result);
  EXPECT_GE(end->refused, 1u);
}

TEST_F(EndpointTest, AKeyPressedBySipInfoReachesTheMenuAndEndsARecordingAsAnEventWould) {
  Caller caller;
  SessionPlan plan;
  plan.remote = caller.choice();
  plan.menu = true;
  auto opened = endpoint_->open(plan);
  ASSERT_TRUE(opened.ok()) << opened.error().describe();
  endpoint_->press(opened->session, '5');
  for (int i = 0; i < 100 && pressed().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(pressed(), "5") << "outside a recording, the key goes to the menu";
  ASSERT_TRUE(endpoint_->record(opened->session, {}, RecordingLimits{60'000, 5'000, 1'000}).ok());
  uint16_t seq = 1;
  uint32_t ts = 0;
  caller.stream_tone(opened->port, 1500, seq, ts);
  endpoint_->press(opened->session, '#');
  const auto recorded = wait_recorded();
  ASSERT_TRUE(recorded) << "'#' by INFO ends the recording";
  ASSERT_TRUE(*recorded);
  EXPECT_EQ((*recorded)->end, RecordingEnd::key);
  EXPECT_EQ(pressed(), "5") << "the '#' went to the recording, not to the menu";
  endpoint_->hang_up(opened->session);
  ASSERT_TRUE(wait_end());
}

// The power of `hz` in `pcm` (Goertzel), per sample.
double power_at(std::span<const int16_t> pcm, int hz) {
  const double k = 2 * std::cos(2 * M_PI * hz / 8000.0);
  double s1 = 0, s2 = 0;
  for (const int16_t x : pcm) {
    const double s0 = x + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / static_cast<double>(pcm.size() * pcm.size());
}

TEST_F(EndpointTest, AConferenceMemberHearsEveryoneButThemselvesAndTonesAsPeopleComeAndGo) {
  const std::array<int, 3> voices{400, 1300, 2000};  // none near the 600 and 900 Hz of the tones
  std::array<Caller, 3> callers;
  std::array<Endpoint::Opened, 3> opened{};
  for (size_t i = 0; i < callers.size(); ++i) {
    SessionPlan plan;
    plan.remote = callers[i].choice();
    plan.menu = true;
    auto o = endpoint_->open(plan);
    ASSERT_TRUE(o.ok()) << o.error().describe();
    opened[i] = *o;
    endpoint_->join(o->session, 7);
  }
  for (uint16_t n = 0; n < 75; ++n) {  // 1.5 s of each caller's own tone
    for (size_t i = 0; i < callers.size(); ++i) callers[i].send_tone_frame(opened[i].port, voices[i], n);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (size_t i = 0; i < callers.size(); ++i) {
    const std::vector<int16_t> heard = callers[i].heard();
    ASSERT_GE(heard.size(), 60u * 160) << "a frame every tick for caller " << i;
    // From 0.5 s on: past the entry tones, the jitter buffer filled.
    const std::span<const int16_t> talk(heard.data() + 4000, heard.size() - 4000);
    for (size_t j = 0; j < callers.size(); ++j) {
      const double power = power_at(talk, voices[j]);
      if (i == j)
        EXPECT_LT(power, 1e3) << "caller " << i << " does not hear their own " << voices[j] << " Hz";
      else
        EXPECT_GT(power, 1e5) << "caller " << i << " hears caller " << j << "'s " << voices[j] << " Hz";
    }
    const std::span<const int16_t> start(heard.data(), 2400);
    EXPECT_GT(power_at(start, 600) + power_at(start, 900), 1e4) << "caller " << i << " heard the entry tones";
  }
  // One leaves: the others hear the falling tone, and no longer hear them.
  endpoint_->hang_up(opened[2].session);
  ASSERT_TRUE(wait_end());
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  (void)callers[0].heard();
  for (uint16_t n = 75; n < 100; ++n) {
    for (size_t i = 0; i < 2; ++i) callers[i].send_tone_frame(opened[i].port, voices[i], n);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::vector<int16_t> after = callers[0].heard();
  ASSERT_GE(after.size(), 15u * 160);
  EXPECT_GT(power_at(after, voices[1]), 1e5) << "the two left still hear each other";
  EXPECT_LT(power_at(after, voices[2]), 1e3) << "nobody hears the caller who left";
  endpoint_->leave(opened[0].session);
  endpoint_->hang_up(opened[0].session);
  endpoint_->hang_up(opened[1].session);
  ASSERT_TRUE(wait_end());
  ASSERT_TRUE(wait_end());
  EXPECT_EQ(endpoint_->sessions(), 0u);
}

TEST(ConferenceToneTest, RisesOnJoiningAndFallsOnLeaving) {
  const Prompt in = conference_tone(true), out = conference_tone(false);
  ASSERT_EQ(in.samples.size(), 1600u);
  ASSERT_EQ(out.samples.size(), 1600u);
  const std::span<const int16_t> in_first(in.samples.data(), 800), in_second(in.samples.data() + 800, 800);
  EXPECT_GT(power_at(in_first, 600), 10 * power_at(in_first, 900));
  EXPECT_GT(power_at(in_second, 900), 10 * power_at(in_second, 600));
  const std::span<const int16_t> out_first(out.samples.data(), 800);
  EXPECT_GT(power_at(out_first, 900), 10 * power_at(out_first, 600));
}

TEST(RecordToneTest, IsHalfASecondOfOneKilohertz) {
  const Prompt tone = record_tone();
  EXPECT_EQ(tone.duration_ms(), 500);
  int crossings = 0;
  for (size_t i = 1; i < 4000 && i < tone.samples.size(); ++i) crossings += (tone.samples[i - 1] < 0) != (tone.samples[i] < 0);
  EXPECT_NEAR(crossings, 1000, 20);
}

}  // namespace
}  // namespace privox::media
