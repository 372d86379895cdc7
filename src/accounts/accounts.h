#pragma once
// Companies (tenants) and their members. Every personal field of a member is validated against
// the data map, sealed under the member's own data key and written with its audit entry in one
// transaction; reading a member names a purpose and returns only the fields the data map allows
// for it; erasing destroys the member's key, so every copy of their fields becomes unreadable.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "accounts/validation.h"
#include "common/clock.h"
#include "privacy/audit.h"
#include "privacy/datamap.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::accounts {

struct NewCompany {
  std::string name;
  std::string region;   // eea | us
  std::string country;  // ISO 3166; empty: US for region us, GB for region eea
};

struct Company {
  std::string id, name, region, country;
  int64_t created_at_us = 0;
};

struct EraseOutcome {
  bool already_erased = false;
  int64_t erased_at_us = 0;
  bool files_purged = false;  // false when another process kept the write-ahead log open
};

class Accounts {
 public:
  Accounts(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock), audit_(keys, clock) {}

  // `actor` names who acts, for the audit chain ("cli:root", a staff account id).
  Result<std::string> add_company(const NewCompany& input, const std::string& actor);
  Result<Company> company(const std::string& id);

  Result<std::string> add_member(const std::string& company_id, const FieldValues& input, const std::string& actor);
  // The same, inside the caller's write transaction, so that a company, its first member and their
  // login are written together or not at all (portal sign-up). Same checks and errors; after an
  // error the caller must roll the transaction back (PostgreSQL has already aborted it).
  Result<std::string> add_company(store::Session& tx, const NewCompany& input, const std::string& actor);
  Result<std::string> add_member(store::Session& tx, const std::string& company_id, const FieldValues& input,
                                 const std::string& actor);
  // The member's fields that `purpose` may use, and the names of those it may not. For marketing,
  // email and phone are shown only while the member's marketing_email / marketing_sms consent holds.
  Result<nlohmann::json> show_member(const std::string& id, privacy::Purpose purpose, const std::string& actor);
  // Destroys the member's key, clears their blind indexes and unassigns their extensions (the
  // lines stay with the company).
  Result<EraseOutcome> erase_member(const std::string& id, const std::string& actor);
  // Rectification: validates each corrected field against the data map as sign-up does (errors
  // name the field; an unknown field or one that is not a member field is refused), re-seals it
  // and its blind index under the member's key and writes one audit entry "member.correct" with
  // the field names only, all in one transaction. Returns the names of the corrected fields.
  // Fails with not_found for an unknown member, erased for an erased one, conflict when a
  // corrected email address belongs to another member.
  Result<std::vector<std::string>> correct_member(const std::string& id, const FieldValues& corrections,
                                                  const std::string& actor);

 private:
  Result<bool> marketing_consent_holds(store::Session& s, const std::string& id, std::string_view field) const;

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::accounts
