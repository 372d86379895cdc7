#pragma once
// Rights requests (P13): a member asks for a copy of their data (access), for corrections
// (rectify) or for erasure (erase), and the operator answers within the legal deadline.
//
// A request moves through these states; every move is one transaction with its audit entry
// (subject: the member; detail: ids, states and counts, never values):
//
//   received ──send_code──► awaiting_identity ──verify_code──► awaiting_fee ──fee──► in_progress
//                                                    └────────(no fee due)────────────►   │
//   any open state ──refuse──► refused                               complete ──► completed
//
// Identity: a random 8-digit code is emailed to the member's address on file; only its keyed
// hash is stored, it expires after setting rights.code_ttl_minutes and is void after
// rights.code_max_tries wrong tries (a new one must then be sent). Codes compare in constant time.
//
// Fee: only access requests carry the operator's administration fee (settings
// rights.fee_minor_units and rights.fee_currency, read when the request is opened; policy:
// GBP 10.00 for a copy of the data). Rectification and erasure are free. The operator may waive
// the fee with a reason or record its payment with a reference, at any open state before
// in_progress; a fee of 0 is never due.
//
// Deadline: one calendar month from receipt, clamped to the last day of a shorter month
// (31 Jan -> 28 Feb, 29 Feb in a leap year). The clock is paused while identity or the fee is
// awaited: the due date moves on by the time spent in those states. It may be extended by up to
// two further months in total, with a reason that is recorded and emailed to the member.
//
// Thread-safety: safe from any thread; all state is in the store. A Mailer passed in is used from
// the calling thread only.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "accounts/validation.h"
#include "common/clock.h"
#include "common/money.h"
#include "common/result.h"
#include "notify/mailer.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::rights {

enum class RequestKind { access, rectify, erase };
enum class RequestState { received, awaiting_identity, awaiting_fee, in_progress, completed, refused };
// none: the kind carries no fee, or the fee in force was 0.
enum class FeeStatus { none, due, waived, paid };

std::string_view to_string(RequestKind k);
std::string_view to_string(RequestState s);
std::string_view to_string(FeeStatus f);
std::optional<RequestKind> parse_request_kind(std::string_view text);
bool is_open(RequestState s);  // not completed and not refused

struct NewRequest {
  std::string member_id;
  RequestKind kind = RequestKind::access;
  accounts::FieldValues corrections;  // rectify only: member field name -> corrected value
  std::string channel = "cli";        // where it was made: "cli", "portal", "email", ...
  // When the request really arrived: a letter or an email to the privacy contact is entered
  // later, and its month runs from its receipt. Not in the future, not before the member's
  // account was opened. nullopt: now.
  std::optional<int64_t> received_at_us = std::nullopt;
};

struct Request {
  std::string id, member_id;
  RequestKind kind = RequestKind::access;
  RequestState state = RequestState::received;
  std::string channel;
  int64_t received_at_us = 0;
  int64_t due_at_us = 0;           // as of the time it was read (a paused request's keeps moving)
  int64_t paused_us = 0;           // total time the clock was paused so far
  bool paused = false;             // awaiting identity or fee right now
  int extension_months = 0;        // 0, 1 or 2
  std::string extension_reason;
  int64_t fee_minor_units = 0;
  std::string fee_currency;
  FeeStatus fee_status = FeeStatus::none;
  std::string fee_waiver_reason, payment_reference;
  int64_t identity_verified_at_us = 0;  // 0: not yet
  int64_t exported_at_us = 0;           // access: when the copy was produced; 0: not yet
  int64_t closed_at_us = 0;             // completed or refused; 0: open
  std::string refusal_reason;
  std::vector<std::string> correction_fields;  // rectify: the names of the fields to correct
  std::string outcome_json;  // completed: what was done, per item (see complete()), as JSON text; else empty
  // The identity check in flight (awaiting_identity with a live code): tries left and expiry;
  // both 0 when no code is pending.
  int64_t code_tries_left = 0;
  int64_t code_expires_at_us = 0;

  // outcome_json as a value; null when there is none.
  nlohmann::json outcome() const;

  bool overdue(int64_t now_us) const { return is_open(state) && due_at_us < now_us; }
  // Ids, states, dates and field names only: fit for the operator's queue and the API.
  nlohmann::json to_json(int64_t now_us) const;
};

struct ListOptions {
  bool include_closed = false;
  std::string member_id;  // empty: every member
};

// What an access export wrote.
struct ExportSummary {
  std::string request_id;
  std::vector<std::string> files;  // names inside the ZIP
  int64_t traffic_records = 0;
  int64_t bytes = 0;               // size of the ZIP
};

// The status emails a request's member receives besides the code, the extension and the refusal,
// which send_code(), extend() and refuse() send themselves.
enum class StatusMail {
  verified,   // identity confirmed
  fee_due,    // the administration fee is now due, with its amount
  paid,       // the receipt: amount, the provider's reference, date
  ready,      // the copy can be downloaded from the privacy centre until a date
  completed,  // a rectification or erasure was carried out
};


// When the download of an access request's copy stops (0: it has none), from its outcome.
int64_t download_until_us(const Request& r);

// One calendar month (or `months`) after `from_us`, clamped to the target month's last day;
// the time of day is kept. Exposed for tests and the portal.
int64_t add_calendar_months(int64_t from_us, int months);

class Requests {
 public:
  Requests(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock), audit_(keys, clock) {}

