#pragma once
// What one audit entry holds (privacy/audit.h appends and reads them). Apart from audit.h so that
// the many headers that only hold an AuditChain do not bring nlohmann/json into every translation
// unit that includes them: only the code that builds or reads an entry's detail includes this.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace privox::privacy {

struct AuditRecord {
  std::string actor;       // e.g. "cli:root" or a staff account id
  std::string action;      // e.g. "member.show"
  std::string subject_id;  // empty when no person is concerned
  std::string purpose;     // empty when no purpose applies
  nlohmann::json detail = nlohmann::json::object();  // field names, counts, outcomes; never values
};

// An entry as read back.
struct AuditEntry {
  int64_t seq = 0;
  std::string id;
  int64_t at_us = 0;
  std::string actor, action, subject_id, purpose;
  nlohmann::json detail;
};

}  // namespace privox::privacy
