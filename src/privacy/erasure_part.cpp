#include "privacy/erasure_part.h"

#include <nlohmann/json.hpp>

namespace privox::privacy {
namespace {

std::vector<ErasureParticipantSpec>& installed_participants() {
  static std::vector<ErasureParticipantSpec> participants;
  return participants;
}

}  // namespace

nlohmann::json to_json(const ErasureItem& item) {
  nlohmann::json j = {{"item", item.item}, {"outcome", item.outcome}};
  if (item.count >= 0) j["count"] = item.count;
  if (!item.how.empty()) j["how"] = item.how;
  if (!item.exception.empty()) j["exception"] = item.exception;
  if (!item.until.empty()) j["until"] = item.until;
  if (!item.then.empty()) j["then"] = item.then;
  return j;
}

void install_erasure_participants(std::vector<ErasureParticipantSpec> participants) {
  installed_participants() = std::move(participants);
}

const std::vector<ErasureParticipantSpec>& erasure_participants() { return installed_participants(); }

}  // namespace privox::privacy
