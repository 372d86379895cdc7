#pragma once
// The data map: the single place where every column the store holds is declared. A personal
// field says what category it belongs to, whether sign-up requires it, which purposes may use it,
// its legal basis, how long it is kept, how a rights request treats it and how it is protected.
// Every other column is declared as non-personal, with the reason. Sign-up validation, purpose
// checks, the printed data map, the privacy notice (in the words each field declares for people),
// exports, erasure and retention all read this table; privacy/datamap_test.cpp fails when the live
// schema has a column this map lacks.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace privox::privacy {

enum class Category {
  identity_contact,
  payment,
  traffic,
  content,
  mobile_social,
  web_analytics,
  consent_rights,
  operator_interactions,
};

// Why personal data may be used. Staff name one of these on every access (P6).
enum class Purpose : uint32_t {
  service = 1u << 0,    // provide the phone service itself
  billing = 1u << 1,
  support = 1u << 2,
  fraud = 1u << 3,
  legal = 1u << 4,      // legal, regulatory and compliance duties
  marketing = 1u << 5,  // only with the subject's consent
};
using PurposeSet = uint32_t;
constexpr PurposeSet operator|(Purpose a, Purpose b) { return static_cast<uint32_t>(a) | static_cast<uint32_t>(b); }
constexpr PurposeSet operator|(PurposeSet a, Purpose b) { return a | static_cast<uint32_t>(b); }
constexpr bool allows(PurposeSet set, Purpose p) { return (set & static_cast<uint32_t>(p)) != 0; }

enum class LegalBasis { contract, legal_obligation, legitimate_interest, consent };

enum class RetentionRule {
  contract_plus_6_years,   // billing records: six years after the contract ends
  until_closure,           // erased when the account closes (after its grace period)
  billing_dispute_period,  // raw until the dispute period ends, then anonymised
  operator_limit,          // call-log and voicemail count and age limits the operator sets
  login_attempt_window,    // counts failed logins: purged when its window and any lock-out have passed
  until_invitation_ends,   // an invitation's address: its key destroyed when accepted, revoked or expired
  hourly_rate_window,      // counts actions per hour: purged when its hour has passed
  until_link_followed,     // waits for an emailed link: deleted when followed, purged after 24 hours
  token_replay_guard,      // stops a payment token being used twice: purged 90 days after use
  ban_period,              // a source banned for failed SIP logins: purged a day after the ban ends
  while_consented,         // deleted when consent is withdrawn
  as_law_requires,
  while_company_active,   // business data of a tenant, not of a natural person
  until_binding_expires,  // a device's registration: deleted when it lapses or is removed
  while_line_is_theirs,   // a line's own greeting: replaced or deleted by its member, deleted on their erasure
};

// What a rights request does with the field.
enum class ErasureTreatment { erase, anonymise, keep_with_exception };

enum class Protection {
  per_subject,  // XChaCha20-Poly1305 under the subject's data key
  none,         // stored in clear; `protection_reason` says why that is acceptable
};

// How a person types the field, for validation. `recorded`: privox records it from the network
// (SIP, call events), nobody types it; its writer bounds it by max_length.
enum class Format { text, email, phone, date, token, card_brand, card_last4, card_expiry, recorded };

struct FieldSpec {
  std::string_view name;          // the field's name in APIs, exports and errors
  std::string_view table;
  std::string_view column;
  std::string_view index_column;  // keyed blind index for equality look-ups; empty if none
  Category category;
  bool mandatory;
  PurposeSet purposes;
  LegalBasis basis;
  RetentionRule retention;
  ErasureTreatment erasure;
  std::string_view erasure_exception;  // when erasure may be deferred, and why
  bool in_access_export;
  Protection protection;
  std::string_view protection_reason;
  Format format;
  size_t max_length;
  std::string_view description;  // for the operator and auditors: what the column holds, precisely
  // For the person the data is about, in the notice (ledgers/notice.h): a short name
  // ("Password (stored only as a one-way hash)") and what it is, in the second person ("your ...").
  // Never a column name or an identifier: `name` above is the key that APIs and exports use.
  std::string_view label;
  std::string_view plain_description;
};

struct StructuralColumn {
  std::string_view table;
  std::string_view column;
  std::string_view reason;  // why the column holds no personal data
};

// Each subsystem declares the columns of the tables it owns beside its code (`<folder>/datamap.cpp`,
// exported through its module.h); the composition root (app/registry.h) installs every part, in
// layer order, before anything reads the map. Declaring a column in two parts is a test failure.
struct DataMapPart {
  std::string_view owner;  // the folder that owns the tables
  std::span<const FieldSpec> personal;
  std::span<const StructuralColumn> structural;
};
void install_datamap(std::vector<DataMapPart> parts);
const std::vector<DataMapPart>& datamap_parts();

// Every part joined, in installation order.
std::span<const FieldSpec> personal_fields();
std::span<const StructuralColumn> structural_columns();

// The personal field stored in `table`.`column` (or its blind index), if there is one.
const FieldSpec* find_field_by_column(std::string_view table, std::string_view column);
const FieldSpec* find_field(std::string_view table, std::string_view name);
// True when the column is declared at all, personal, blind index or structural.
bool is_declared(std::string_view table, std::string_view column);

std::string_view to_string(Category c);
std::string_view to_string(Purpose p);
std::string_view to_string(LegalBasis b);
std::string_view to_string(RetentionRule r);
std::string_view to_string(ErasureTreatment e);
std::string_view to_string(Protection p);
std::optional<Purpose> parse_purpose(std::string_view text);

// The same values in plain words for the person the data is about, for the notice's human
// layers: no identifiers, second person ("to meet a legal duty"). Retention needs the operator's
// settings, so its words live with the notice (ledgers/notice.cpp).
std::string_view category_title(Category c);  // "Identity and contact details"
std::string_view purpose_title(Purpose p);    // "Billing"
std::string_view purpose_words(Purpose p);    // "to bill your company and take payment"
std::string_view basis_words(LegalBasis b);   // "to meet a legal duty"
std::string_view erasure_words(ErasureTreatment e);
std::string_view protection_words(Protection p);
std::string purposes_text(PurposeSet set);  // "billing, support"

nlohmann::json datamap_json();
std::string datamap_text();

}  // namespace privox::privacy
