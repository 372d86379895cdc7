#pragma once
// The consent ledger (P4, P11, P12): an append-only record of every consent decision a person
// made, with how, where and under which version of the privacy notice they made it. Nothing is ever
// updated or deleted in it; the current state of a consent is the latest decision for its purpose.
// Withdrawing is one call, exactly like giving. Withdrawing consent for optional data (contacts,
// location, social profile) deletes that data in the same transaction (optional_data.h).
//
// Subjects are member ids, or, for a portal visitor who has not logged in, the random visitor id
// kept in the strictly necessary consent cookie.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::consent {

enum class ConsentPurpose {
  marketing_email,
  marketing_sms,
  cookies_performance,
  contacts_sync,
  location,
  social_profile,
};
inline constexpr ConsentPurpose kConsentPurposes[] = {
    ConsentPurpose::marketing_email, ConsentPurpose::marketing_sms, ConsentPurpose::cookies_performance,
    ConsentPurpose::contacts_sync,   ConsentPurpose::location,      ConsentPurpose::social_profile,
};

// How the decision reached us. `staff` is written "operator" in the ledger and the API: an
// operator's employee recorded it on the person's instruction.
enum class ConsentMethod { form, link, sms_reply, staff };

std::string_view to_string(ConsentPurpose p);
std::string_view to_string(ConsentMethod m);
std::optional<ConsentPurpose> parse_consent_purpose(std::string_view text);
std::optional<ConsentMethod> parse_consent_method(std::string_view text);

// The words people read for a decision. The ledger stores a "no" the same way whenever it is made
// (it has the same effect), but a "no" before any "yes" for that purpose, such as a box left
// unticked at sign-up, reads "not given": only a consent that was given can be "withdrawn".
inline constexpr std::string_view kNotGiven = "not given";
std::string_view decision_word(bool given, bool given_before);

struct ConsentDecision {
  std::string subject_id;
  ConsentPurpose purpose = ConsentPurpose::marketing_email;
  bool given = false;
  ConsentMethod method = ConsentMethod::form;
  std::string channel;         // where: "web", "email", "sms", "cli", "api", "mobile"
  std::string notice_version;  // the privacy notice the person was shown (notice.h)
};

struct ConsentRecord {
  std::string id;
  std::string subject_id;
  ConsentPurpose purpose = ConsentPurpose::marketing_email;
  bool given = false;
  ConsentMethod method = ConsentMethod::form;
  std::string channel;
  std::string notice_version;
  int64_t at_us = 0;
};

class ConsentLedger {
 public:
  ConsentLedger(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), clock_(clock), audit_(keys, clock) {}

  // Appends the decision, with its audit entry, inside the caller's write transaction; on a
  // withdrawal of contacts_sync, location or social_profile it also deletes that optional data.
  // `invalid_argument` naming the field for an empty subject, channel or notice version.
  Result<ConsentRecord> record(store::Session& tx, const ConsentDecision& decision, const std::string& actor) const;
  // The same in a transaction of its own.
  Result<ConsentRecord> record(const ConsentDecision& decision, const std::string& actor) const;

  // The latest decision per purpose; a purpose never decided is absent (and does not hold).
  Result<std::map<ConsentPurpose, ConsentRecord>> current(store::Session& s, const std::string& subject_id) const;
  Result<std::map<ConsentPurpose, ConsentRecord>> current(const std::string& subject_id) const;
  Result<bool> holds(store::Session& s, const std::string& subject_id, ConsentPurpose purpose) const;
  // Every decision of the subject, oldest first.
  Result<std::vector<ConsentRecord>> history(const std::string& subject_id) const;
  // How many ledger rows name the subject (erasure reports them kept).
  static Result<int64_t> count_records(store::Session& s, const std::string& subject_id);
  // The subjects whose latest decision for `purpose` is "given" (marketing audiences).
  Result<std::vector<std::string>> subjects_holding(ConsentPurpose purpose) const;

 private:
  store::Store& store_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::consent
