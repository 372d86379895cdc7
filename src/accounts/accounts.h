#pragma once
// Companies (tenants) and their members. Every personal field of a member is validated against
// the data map, sealed under the member's own data key and written with its audit entry in one
// transaction; reading a member names a purpose and returns only the fields the data map allows
// for it; erasing destroys the member's key, so every copy of their fields becomes unreadable.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <optional>
#include <string>
#include <string_view>
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
  std::string time_zone = "UTC";  // IANA name (accounts/time_zone.h): its business hours' zone
};

// The member's personal fields in data-map order (accounts/datamap.cpp), and one by name: what the
// data map says of each member field, for the folders that show, export or correct them.
std::vector<const privacy::FieldSpec*> member_fields();
const privacy::FieldSpec* member_field(std::string_view name);

// A member as the store holds them, without their personal fields.
struct MemberRow {
  std::string id, company_id;
  bool erased = false;
  int64_t created_at_us = 0;
  int64_t erased_at_us = 0;  // 0 while active
};

// Typed reads and writes for the folders above, inside the caller's transaction: accounts/ owns
// companies, members, extensions and trunks, and only its code holds SQL that names them.
//
// The member, or nullopt when no member has the id.
Result<std::optional<MemberRow>> find_member(store::Session& s, const std::string& id);
// not_found (field `field`) when no member has the id, erased when they were erased.
Status require_active_member(store::Session& s, const std::string& id, std::string_view field = "member");
// The active member whose email is this one (blind index look-up); nullopt when none.
Result<std::optional<std::string>> active_member_by_email(store::Session& s, const privacy::Keyring& keys,
                                                          std::string_view normalised_email);
// Whether any member, active or erased, holds this email (sign-up's uniqueness check).
Result<bool> email_taken(store::Session& s, const privacy::Keyring& keys, std::string_view normalised_email);
// Active members whose phone number is this one (E.164), oldest first.
Result<std::vector<std::string>> active_members_by_phone(store::Session& s, const privacy::Keyring& keys,
                                                         std::string_view e164);
// Every active member's id (and company), in id order.
Result<std::vector<MemberRow>> active_members(store::Session& s);
Result<std::vector<MemberRow>> active_members_of_company(store::Session& s, const std::string& company_id);
// The member's personal fields among `fields`, opened with their key; fields they never gave are
// absent. erased when their key is gone.
Result<FieldValues> open_member_fields(store::Session& s, const privacy::Keyring& keys, const std::string& id,
                                       const std::vector<const privacy::FieldSpec*>& fields);
// The names of the member's personal fields that hold a value (nothing is decrypted).
Result<std::vector<std::string>> held_member_fields(store::Session& s, const std::string& id);
// Erasing a member's record: marks them erased and clears their blind indexes (with the index
// key they would still confirm a guessed email or phone). The key itself is destroyed by the one
// erasure path (erasure/erasure.h), which calls this. Returns the names of the fields they held.
Result<std::vector<std::string>> mark_member_erased(store::Session& s, const std::string& id, int64_t now_us);

// Phone lines (extensions) assigned to the member, or to any of the members, in id order.
Result<std::vector<std::string>> lines_of_member(store::Session& s, const std::string& member_id);
Result<std::vector<std::string>> lines_of_members(store::Session& s, const std::vector<std::string>& member_ids);
// The member a line is assigned to; nullopt when it is unassigned or no line has the id.
Result<std::optional<std::string>> member_of_line(store::Session& s, const std::string& line_id);
// Unassigns the member's lines, recording each in the directory's change log; they stay with the
// company. Returns how many.
Result<int64_t> unassign_lines(store::Session& s, const std::string& member_id, int64_t now_us);

Result<Company> find_company(store::Session& s, const std::string& id);
// Every company, in id order.
Result<std::vector<Company>> list_companies(store::Session& s);
// The company, with its row locked for the rest of the transaction (not_found on `company`), so
// that two changes of one company serialise.
Result<Company> lock_company(store::Session& s, const std::string& company_id);
// Moves the company to the other region's store (ledgers/disclosures.h registers the transfer).
Status set_company_region(store::Session& s, const std::string& company_id, std::string_view region);
// Whether a trunk has this id.
Result<bool> trunk_exists(store::Session& s, const std::string& trunk_id);

class Accounts {
 public:
  Accounts(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock), audit_(keys, clock) {}

  // `actor` names who acts, for the audit chain ("cli:root", a staff account id).
  Result<std::string> add_company(const NewCompany& input, const std::string& actor);
  Result<Company> company(const std::string& id);
  // The zone the company's business hours are kept in (an IANA name such as Europe/London, or
  // UTC), with its audit entry "company.time_zone". Errors: invalid_argument on `time_zone` naming
  // a zone the database does not know, on `company` for a malformed id; not_found on `company`.
  Status set_time_zone(const std::string& company_id, std::string_view zone, const std::string& actor);

  Result<std::string> add_member(const std::string& company_id, const FieldValues& input, const std::string& actor);
  // The same, inside the caller's write transaction, so that a company, its first member and their
  // login are written together or not at all (portal sign-up). Same checks and errors; after an
  // error the caller must roll the transaction back (PostgreSQL has already aborted it).
  Result<std::string> add_company(store::Session& tx, const NewCompany& input, const std::string& actor);
  Result<std::string> add_member(store::Session& tx, const std::string& company_id, const FieldValues& input,
                                 const std::string& actor);
  // Rectification: validates each corrected field against the data map as sign-up does (errors
  // name the field; an unknown field or one that is not a member field is refused), re-seals it
  // and its blind index under the member's key and writes one audit entry "member.correct" with
  // the field names only, all in one transaction. Returns the names of the corrected fields.
  // Fails with not_found for an unknown member, erased for an erased one, conflict when a
  // corrected email address belongs to another member.
  // Inside the caller's write transaction. This is the primitive: every correction goes through
  // rights/corrections.h, which also records a notice for each earlier recipient (GDPR Art. 19).
  Result<std::vector<std::string>> correct_member(store::Session& s, const std::string& id,
                                                  const FieldValues& corrections, const std::string& actor);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::accounts
