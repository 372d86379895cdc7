// privacy/'s part in erasing a member (erasure_part.h): the audit chain keeps its entries.
#include "privacy/module.h"

namespace privox::privacy {
namespace {

Result<std::vector<ErasureItem>> erase(const ErasureSubject&, const ErasureContext&) {
  return std::vector<ErasureItem>{
      {.item = "audit entries",
       .outcome = "kept",
       .exception = "the audit chain names the member by id only and holds no personal data"}};
}

}  // namespace

ErasureParticipantSpec erasure_participant() { return {"privacy", erase}; }

}  // namespace privox::privacy
