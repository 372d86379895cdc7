#pragma once
// A voicemail as the SIP service hands it over (P5, the policy's "voicemails"): recorded by the
// media endpoint (media/recorder.h) in memory, as Ogg Opus, and never written anywhere in clear.
// The proxy reports each finished message to a VoicemailSink on the SIP worker thread;
// voicemail/store.h seals the audio and the caller under the box's subject key (the line's) and
// stores them, off that thread.

#include <cstdint>
#include <string>

#include "traffic/record.h"

namespace privox::voicemail {

struct NewMessage {
  std::string id;          // UUIDv7, chosen when the endpoint answered
  std::string company_id;
  std::string box_id;      // the line (extension id) whose box it is: the data subject
  std::string box_number;  // the line's extension number, for the message's traffic record
  std::string caller;      // the caller's number as the call log knows it
  bool caller_withheld = false;  // Privacy: id, shown by the call log's one rule
  std::string call_record_id;    // the traffic record of the call that left it
  // That call's direction, and so its message's record's: internal when a colleague left it,
  // inbound when it came through the trunk.
  traffic::Direction direction = traffic::Direction::inbound;
  int64_t received_at_us = 0;    // when the endpoint answered
  int64_t duration_ms = 0;
  std::string end_reason;        // media::RecordingEnd as text: hangup, key, silence, max_length
  std::string audio;             // Ogg Opus, mono; the sink wipes it once sealed
};

// Called on the SIP worker thread; implementations must not block it.
class VoicemailSink {
 public:
  virtual ~VoicemailSink() = default;
  virtual void deposit(NewMessage message) = 0;
};

}  // namespace privox::voicemail
