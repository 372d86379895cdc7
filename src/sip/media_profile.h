#pragma once
#include <cstdint>
#include <string_view>

namespace privox::sip {

// What an offer asks the relay to give the side that receives it (issue 16). rtpengine terminates
// SRTP on each side separately, so each leg gets what its own hop can keep private:
//   keep  the profile each side already has (a re-offer in a dialog, a hold);
//   rtp   plain RTP/AVP: a UDP or TCP phone, the carrier's trunk, privox's own media endpoint;
//   srtp  RTP/SAVP keyed by SDES (RFC 4568), for a phone reached over TLS, which alone keeps the
//         keys in its SDP secret. SDES only (no DTLS offer): that is what desk phones speak.
//   webrtc  a browser (the portal's softphone, over WebSocket): UDP/TLS/RTP/SAVPF keyed by
//         DTLS-SRTP (RFC 5764), with ICE (the relay's own candidates) and RTP/RTCP on one port,
//         as WebRTC requires. In an answer or a re-offer it asks only for ICE.
// Whatever the profile, the relay offers only RFC 4568's AES_CM_128 suites (sip/rtpengine.cpp says why),
// never a NULL suite (authentication without encryption).
enum class MediaProfile : uint8_t { keep, rtp, srtp, webrtc };

// The relay's name for the called side's offer in `profile` (rtpengine's via-branch). A call rung
// on phones of different kinds at once (a browser and a desk phone on one line, a ring group) gets
// one offer per kind, each under its own name, and each answer names the offer it answers, so the
// relay joins the caller to the side that answered. Every offer that opens a call is named, since
// rtpengine takes an unnamed offer after a named one as a replacement of the called side.
constexpr std::string_view relay_branch(MediaProfile profile) {
  switch (profile) {
    case MediaProfile::rtp: return "rtp";
    case MediaProfile::srtp: return "srtp";
    case MediaProfile::webrtc: return "webrtc";
    case MediaProfile::keep: return {};
  }
  return {};
}

}  // namespace privox::sip
