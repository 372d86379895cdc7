#pragma once
// The disclosure register (P9, P10, P16): every time personal data leaves privox for a third party,
// one entry says who received it, what kind of recipient it is, which data categories, on which
// legal basis, under which legal process or transfer safeguard, when, who recorded it and which
// subjects it concerned (table disclosure_subjects). Rights requests read it: an access export
// lists the entries about the person (about()), a rectification tells their recipients.
//
// Kinds of recipient:
//   carrier          a telephony operator that routes calls (one standing entry per trunk, written
//                    when the trunk is added; it concerns every member whose lines' calls the
//                    trunk carried, which about() finds through traffic_records.trunk_id)
//   supplier         a processor working for the operator
//   authority        a public authority under legal process: `reference` (the order's reference)
//                    is required
//   buyer            the buyer of the business (business_sale_export)
//   region_transfer  data moved to the other region's store (P10): `safeguard` is required
//
// Every entry is written with its audit entry in the same transaction; the register itself holds
// ids, business names and references, never a person's data.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "privacy/datamap.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::ledgers {

enum class DisclosureKind { carrier, supplier, authority, buyer, region_transfer };
inline constexpr DisclosureKind kDisclosureKinds[] = {DisclosureKind::carrier, DisclosureKind::supplier,
                                                      DisclosureKind::authority, DisclosureKind::buyer,
                                                      DisclosureKind::region_transfer};
std::string_view to_string(DisclosureKind kind);
std::optional<DisclosureKind> parse_disclosure_kind(std::string_view text);
// "carrier" -> "telephony operators that route calls", for notices.
std::string_view describe(DisclosureKind kind);
// Parses a data map category name ("traffic", "identity_contact", ...).
std::optional<privacy::Category> parse_category(std::string_view text);
std::optional<privacy::LegalBasis> parse_legal_basis(std::string_view text);

struct NewDisclosure {
  std::string recipient;              // the third party, e.g. "Carrier One Ltd", "Metropolitan Police"
  DisclosureKind kind = DisclosureKind::supplier;
  std::vector<privacy::Category> categories;   // at least one
  privacy::LegalBasis basis = privacy::LegalBasis::contract;
  std::string reference;              // required for authority: the legal process's reference
  std::string safeguard;              // required for region_transfer, e.g. "standard contractual clauses"
  std::vector<std::string> subject_ids;  // member ids; may be empty for a standing entry
  std::string trunk_id;               // carrier entries: the trunk whose routing this is
};

struct Disclosure {
  std::string id, recipient;
  DisclosureKind kind = DisclosureKind::supplier;
  std::vector<privacy::Category> categories;
  privacy::LegalBasis basis = privacy::LegalBasis::contract;
  std::string reference, safeguard, trunk_id, recorded_by;
  std::vector<std::string> subject_ids;
  int64_t disclosed_at_us = 0;
};
nlohmann::json to_json(const Disclosure& d);

struct DisclosureFilter {
  std::optional<DisclosureKind> kind;
  std::optional<int64_t> since_us;       // disclosed at or after
  std::optional<std::string> subject_id; // as about(): named subjects and carrier routing
};

struct RegionTransfer {
  std::string disclosure_id, from_region, to_region;
  int64_t members = 0;
};

struct SaleExport {
  std::string disclosure_id;
  int64_t companies = 0, members = 0;
};

class DisclosureRegister {
 public:
  DisclosureRegister(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock), audit_(keys, clock) {}

  // Validates and appends an entry; returns its id. Errors: invalid `recipient` (empty or longer
  // than 200), `categories` (none), `reference` (missing for authority), `safeguard` (missing for
  // region_transfer), `member` not_found for a subject that is no member, `trunk` not_found.
  Result<std::string> record(store::Session& tx, const NewDisclosure& entry, const std::string& actor) const;
  Result<std::string> record(const NewDisclosure& entry, const std::string& actor) const;

  // The carrier's standing entry for a trunk that was just added (add_carrier_trunk calls it in
  // the trunk's transaction): recipient = the trunk's name,
  // category traffic, basis contract, no named subjects (about() finds them through the traffic).
  static Result<std::string> record_carrier(store::Session& tx, const privacy::AuditChain& audit, const Clock& clock,
                                            const std::string& trunk_id, const std::string& trunk_name,
                                            const std::string& actor);
  // P9: adds a carrier trunk (accounts/trunks.h) and its standing register entry in one
  // transaction: the carrier receives the traffic data of every call it routes. Errors as
  // Trunks::add_trunk.
  Result<std::string> add_carrier_trunk(const std::string& name, const std::string& address, bool trusted,
                                        const std::string& actor) const;

  // Entries matching the filter, oldest first, each with its subjects.
  Result<std::vector<Disclosure>> list(const DisclosureFilter& filter = {}) const;
  // The entries that concern a member: those naming them, and the carrier entries of the trunks
  // that carried calls of the member's lines. Oldest first. For an access export: each entry's
  // subject_ids holds only this member (never the other people an entry named).
  Result<std::vector<Disclosure>> about(store::Session& s, const std::string& member_id) const;
  Result<std::vector<Disclosure>> about(const std::string& member_id) const;

  // P10: moves a company to the other region's store. privox runs one store per deployment here,
  // so the move is the company's region flag plus the register entry; the data stays in this store.
  // Errors: invalid `safeguard` when empty, invalid `to` unless eea or us, `company` not_found,
  // conflict (field `to`) when the company is already in that region. Registers a region_transfer
  // entry naming the company's active members, in the same transaction as the change.
  Result<RegionTransfer> transfer_company_region(const std::string& company_id, const std::string& to_region,
                                                 const std::string& safeguard, const std::string& actor) const;

  // P16: writes the customer base (every company; each active member's contact fields, opened
  // for purpose legal) as JSON to `out_path`, and registers a buyer entry naming every included
  // member, in one transaction with the read; the entry commits only after the file is written.
  // Errors: invalid `buyer` when empty, invalid `out` when the file cannot be written.
  Result<SaleExport> business_sale_export(const std::string& buyer, const std::string& out_path,
                                          const std::string& actor) const;

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::ledgers
