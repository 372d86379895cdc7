#include "media/sdp.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <vector>

namespace privox::media {
namespace {

constexpr size_t kMaxSdpBytes = size_t{16} * 1024;  // a real offer is under 2 KB
constexpr size_t kMaxFormats = 64;

bool parse_uint(std::string_view text, uint32_t max, uint32_t& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

// Splits on single spaces, at most `limit` fields (the last keeps the rest of the line).
std::vector<std::string_view> fields(std::string_view line, size_t limit) {
  std::vector<std::string_view> out;
  while (!line.empty() && out.size() + 1 < limit) {
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) break;
    out.push_back(line.substr(0, space));
    line.remove_prefix(space + 1);
  }
  out.push_back(line);
  return out;
}

// Takes the next line off `text`, without its line ending ("\n" or "\r\n").
std::string_view next_line(std::string_view& text) {
  const size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool is_ip_literal(const std::string& address, bool ipv6) {
  unsigned char buffer[16];
  return inet_pton(ipv6 ? AF_INET6 : AF_INET, address.c_str(), buffer) == 1;
}

// "IN IP4 192.0.2.1" -> the address, checked.
Result<std::pair<std::string, bool>> connection(std::string_view value) {
  const auto parts = fields(value, 3);
  if (parts.size() != 3 || parts[0] != "IN" || (parts[1] != "IP4" && parts[1] != "IP6"))
    return invalid("sdp", "a c= line is not \"IN IP4|IP6 address\"");
  const bool ipv6 = parts[1] == "IP6";
  // A multicast c= line may carry "/ttl"; privox takes no multicast, and the literal check refuses it.
  std::string address(parts[2]);
  if (!is_ip_literal(address, ipv6)) return invalid("sdp", "the connection address is not an IP address");
  return std::pair{address, ipv6};
}

struct AudioStream {
  uint16_t port = 0;
  std::vector<uint32_t> formats;
  std::vector<std::pair<uint32_t, std::string>> rtpmaps;  // payload type -> "name/rate"
  std::optional<std::pair<std::string, bool>> address;
};

// The codec a payload type stands for, by its rtpmap or (0 and 8) statically.
std::string codec_of(const AudioStream& stream, uint32_t type) {
  for (const auto& [pt, name] : stream.rtpmaps) {
    if (pt != type) continue;
    std::string lower;
    for (char c : name) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    const size_t channels = lower.find('/', lower.find('/') + 1);
    return channels == std::string::npos ? lower : lower.substr(0, channels);  // "pcmu/8000/1" -> "pcmu/8000"
  }
  if (type == 0) return "pcmu/8000";
  if (type == 8) return "pcma/8000";
  return {};
}

Status read_media_line(std::string_view value, AudioStream& stream) {
  const auto parts = fields(value, kMaxFormats + 3);
  if (parts.size() < 4) return invalid("sdp", "an m= line has fewer than four fields");
  uint32_t port = 0;
  // "port/count" (RFC 4566 §5.14): one stream is all privox answers.
  const std::string_view port_text = parts[1].substr(0, parts[1].find('/'));
  if (!parse_uint(port_text, 65535, port)) return invalid("sdp", "the audio port is not a number up to 65535");
  if (parts[2] != "RTP/AVP" && parts[2] != "RTP/AVPF")
    return invalid("sdp", fmt::format("the audio transport {} is not plain RTP", parts[2].substr(0, 32)));
  stream.port = static_cast<uint16_t>(port);
  for (size_t i = 3; i < parts.size(); ++i) {
    uint32_t type = 0;
    if (!parse_uint(parts[i], 127, type)) return invalid("sdp", "an audio format is not a payload type 0-127");
    stream.formats.push_back(type);
  }
  return {};
}

Status read_rtpmap(std::string_view value, AudioStream& stream) {
  const size_t space = value.find(' ');
  uint32_t type = 0;
  if (space == std::string_view::npos || !parse_uint(value.substr(0, space), 127, type))
    return invalid("sdp", "an rtpmap has no payload type");
  if (stream.rtpmaps.size() < kMaxFormats) stream.rtpmaps.emplace_back(type, std::string(value.substr(space + 1, 64)));
  return {};
}

}  // namespace

Result<AudioChoice> choose_audio(std::string_view offer) {
  if (offer.empty()) return invalid("sdp", "there is no SDP offer");
  if (offer.size() > kMaxSdpBytes) return invalid("sdp", "the SDP is larger than 16 KB");
  std::optional<std::pair<std::string, bool>> session_address;
  std::optional<AudioStream> audio;
  bool in_audio = false, seen_audio = false;
  while (!offer.empty()) {
    const std::string_view line = next_line(offer);
    if (line.empty()) continue;
    if (line.size() < 2 || line[1] != '=') return invalid("sdp", "a line is not \"type=value\"");
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (type == 'm') {
      // Only the first audio stream is answered; other streams are declined by their absence.
      in_audio = !seen_audio && value.starts_with("audio ");
      if (in_audio) {
        seen_audio = true;
        audio.emplace();
        PRIVOX_TRY(read_media_line(value, *audio));
      }
    } else if (type == 'c') {
      auto address = connection(value);
      if (!address) return address.error();
      if (in_audio) audio->address = std::move(*address);
      else if (!seen_audio) session_address = std::move(*address);
    } else if (type == 'a' && in_audio && value.starts_with("rtpmap:")) {
      PRIVOX_TRY(read_rtpmap(value.substr(7), *audio));
    }
  }
  if (!audio) return invalid("sdp", "the offer has no audio stream");
  if (audio->port == 0) return invalid("sdp", "the audio stream is declined (port 0)");
  const auto& address = audio->address ? audio->address : session_address;
  if (!address) return invalid("sdp", "the offer has no connection address");

  AudioChoice choice;
  choice.address = address->first;
  choice.ipv6 = address->second;
  choice.port = audio->port;
  bool have_law = false;
  for (uint32_t type : audio->formats) {
    const std::string codec = codec_of(*audio, type);
    // The caller's preference order decides between µ-law and A-law (RFC 3264 §6.1).
    if (!have_law && (codec == "pcmu/8000" || codec == "pcma/8000") && (type == 0 || type == 8)) {
      choice.law = type == 0 ? G711::pcmu : G711::pcma;
      have_law = true;
    } else if (choice.event_type < 0 && codec == "telephone-event/8000") {
      choice.event_type = static_cast<int>(type);
    }
  }
  if (!have_law) return invalid("sdp", "the offer has neither G.711 µ-law (PCMU) nor A-law (PCMA)");
  return choice;
}

std::string write_answer(const AudioChoice& choice, std::string_view address, uint16_t port, uint64_t session_id) {
  const bool ipv6 = address.find(':') != std::string_view::npos;
  const char* family = ipv6 ? "IP6" : "IP4";
  const int law = static_cast<int>(choice.law);
  std::string sdp = fmt::format(
      "v=0\r\no=privox {0} {0} IN {1} {2}\r\ns=privox\r\nc=IN {1} {2}\r\nt=0 0\r\n", session_id, family, address);
  if (choice.event_type >= 0) {
    sdp += fmt::format("m=audio {} RTP/AVP {} {}\r\n", port, law, choice.event_type);
  } else {
    sdp += fmt::format("m=audio {} RTP/AVP {}\r\n", port, law);
  }
  sdp += fmt::format("a=rtpmap:{} {}/8000\r\n", law, choice.law == G711::pcmu ? "PCMU" : "PCMA");
  if (choice.event_type >= 0)
    sdp += fmt::format("a=rtpmap:{0} telephone-event/8000\r\na=fmtp:{0} 0-16\r\n", choice.event_type);
  sdp += "a=ptime:20\r\na=sendrecv\r\n";
  return sdp;
}

namespace {

std::optional<Direction> direction_attribute(std::string_view line) {
  if (line == "a=sendrecv") return Direction::sendrecv;
  if (line == "a=sendonly") return Direction::sendonly;
  if (line == "a=recvonly") return Direction::recvonly;
  if (line == "a=inactive") return Direction::inactive;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> audio_address(std::string_view sdp) {
  if (sdp.size() > kMaxSdpBytes) return std::nullopt;
  std::optional<std::string> session, stream;
  bool in_audio = false, seen_media = false;
  while (!sdp.empty()) {
    const std::string_view line = next_line(sdp);
    if (line.starts_with("m=")) {
      if (in_audio) break;  // only the first audio stream
      seen_media = true;
      in_audio = line.starts_with("m=audio ");
      continue;
    }
    if (!line.starts_with("c=") || (seen_media && !in_audio)) continue;
    auto parsed = connection(line.substr(2));
    if (!parsed.ok()) return std::nullopt;
    (seen_media ? stream : session) = parsed->first;
  }
  if (!in_audio) return std::nullopt;
  return stream ? stream : session;
}

bool audio_encrypted(std::string_view sdp) {
  if (sdp.size() > kMaxSdpBytes) return false;
  bool in_audio = false, srtp = false, dtls = false, keyed = false, fingerprint = false;
  while (!sdp.empty()) {
    const std::string_view line = next_line(sdp);
    if (line.starts_with("m=")) {
      if (in_audio) break;  // only the first audio stream
      if (!line.starts_with("m=audio ")) continue;
      in_audio = true;
      const std::vector<std::string_view> parts = fields(line.substr(2), 4);
      if (parts.size() < 3) return false;
      srtp = parts[2] == "RTP/SAVP" || parts[2] == "RTP/SAVPF";
      dtls = parts[2] == "UDP/TLS/RTP/SAVP" || parts[2] == "UDP/TLS/RTP/SAVPF";
      continue;
    }
    // A fingerprint may sit at session level (RFC 8122 §5); a key only in the stream.
    if (line.starts_with("a=fingerprint:")) fingerprint = true;
    if (!in_audio || !line.starts_with("a=crypto:")) continue;
    const std::vector<std::string_view> parts = fields(line.substr(9), 3);
    if (parts.size() >= 3 && !parts[1].starts_with("NULL_") && parts[2].starts_with("inline:")) keyed = true;
  }
  return (srtp && keyed) || (dtls && fingerprint);
}

Direction audio_direction(std::string_view sdp) {
  if (sdp.size() > kMaxSdpBytes) return Direction::sendrecv;
  std::optional<Direction> session, stream;
  bool held_address = false, in_audio = false, seen_audio = false, any_media = false;
  while (!sdp.empty()) {
    const std::string_view line = next_line(sdp);
    if (line.starts_with("m=")) {
      if (seen_audio) break;  // only the first audio stream
      any_media = true;
      in_audio = line.starts_with("m=audio ");
      seen_audio = in_audio;
      continue;
    }
    const bool session_level = !any_media;
    if (!session_level && !in_audio) continue;
    if (line.starts_with("c=IN IP4 0.0.0.0")) held_address = true;
    if (const auto d = direction_attribute(line)) (session_level ? session : stream) = *d;
  }
  if (!seen_audio) return Direction::sendrecv;
  if (held_address) return Direction::inactive;
  return stream.value_or(session.value_or(Direction::sendrecv));
}

}  // namespace privox::media

namespace privox::media {

Direction answering(Direction offered) {
  switch (offered) {
    case Direction::sendonly: return Direction::recvonly;
    case Direction::recvonly: return Direction::sendonly;
    case Direction::inactive: return Direction::inactive;
    case Direction::sendrecv: return Direction::sendrecv;
  }
  return Direction::sendrecv;
}

std::string with_direction(std::string_view sdp, Direction direction) {
  static constexpr std::string_view kAttribute[] = {"a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"};
  std::string out;
  out.reserve(sdp.size() + 16);
  bool written = false;
  while (!sdp.empty()) {
    const std::string_view line = next_line(sdp);
    if (direction_attribute(line)) continue;
    out += line;
    out += "\r\n";
    if (!written && line.starts_with("m=audio ")) {
      out += kAttribute[static_cast<size_t>(direction)];
      out += "\r\n";
      written = true;
    }
  }
  return out;
}

}  // namespace privox::media
