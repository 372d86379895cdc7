#pragma once
// What removing a phone line takes with it in the folders above accounts/: today the SIP
// registrations that reference the line (sip/'s bindings). Each such folder declares a part beside
// its own code; the composition root (app/registry.h) installs them, and remove_line runs them in
// the removing transaction, before the line's row goes, so no row is left pointing at it.
//
// Thread-safety: install once, before threads start; parts run on the removing thread.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "privacy/audit.h"
#include "store/store.h"

namespace privox::accounts {

using LineRemovalPart = Status (*)(store::Session& tx, const std::string& line_id);
struct LineRemovalPartSpec {
  std::string_view name;  // the folder, for errors and tests
  LineRemovalPart remove;
};

void install_line_removal_parts(std::vector<LineRemovalPartSpec> parts);
const std::vector<LineRemovalPartSpec>& line_removal_parts();

// Removes the line in the caller's write transaction: every installed part, then the line itself
// (its number and DID become free for reuse), a directory change "removed" (so every node drops
// it and its registrations within a second) and an audit entry "extension.remove" naming `why`.
// The line's key stays: call records sealed under it are kept for their own retention periods.
// not_found on "id" when no line has the id.
Status remove_line(store::Session& tx, const privacy::AuditChain& audit, const std::string& line_id, int64_t now_us,
                   const std::string& actor, std::string_view why);

// The ids of the company's lines, in id order.
Result<std::vector<std::string>> lines_of_company(store::Session& s, const std::string& company_id);

}  // namespace privox::accounts
