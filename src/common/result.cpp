#include "common/result.h"

namespace privox {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::conflict: return "conflict";
    case ErrorCode::erased: return "erased";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::outcome_unknown: return "outcome_unknown";
    case ErrorCode::version_mismatch: return "version_mismatch";
    case ErrorCode::corrupt: return "corrupt";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

std::string Error::describe() const {
  return field.empty() ? message : field + ": " + message;
}

}  // namespace privox
