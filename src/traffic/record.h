#pragma once
// Traffic data (P5): one record per call attempt and per message, as the proxy sees it. The
// proxy reports each record to a TrafficSink; traffic/store_sink.h makes them durable through the
// node's batched writer, sealing the personal fields under the subject's key.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace privox::traffic {

enum class Direction : uint8_t { internal, outbound, inbound };
// voicemail: a message left in a line's box (the call that left it has its own voice record).
enum class Kind : uint8_t { voice, sms, voicemail };
enum class Outcome : uint8_t { open, answered, busy, no_answer, cancelled, failed };

std::string_view to_string(Direction d);
std::string_view to_string(Kind k);
std::string_view to_string(Outcome o);

struct CallRecord {
  std::string id;          // UUIDv7, chosen when the attempt starts
  std::string company_id;
  std::string subject_id;  // the extension whose record it is: the caller's, or the callee's inbound
  Direction direction = Direction::internal;
  Kind kind = Kind::voice;
  std::string source;       // the caller's number as privox knows it
  std::string destination;  // as dialled, normalised where privox could
  bool source_withheld = false;  // the caller asked for privacy (RFC 3323 Privacy: id)
  int64_t started_at_us = 0;
  int64_t answered_at_us = 0;  // 0: never answered
  int64_t ended_at_us = 0;     // 0: still going
  Outcome outcome = Outcome::open;
  int failure_code = 0;        // the final SIP status of a failed attempt
  std::string end_reason;      // "bye", "restart", ...
  std::string caller_equipment;  // User-Agent
  std::string callee_equipment;  // User-Agent or Server of the answering side
  std::string trunk_id;
  // Whether each leg was private on the wire (issue 16): its SIP over TLS and its audio SRTP that
  // encrypts (media/sdp.h audio_encrypted). Known once answered; nullopt for an attempt.
  std::optional<bool> caller_encrypted, callee_encrypted;

  int64_t duration_ms() const {
    return answered_at_us && ended_at_us > answered_at_us ? (ended_at_us - answered_at_us) / 1000 : 0;
  }
};

// Told whether an answered call's record became durable: ok, or why it could not.
using Durable = std::function<void(const Status& outcome)>;

// Where the proxy reports traffic. Called on the SIP worker thread; implementations must not
// block it.
class TrafficSink {
 public:
  virtual ~TrafficSink() = default;
  // A call was answered: its record (outcome open) must become durable at once (R1). `done` runs
  // later on the SIP worker thread, exactly once: ok once the record is durable, or the error once
  // it cannot be. The proxy holds the caller's 2xx until then, so a crash never loses a call that
  // the caller was told is answered.
  virtual void opened(const CallRecord& record, Durable done) = 0;
  // A record's final state: an answered call that ended, an attempt never answered, a message.
  virtual void closed(const CallRecord& record) = 0;
};

}  // namespace privox::traffic
