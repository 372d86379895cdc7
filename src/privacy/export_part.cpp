#include "privacy/export_part.h"

namespace privox::privacy {
namespace {

std::vector<ExportParticipantSpec>& installed_export_participants() {
  static std::vector<ExportParticipantSpec> participants;
  return participants;
}

}  // namespace

void install_export_participants(std::vector<ExportParticipantSpec> participants) {
  installed_export_participants() = std::move(participants);
}

const std::vector<ExportParticipantSpec>& export_participants() { return installed_export_participants(); }

}  // namespace privox::privacy
