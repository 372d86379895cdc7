#pragma once
// Problem: privox's media endpoint answers calls itself (voicemail), so it must read the caller's
// SDP offer (RFC 4566, RFC 3264) and answer it: where the caller's audio comes from and goes to,
// which of G.711 µ-law or A-law to use, and whether key presses come as RFC 4733
// telephone-events. The offer comes from the network (through rtpengine, which passes on whatever
// a phone wrote), so the reader checks every line and refuses an offer with the reason; it is
// fuzzed (sdp_fuzz.cpp). Only what the endpoint needs is read: the session and audio connection
// addresses, the first audio stream's port, payload types and their rtpmaps, and its direction.
//
// Thread-safety: free functions, no shared state.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "media/g711.h"

namespace privox::media {

// What the endpoint will use of an offer.
struct AudioChoice {
  std::string address;        // where to send the caller's audio (IPv4 or IPv6 literal)
  uint16_t port = 0;
  G711 law = G711::pcmu;
  int event_type = -1;        // the telephone-event payload type, -1: none offered
  bool ipv6 = false;
};

// The choice for `offer`, or invalid("sdp", why): not an SDP, no audio stream, a connection
// address that is not an IP literal, a port of 0 (the stream is declined), or neither PCMU nor
// PCMA among its formats (the caller answers that 488).
Result<AudioChoice> choose_audio(std::string_view offer);

// The answer privox's endpoint gives: `address`:`port` (the endpoint's own), the chosen law and
// the telephone-event type (if offered), sendrecv. `session_id` distinguishes answers (RFC 4566
// o= line).
std::string write_answer(const AudioChoice& choice, std::string_view address, uint16_t port, uint64_t session_id);

// Which way a session's first audio stream flows, as its sender states it (RFC 3264 §5.1): the
// stream's own direction attribute, else the session's, else sendrecv. A phone that puts a call on
// hold offers sendonly or inactive, or (RFC 2543's way, still sent by some) the connection address
// 0.0.0.0, which reads as inactive. Anything unreadable reads as sendrecv: never a hold.
enum class Direction : uint8_t { sendrecv, sendonly, recvonly, inactive };
Direction audio_direction(std::string_view sdp);
// Whether `sdp` puts the call on hold: its first audio stream is sendonly or inactive.
inline bool is_hold(std::string_view sdp) {
  const Direction d = audio_direction(sdp);
  return d == Direction::sendonly || d == Direction::inactive;
}

// Whether `sdp`'s first audio stream is SRTP that actually encrypts (RFC 3711): an SAVP or SAVPF
// profile keyed by SDES (RFC 4568: an a=crypto line whose suite is not NULL_*, which authenticates
// but sends the audio in clear) or by DTLS (UDP/TLS/RTP/SAVP[F] with a fingerprint, RFC 5763).
// Anything unreadable, or plain RTP/AVP, is false. SDES keys travel in the SDP, so the SIP hop that
// carried it must itself be TLS for the leg to be private: that is the caller's judgement.
bool audio_encrypted(std::string_view sdp);

// Where `sdp`'s first audio stream says to send its audio: the stream's c= address, else the
// session's, when it is an IP literal ("192.0.2.7", "2001:db8::7"); nullopt for anything else.
// A phone behind NAT writes its private address here (sip/ asks the relay to use the signalling's
// source instead).
std::optional<std::string> audio_address(std::string_view sdp);

// The direction an answer takes to an offer's (RFC 3264 §6.1): sendonly is answered recvonly,
// recvonly sendonly, inactive inactive and sendrecv sendrecv.
Direction answering(Direction offered);
// `sdp` with its first audio stream's direction set to `direction`: every direction attribute (the
// session's and the streams') is dropped and one is written after the audio stream's m= line.
std::string with_direction(std::string_view sdp, Direction direction);

}  // namespace privox::media
