#pragma once
// Optional data (P4): what the mobile app may send about a member beyond what the service needs:
// their contact list, their location and a social profile. Each kind is accepted only while the
// member's matching consent holds (contacts -> contacts_sync, location -> location,
// social_profile -> social_profile, consent.h), is sealed under the member's own data key, and is
// deleted when that consent is withdrawn (ConsentLedger::record calls delete_kind in the same
// transaction). A member holds at most one value per kind: storing a kind again replaces it
// (a new contact list replaces the old one, a new location the last one).
//
// Table `optional_data`: one row per member, one sealed column per kind (data map category
// mobile_social, retention while_consented). Every call writes its audit entry (ids and kinds,
// never values) in the same transaction.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "consent/consent.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::consent {

enum class OptionalKind { contacts, location, social_profile };
inline constexpr OptionalKind kOptionalKinds[] = {OptionalKind::contacts, OptionalKind::location,
                                                  OptionalKind::social_profile};

std::string_view to_string(OptionalKind kind);  // "contacts", "location", "social_profile"
std::optional<OptionalKind> parse_optional_kind(std::string_view text);
// The consent a kind needs, and the kind a consent purpose guards (none for marketing or cookies).
ConsentPurpose consent_for(OptionalKind kind);
std::optional<OptionalKind> optional_kind_for(ConsentPurpose purpose);

// The largest JSON value accepted for one kind, serialised (a contact list of a few thousand).
inline constexpr size_t kMaxOptionalValueBytes = size_t{256} * 1024;

struct OptionalItem {
  OptionalKind kind = OptionalKind::contacts;
  nlohmann::json value;
  int64_t updated_at_us = 0;
};

class OptionalData {
 public:
  OptionalData(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock), audit_(keys, clock) {}

  // Stores (replaces) the member's value of `kind`. Errors: `member` not_found (no such member) or
  // erased; conflict naming the consent (field "consent", message names e.g. contacts_sync) when
  // the member's consent for the kind does not hold; invalid "value" when the value is not an
  // object or array, or is larger than kMaxOptionalValueBytes.
  Status put(const std::string& member_id, OptionalKind kind, const nlohmann::json& value,
             const std::string& actor) const;
  Status put(store::Session& tx, const std::string& member_id, OptionalKind kind, const nlohmann::json& value,
             const std::string& actor) const;

  // The member's stored values, in kOptionalKinds order; kinds with nothing stored are absent.
  // Reading is audited with the purpose "service". `member` not_found / erased as for put.
  Result<std::vector<OptionalItem>> list(const std::string& member_id, const std::string& actor) const;
  Result<std::vector<OptionalItem>> list(store::Session& tx, const std::string& member_id,
                                         const std::string& actor) const;

  // Deletes the member's value of `kind` at their request; true when there was one. Audited.
  Result<bool> remove(const std::string& member_id, OptionalKind kind, const std::string& actor) const;

  // Deletes the value inside the caller's write transaction without an audit entry of its own:
  // for ConsentLedger::record, whose withdrawal entry records the deletion. True when one existed.
  static Result<bool> delete_kind(store::Session& tx, const std::string& member_id, OptionalKind kind);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::consent
