#include "consent/optional_data.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "common/json.h"
#include "privacy/audit_record.h"

namespace privox::consent {
namespace {

// The member must exist and still hold their key: optional data is sealed under it.
Status check_member(store::Session& s, const std::string& member_id) {
  return accounts::require_active_member(s, member_id);
}

Status check_value(const nlohmann::json& value) {
  if (!value.is_object() && !value.is_array())
    return invalid("value", "must be a JSON object or array (a contact list, a location, a profile)");
  if (value.dump().size() > kMaxOptionalValueBytes)
    return invalid("value", fmt::format("is larger than {} bytes", kMaxOptionalValueBytes));
  return {};
}

// Column names come from the enum, never from input.
std::string enc_column(OptionalKind kind) { return fmt::format("{}_enc", to_string(kind)); }
std::string at_column(OptionalKind kind) { return fmt::format("{}_at_us", to_string(kind)); }

}  // namespace

std::string_view to_string(OptionalKind kind) {
  switch (kind) {
    case OptionalKind::contacts: return "contacts";
    case OptionalKind::location: return "location";
    case OptionalKind::social_profile: return "social_profile";
  }
  return "?";
}

std::optional<OptionalKind> parse_optional_kind(std::string_view text) {
  for (OptionalKind k : kOptionalKinds)
    if (to_string(k) == text) return k;
  return std::nullopt;
}

ConsentPurpose consent_for(OptionalKind kind) {
  switch (kind) {
    case OptionalKind::contacts: return ConsentPurpose::contacts_sync;
    case OptionalKind::location: return ConsentPurpose::location;
    case OptionalKind::social_profile: return ConsentPurpose::social_profile;
  }
  return ConsentPurpose::contacts_sync;
}

std::optional<OptionalKind> optional_kind_for(ConsentPurpose purpose) {
  for (OptionalKind k : kOptionalKinds)
    if (consent_for(k) == purpose) return k;
  return std::nullopt;
}

Status OptionalData::put(store::Session& tx, const std::string& member_id, OptionalKind kind,
                         const nlohmann::json& value, const std::string& actor) const {
  PRIVOX_TRY(check_value(value));
  PRIVOX_TRY(check_member(tx, member_id));
  const ConsentLedger ledger(store_, keys_, clock_);
  PRIVOX_ASSIGN(const bool consented, ledger.holds(tx, member_id, consent_for(kind)));
  if (!consented)
    return Error{ErrorCode::conflict, "consent",
                 fmt::format("{} is accepted only while the member's {} consent is given; it is not", to_string(kind),
                             to_string(consent_for(kind)))};
  PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(tx, keys_, member_id));
  const Bytes sealed = privacy::seal_field(key, member_id, to_string(kind), value.dump());
  PRIVOX_TRY(tx.exec("INSERT INTO optional_data (member_id) VALUES (?) ON CONFLICT DO NOTHING", {member_id}));
  PRIVOX_TRY(tx.exec(fmt::format("UPDATE optional_data SET {} = ?, {} = ? WHERE member_id = ?", enc_column(kind),
                                 at_column(kind)),
                     {sealed, clock_.now_us(), member_id}));
  PRIVOX_TRY(audit_.append(tx, {actor, "optional_data.put", member_id, "service", {{"kind", to_string(kind)}}}));
  return {};
}

Status OptionalData::put(const std::string& member_id, OptionalKind kind, const nlohmann::json& value,
                         const std::string& actor) const {
  return store::with_transaction(store_, store::TxMode::write,
                                 [&](store::Session& tx) { return put(tx, member_id, kind, value, actor); });
}

Result<std::vector<OptionalItem>> OptionalData::list(store::Session& tx, const std::string& member_id,
                                                     const std::string& actor) const {
  PRIVOX_TRY(check_member(tx, member_id));
  PRIVOX_ASSIGN(store::Rows rows, tx.query("SELECT contacts_enc, contacts_at_us, location_enc, location_at_us, "
                                           "social_profile_enc, social_profile_at_us FROM optional_data "
                                           "WHERE member_id = ?",
                                           {member_id}));
  std::vector<OptionalItem> out;
  nlohmann::json kinds = nlohmann::json::array();
  if (!rows.empty()) {
    PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(tx, keys_, member_id));
    size_t column = 0;
    for (OptionalKind kind : kOptionalKinds) {  // the SELECT lists the kinds in this order
      const size_t enc = column, at = column + 1;
      column += 2;
      if (rows[0].is_null(enc)) continue;
      PRIVOX_ASSIGN(std::string text, privacy::open_field(key, member_id, to_string(kind), rows[0].blob(enc)));
      Result<nlohmann::json> value = json::parse_untrusted(text);
      if (!value.ok())
        return make_error(ErrorCode::corrupt, fmt::format("stored {} of member {} is not JSON", to_string(kind), member_id));
      out.push_back({kind, std::move(*value), rows[0].i64(at)});
      kinds.push_back(to_string(kind));
    }
  }
  PRIVOX_TRY(audit_.append(tx, {actor, "optional_data.show", member_id, "service", {{"kinds", kinds}}}));
  return out;
}

Result<std::vector<OptionalItem>> OptionalData::list(const std::string& member_id, const std::string& actor) const {
  std::vector<OptionalItem> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    PRIVOX_ASSIGN(out, list(tx, member_id, actor));
    return {};
  }));
  return out;
}

Result<bool> OptionalData::remove(const std::string& member_id, OptionalKind kind, const std::string& actor) const {
  bool deleted = false;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    PRIVOX_TRY(check_member(tx, member_id));
    PRIVOX_ASSIGN(deleted, delete_kind(tx, member_id, kind));
    PRIVOX_TRY(audit_.append(tx, {actor, "optional_data.delete", member_id, "",
                                  {{"kind", to_string(kind)}, {"deleted", deleted}}}));
    return {};
  }));
  return deleted;
}

Result<bool> OptionalData::delete_kind(store::Session& tx, const std::string& member_id, OptionalKind kind) {
  PRIVOX_ASSIGN(const int64_t changed,
                tx.exec(fmt::format("UPDATE optional_data SET {0} = NULL, {1} = NULL WHERE member_id = ? AND {0} IS NOT "
                                    "NULL",
                                    enc_column(kind), at_column(kind)),
                        {member_id}));
  // A row with no kind left says nothing worth keeping, not even that the member once gave data.
  PRIVOX_TRY(tx.exec("DELETE FROM optional_data WHERE member_id = ? AND contacts_enc IS NULL AND location_enc IS NULL "
                     "AND social_profile_enc IS NULL",
                     {member_id}));
  return changed > 0;
}

}  // namespace privox::consent
