#include "traffic/record.h"

namespace privox::traffic {

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::internal: return "internal";
    case Direction::outbound: return "outbound";
    case Direction::inbound: return "inbound";
  }
  return "internal";
}

std::string_view to_string(Kind k) {
  switch (k) {
    case Kind::voice: return "voice";
    case Kind::sms: return "sms";
    case Kind::voicemail: return "voicemail";
  }
  return "voice";
}

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::open: return "open";
    case Outcome::answered: return "answered";
    case Outcome::busy: return "busy";
    case Outcome::no_answer: return "no_answer";
    case Outcome::cancelled: return "cancelled";
    case Outcome::failed: return "failed";
  }
  return "failed";
}

}  // namespace privox::traffic
