#pragma once
// Carrying out a rights request once it is in progress: the access export, rectification and
// erasure. Requests (requests.h) calls these and records their outcome; they are not called
// directly by anything else.
//
// The access export is a ZIP of UTF-8 files (and the voicemail recordings):
//   subject.json      every data-map field held on the member that is in_access_export: the
//                     member's own fields, their company's name, their phone lines and the
//                     devices registered on them, optional data, consents (current and history)
//   traffic.csv       the traffic records of the member's lines (traffic/cdr.h's columns); a
//                     caller who withheld their number stays "withheld" where the member did not
//                     place the call
//   voicemail.json    the messages left in the member's lines' boxes: ids, times, durations, how
//                     each ended, heard or not, the caller (withheld stays "withheld"), and the
//                     name of its recording
//   voicemail/<id>.opus  each message's recording as stored (Ogg Opus), the one binary kind of file
//   voicemail/options.json  when the member chose any: each box's email-notice choice and whether
//                     it has a PIN (never the PIN or its hash)
//   audit.json        audit-chain entries about the member and their lines: ids, actions,
//                     purposes, times and details (never values)
//   disclosures.json  disclosure-register entries about the member
//   requests.json     the member's rights requests, with the corrections they asked for
//   invoices.json     for an office manager only: her company's invoices and credit notes
//                     (number, period, totals, payment status), added by billing/ through
//                     privacy/export_part.h
//   manifest.json     format version, generated_at, and each file's name, size and SHA-256
//
// Thread-safety: free functions; safe from any thread.

#include <nlohmann/json_fwd.hpp>

#include <string>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "rights/requests.h"
#include "store/store.h"

namespace privox::rights {

inline constexpr int kExportFormatVersion = 1;

// The member's email address on file, read for purpose legal (audited). `erased` when the member
// was erased.
Result<std::string> member_email(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                 const std::string& member_id, const std::string& actor);

// Writes the export ZIP atomically (a temporary file renamed into place). invalid on "out" when
// the file cannot be written.
Result<ExportSummary> write_access_export(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                          const Request& request, const std::string& out_path,
                                          const std::string& actor);

// Applies the request's corrections and records the rectification notices; returns the outcome.
Result<nlohmann::json> rectify(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                               const Request& request, const std::string& actor);

// Erases what may be erased and reports every item; conflict on "legal_hold" while a hold is in
// force.
Result<nlohmann::json> erase(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                             const Request& request, const std::string& actor);

}  // namespace privox::rights