  // Records a new request in state `received`. Errors: `member` malformed or not_found, `member`
  // erased; `kind`; `received_at` in the future or before the member existed; for rectify,
  // `corrections` empty, or a field name that is not a member field or holds a card number
  // (named). Corrections are sealed under the member's key and validated fully when the request
  // is completed. The receipt date, when given, is audited.
  Result<Request> open(const NewRequest& input, const std::string& actor);
  // A correction made directly by someone already known (the member in the portal, their office
  // manager, staff; `channel` says which): recorded as a rectification request completed at once,
  // through the one correction path (corrections.h), so every earlier recipient gets its notice
  // and the correction shows in the member's requests and access export. Errors as open() and
  // Accounts::correct_member, naming the field at fault; nothing is recorded on error.
  Result<Request> correct_directly(const std::string& member_id, const accounts::FieldValues& corrections,
                                   const std::string& channel, const std::string& actor);
  // not_found (field "id") when there is no such request.
  Result<Request> get(const std::string& id);
  // The operator's queue: open requests (closed ones too with include_closed), overdue ones
  // first, then by due date.
  Result<std::vector<Request>> list(const ListOptions& options = {});

  // Emails a fresh code to the member's address on file and moves to awaiting_identity (a code
  // already sent is replaced). conflict when the request is not received/awaiting_identity;
  // unavailable when the mail relay refused, in which case nothing changes.
  Result<Request> send_code(const std::string& id, notify::Mailer& mailer, const std::string& actor);
  // Checks the code. Right: identity verified, then awaiting_fee or in_progress. Wrong:
  // invalid_argument on "code" saying how many tries are left; expired or used up: invalid on
  // "code" asking for a new one (send_code). conflict when no identity check is pending.
  Result<Request> verify_code(const std::string& id, std::string_view code, const std::string& actor);

  // Waives the fee (reason required) or records its payment (reference required). Either moves an
  // awaiting_fee request to in_progress. conflict when no fee is due or the request is closed.
  Result<Request> waive_fee(const std::string& id, std::string_view reason, const std::string& actor);
  Result<Request> record_payment(const std::string& id, std::string_view reference, const std::string& actor);

  // Extends the deadline by `months` (1 or 2; at most 2 in total), records the reason and emails
  // it to the member. invalid on "months" or "reason"; conflict when closed.
  Result<Request> extend(const std::string& id, int months, std::string_view reason, notify::Mailer& mailer,
                         const std::string& actor);
  // Refuses an open request with its reasons and emails them to the member.
  Result<Request> refuse(const std::string& id, std::string_view reason, notify::Mailer& mailer,
                         const std::string& actor);

  // Access, in_progress (or completed): writes the ZIP of everything held about the member to
  // `out_path` (see export.h for its contents) and records the time. conflict otherwise.
  Result<ExportSummary> export_access(const std::string& id, const std::string& out_path, const std::string& actor);

  // Performs an in_progress request and closes it as completed, with its outcome:
  //  access:  requires a prior export; outcome {"export": {...}}.
  //  rectify: Accounts::correct_member, then a rectification notice for every disclosure of the
  //           member made before now whose categories include a corrected field's category;
  //           outcome {"corrected": [fields], "notices": [{disclosure_id, recipient, fields}]}.
  //  erase:   refused (conflict, field "legal_hold", naming the hold's reason) while a legal hold
  //           is in place; else outcome {"items": [{item, outcome: erased|anonymised|kept,
  //           exception, until}]} and the member's key destroyed.
  Result<Request> complete(const std::string& id, const std::string& actor);

  // The portal's answer to an access request once identity (and fee) are settled: exports the
  // copy, seals it under the member's own data key (so erasing the member makes it unreadable)
  // into `dir`/<id>.sealed, records until when it may be downloaded (setting rights.download_days)
  // and completes the request. conflict when the request is not an access request in progress;
  // invalid on "downloads" when `dir` cannot be written.
  Result<Request> produce_download(const std::string& id, const std::string& dir, const std::string& actor);
  // The ZIP of a completed access request, for its own member only: not_found (as for an unknown
  // id) when `member_id` is not the requester, conflict when no download was produced, erased when
  // the member's key is gone. nullopt when its time has passed: the file is then removed. Each
  // download appends a "request.download" audit entry (ids and size only).
  Result<std::optional<std::string>> read_download(const std::string& id, const std::string& member_id,
                                                   const std::string& dir, const std::string& actor);
  // Removes from `dir` every copy whose download period has passed (read_download removes its own
  // on the next try too). Returns how many were removed. Called when a copy is produced, when
  // staff list the queue and by every node's retention round in serve (retention/scheduler.h), so
  // an expired copy waits for neither its member nor staff.
  Result<int64_t> remove_expired_downloads(const std::string& dir);
  // Emails the member one of the status mails above about request `r` (the address is read for
  // purpose legal, audited). unavailable when the relay refused.
  Status mail_status(const Request& r, StatusMail which, notify::Mailer& mailer, const std::string& actor);

 private:
  Result<Request> insert_new(store::Session& s, const NewRequest& input, const std::string& member_id, int64_t now,
                             const std::string& actor);
  Result<Request> settle_fee(const std::string& id, bool waived, std::string_view text, const std::string& actor);
  // Adds {"download": {"until"}} to an exported request's outcome, with its audit entry.
  Status note_download(const std::string& id, int64_t until_us, const std::string& actor);

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::rights
