#pragma once
#include <cstdint>

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

}  // namespace privox::sip
