#pragma once
// A subsystem's part in a member's access export (P13). rights/ assembles the export, but some of
// what a member may ask for is held by folders above it (the invoices of billing/ an office
// manager receives for her company); each such folder declares a participant beside its own
// code, the composition root (app/registry.h) installs them, and rights/export.cpp adds what
// each returns to the ZIP. The same pattern as erasure_part.h.
//
// Thread-safety: install once, before threads start; participants run on the exporting thread.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::privacy {

struct ExportSubject {
  std::string member_id;
  std::string company_id;
};

// What a participant works with: the export's own read transaction.
struct ExportContext {
  store::Session& tx;
  const Keyring& keys;
  int64_t now_us;
};

// One file of the ZIP: a name that no other participant uses (say, the folder's name), and its
// bytes.
struct ExportFilePart {
  std::string name;
  std::string content;
};

// The files the participant adds for the subject; none when it holds nothing of theirs. An error
// fails the export.
using ExportParticipant = Result<std::vector<ExportFilePart>> (*)(const ExportSubject& subject,
                                                                   const ExportContext& context);
struct ExportParticipantSpec {
  std::string_view name;  // the subsystem, for errors and tests
  ExportParticipant add;
};

void install_export_participants(std::vector<ExportParticipantSpec> participants);
const std::vector<ExportParticipantSpec>& export_participants();

}  // namespace privox::privacy
