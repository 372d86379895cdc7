#include "ledgers/disclosures.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "accounts/accounts.h"
#include "accounts/trunks.h"
#include "common/ids.h"
#include "privacy/audit_record.h"
#include "traffic/cdr.h"

namespace privox::ledgers {
namespace {

constexpr size_t kMaxRecipient = 200;
constexpr size_t kMaxReference = 200;
constexpr size_t kMaxSafeguard = 500;

constexpr privacy::Category kCategories[] = {privacy::Category::identity_contact, privacy::Category::payment,        privacy::Category::traffic,
                                    privacy::Category::content,          privacy::Category::mobile_social,  privacy::Category::web_analytics,
                                    privacy::Category::consent_rights,   privacy::Category::operator_interactions};
constexpr privacy::LegalBasis kBases[] = {privacy::LegalBasis::contract, privacy::LegalBasis::legal_obligation, privacy::LegalBasis::legitimate_interest,
                                 privacy::LegalBasis::consent};
// What a member's data holds, for entries that move all of it (a region transfer).
const std::vector<privacy::Category> kMemberCategories = {privacy::Category::identity_contact, privacy::Category::payment, privacy::Category::traffic,
                                                 privacy::Category::mobile_social, privacy::Category::consent_rights};

constexpr std::string_view kColumns =
    "d.id, d.recipient, d.kind, d.categories, d.legal_basis, d.reference, d.safeguard, d.trunk_id, "
    "d.disclosed_at_us, d.recorded_by";

using accounts::check_one_line;

Status check(const NewDisclosure& e) {
  if (e.recipient.empty()) return invalid("recipient", "is required: name the third party that received the data");
  PRIVOX_TRY(check_one_line("recipient", e.recipient, kMaxRecipient));
  if (e.categories.empty()) return invalid("categories", "name at least one data category, e.g. traffic");
  PRIVOX_TRY(check_one_line("reference", e.reference, kMaxReference));
  PRIVOX_TRY(check_one_line("safeguard", e.safeguard, kMaxSafeguard));
  if (e.kind == DisclosureKind::authority && e.reference.empty())
    return invalid("reference", "a disclosure to an authority needs the legal process's reference (order, warrant)");
  if (e.kind == DisclosureKind::region_transfer && e.safeguard.empty())
    return invalid("safeguard", "a transfer between regions needs its safeguard, e.g. standard contractual clauses");
  return {};
}

std::string categories_text(const std::vector<privacy::Category>& categories) {
  std::set<std::string_view> seen;
  std::string out;
  for (privacy::Category c : categories) {
    if (!seen.insert(to_string(c)).second) continue;
    if (!out.empty()) out += ',';
    out += to_string(c);
  }
  return out;
}

Result<Disclosure> from_row(const store::Row& r) {
  Disclosure d;
  d.id = r.text(0);
  d.recipient = r.text(1);
  const auto kind = parse_disclosure_kind(r.text(2));
  const auto basis = parse_legal_basis(r.text(4));
  if (!kind || !basis) return make_error(ErrorCode::corrupt, fmt::format("register entry {} is malformed", d.id));
  d.kind = *kind;
  d.basis = *basis;
  const std::string& cats = r.text(3);
  for (size_t start = 0; start <= cats.size();) {
    const size_t comma = std::min(cats.find(',', start), cats.size());
    if (const auto c = parse_category(std::string_view(cats).substr(start, comma - start))) d.categories.push_back(*c);
    start = comma + 1;
  }
  d.reference = r.text(5);
  d.safeguard = r.text(6);
  d.trunk_id = r.text_or(7, "");
  d.disclosed_at_us = r.i64(8);
  d.recorded_by = r.text(9);
  return d;
}

Result<std::vector<Disclosure>> entries(store::Session& s, const std::string& where, const store::Params& params) {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query(fmt::format("SELECT {} FROM disclosures d {} ORDER BY d.disclosed_at_us, d.id", kColumns, where),
                        params));
  std::vector<Disclosure> out;
  for (const store::Row& r : rows) {
    PRIVOX_ASSIGN(Disclosure d, from_row(r));
    out.push_back(std::move(d));
  }
  return out;
}

Status load_subjects(store::Session& s, std::vector<Disclosure>& list) {
  for (Disclosure& d : list) {
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT subject_id FROM disclosure_subjects WHERE disclosure_id = ? "
                                            "ORDER BY subject_id",
                                            {d.id}));
    for (const store::Row& r : rows) d.subject_ids.push_back(r.text(0));
  }
  return {};
}

// An entry concerns a member when it names them, or when it is the standing entry of a carrier
// whose trunk carried calls of the member's lines (traffic records belong to the line): the SQL
// condition over disclosures `d`, with its parameters appended.
Result<std::string> concerns_sql(store::Session& s, const std::string& member_id, store::Params& params) {
  PRIVOX_ASSIGN(std::vector<std::string> lines, accounts::lines_of_member(s, member_id));
  PRIVOX_ASSIGN(std::vector<std::string> trunks, traffic::trunks_used_by(s, lines));
  std::string sql = "(d.id IN (SELECT ds.disclosure_id FROM disclosure_subjects ds WHERE ds.subject_id = ?)";
  params.emplace_back(std::in_place_type<std::string>, member_id);
  if (!trunks.empty()) {
    sql += " OR (d.kind = 'carrier' AND d.trunk_id IN (";
    for (size_t i = 0; i < trunks.size(); ++i) {
      sql += i ? ", ?" : "?";
      params.emplace_back(std::in_place_type<std::string>, trunks[i]);
    }
    sql += "))";
  }
  return sql + ")";
}

Result<std::string> insert(store::Session& tx, const privacy::AuditChain& audit, const Clock& clock, const NewDisclosure& e,
                           const std::string& actor) {
  PRIVOX_TRY(check(e));
  std::set<std::string> subjects(e.subject_ids.begin(), e.subject_ids.end());
  for (const std::string& subject : subjects) {
    PRIVOX_ASSIGN(std::optional<accounts::MemberRow> member, accounts::find_member(tx, subject));
    if (!member) return Error{ErrorCode::not_found, "member", fmt::format("no member has id '{}'", subject)};
  }
  if (!e.trunk_id.empty()) {
    PRIVOX_ASSIGN(const bool exists, accounts::trunk_exists(tx, e.trunk_id));
    if (!exists) return Error{ErrorCode::not_found, "trunk", fmt::format("no trunk has id '{}'", e.trunk_id)};
  }
  const int64_t now = clock.now_us();
  const std::string id = new_id(now);
  PRIVOX_TRY(tx.exec("INSERT INTO disclosures (id, recipient, kind, categories, legal_basis, reference, safeguard, "
                     "trunk_id, disclosed_at_us, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     {id, e.recipient, std::string(to_string(e.kind)), categories_text(e.categories),
                      std::string(to_string(e.basis)), e.reference, e.safeguard,
                      e.trunk_id.empty() ? store::null_value() : store::Value(e.trunk_id), now, actor}));
  std::vector<store::Params> rows;
  rows.reserve(subjects.size());
  for (const std::string& subject : subjects) rows.push_back({id, subject});
  if (!rows.empty()) PRIVOX_TRY(tx.insert_rows("disclosure_subjects", {"disclosure_id", "subject_id"}, rows));
  PRIVOX_TRY(audit.append(tx, {actor, "disclosure.record", "", "legal",
                               {{"disclosure_id", id},
                                {"kind", to_string(e.kind)},
                                {"subjects", static_cast<int64_t>(subjects.size())}}}));
  return id;
}

// The customer base for a buyer: companies, and each active member's contact fields that the
// data map lets purpose `legal` use. One audit entry per member: their data left privox.
Result<nlohmann::json> customer_base(store::Session& tx, const privacy::Keyring& keys, const privacy::AuditChain& audit,
                                     const std::string& actor, std::vector<std::string>& member_ids) {
  std::vector<const privacy::FieldSpec*> fields;
  for (const privacy::FieldSpec* f : accounts::member_fields())
    if (f->category == privacy::Category::identity_contact && privacy::allows(f->purposes, privacy::Purpose::legal))
      fields.push_back(f);

  nlohmann::json companies = nlohmann::json::array();
  PRIVOX_ASSIGN(std::vector<accounts::Company> all, accounts::list_companies(tx));
  for (const accounts::Company& c : all) {
    nlohmann::json members = nlohmann::json::array();
    PRIVOX_ASSIGN(std::vector<accounts::MemberRow> rows, accounts::active_members_of_company(tx, c.id));
    for (const accounts::MemberRow& r : rows) {
      PRIVOX_ASSIGN(accounts::FieldValues values, accounts::open_member_fields(tx, keys, r.id, fields));
      nlohmann::json member = {{"id", r.id}};
      for (auto& [name, value] : values) member[name] = std::move(value);
      PRIVOX_TRY(audit.append(tx, {actor, "member.export", r.id, "legal", {{"reason", "business_sale"}}}));
      member_ids.push_back(r.id);
      members.push_back(std::move(member));
    }
    companies.push_back({{"id", c.id}, {"name", c.name}, {"region", c.region}, {"country", c.country}, {"members", members}});
  }
  return companies;
}

// Owner-only: the file holds personal data.
Status write_private_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return invalid("out", fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return invalid("out", fmt::format("cannot write {}: {}", path, std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return invalid("out", fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  return {};
}

}  // namespace

std::string_view to_string(DisclosureKind kind) {
  switch (kind) {
    case DisclosureKind::carrier: return "carrier";
    case DisclosureKind::supplier: return "supplier";
    case DisclosureKind::authority: return "authority";
    case DisclosureKind::buyer: return "buyer";
    case DisclosureKind::region_transfer: return "region_transfer";
  }
  return "?";
}

std::optional<DisclosureKind> parse_disclosure_kind(std::string_view text) {
  for (DisclosureKind k : kDisclosureKinds)
    if (to_string(k) == text) return k;
  return std::nullopt;
}

std::string_view describe(DisclosureKind kind) {
  switch (kind) {
    case DisclosureKind::carrier: return "telephony operators that route calls to and from the public network";
    case DisclosureKind::supplier: return "suppliers that process data on the operator's behalf";
    case DisclosureKind::authority: return "public authorities, only under legal process";
    case DisclosureKind::buyer: return "a buyer of the business, should it be sold";
    case DisclosureKind::region_transfer: return "the operator's store in the other region (EEA or US), under a safeguard";
  }
  return "?";
}

std::optional<privacy::Category> parse_category(std::string_view text) {
  for (privacy::Category c : kCategories)
    if (to_string(c) == text) return c;
  return std::nullopt;
}

std::optional<privacy::LegalBasis> parse_legal_basis(std::string_view text) {
  for (privacy::LegalBasis b : kBases)
    if (to_string(b) == text) return b;
  return std::nullopt;
}

nlohmann::json to_json(const Disclosure& d) {
  nlohmann::json categories = nlohmann::json::array();
  for (privacy::Category c : d.categories) categories.push_back(to_string(c));
  nlohmann::json j = {{"id", d.id},
                      {"recipient", d.recipient},
                      {"kind", to_string(d.kind)},
                      {"categories", categories},
                      {"legal_basis", to_string(d.basis)},
                      {"disclosed_at", format_utc(d.disclosed_at_us)},
                      {"recorded_by", d.recorded_by},
                      {"subjects", d.subject_ids}};
  if (!d.reference.empty()) j["reference"] = d.reference;
  if (!d.safeguard.empty()) j["safeguard"] = d.safeguard;
  if (!d.trunk_id.empty()) j["trunk_id"] = d.trunk_id;
  return j;
}

Result<std::string> DisclosureRegister::record(store::Session& tx, const NewDisclosure& entry,
                                               const std::string& actor) const {
  return insert(tx, audit_, clock_, entry, actor);
}

Result<std::string> DisclosureRegister::record(const NewDisclosure& entry, const std::string& actor) const {
  PRIVOX_TRY(check(entry));  // before a transaction is opened
  std::string id;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    PRIVOX_ASSIGN(id, record(tx, entry, actor));
    return {};
  }));
  return id;
}

Result<std::string> DisclosureRegister::add_carrier_trunk(const std::string& name, const std::string& address,
                                                          bool trusted, const std::string& actor) const {
  accounts::Trunks trunks(store_, keys_, clock_);
  return trunks.add_trunk(name, address, trusted, actor,
                          [&](store::Session& tx, const std::string& trunk_id, const std::string& trunk_name) -> Status {
                            PRIVOX_TRY(record_carrier(tx, audit_, clock_, trunk_id, trunk_name, actor));
                            return {};
                          });
}

Result<std::string> DisclosureRegister::record_carrier(store::Session& tx, const privacy::AuditChain& audit, const Clock& clock,
                                                       const std::string& trunk_id, const std::string& trunk_name,
                                                       const std::string& actor) {
  NewDisclosure entry;
  entry.recipient = trunk_name;
  entry.kind = DisclosureKind::carrier;
  entry.categories = {privacy::Category::traffic};
  entry.basis = privacy::LegalBasis::contract;
  entry.trunk_id = trunk_id;
  return insert(tx, audit, clock, entry, actor);
}

Result<std::vector<Disclosure>> DisclosureRegister::list(const DisclosureFilter& filter) const {
  std::vector<Disclosure> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    std::string where = "WHERE 1 = 1";
    store::Params params;
    // Built in place: GCC 12 at -O2 warns falsely about moving temporaries into the variant.
    if (filter.kind) {
      where += " AND d.kind = ?";
      params.emplace_back(std::in_place_type<std::string>, to_string(*filter.kind));
    }
    if (filter.since_us) {
      where += " AND d.disclosed_at_us >= ?";
      params.emplace_back(std::in_place_type<int64_t>, *filter.since_us);
    }
    if (filter.subject_id) {
      PRIVOX_ASSIGN(const std::string concerns, concerns_sql(s, *filter.subject_id, params));
      where += " AND " + concerns;
    }
    PRIVOX_ASSIGN(out, entries(s, where, params));
    return load_subjects(s, out);
  }));
  return out;
}

Result<std::vector<Disclosure>> DisclosureRegister::about(store::Session& s, const std::string& member_id) const {
  store::Params params;
  PRIVOX_ASSIGN(const std::string concerns, concerns_sql(s, member_id, params));
  PRIVOX_ASSIGN(std::vector<Disclosure> out, entries(s, "WHERE " + concerns, params));
  PRIVOX_ASSIGN(store::Rows named, s.query("SELECT disclosure_id FROM disclosure_subjects WHERE subject_id = ?",
                                           {member_id}));
  std::set<std::string> naming;
  for (const store::Row& r : named) naming.insert(r.text(0));
  for (Disclosure& d : out)
    if (naming.count(d.id)) d.subject_ids = {member_id};
  return out;
}

Result<std::vector<Disclosure>> DisclosureRegister::about(const std::string& member_id) const {
  std::vector<Disclosure> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(out, about(s, member_id));
    return {};
  }));
  return out;
}

Result<RegionTransfer> DisclosureRegister::transfer_company_region(const std::string& company_id,
                                                                   const std::string& to_region,
                                                                   const std::string& safeguard,
                                                                   const std::string& actor) const {
  if (to_region != "eea" && to_region != "us") return invalid("to", "the region must be eea or us");
  if (safeguard.empty())
    return invalid("safeguard",
                   "a transfer between regions is refused without a safeguard, e.g. \"standard contractual clauses, "
                   "signed 2026-05-01\"");
  RegionTransfer out;
  out.to_region = to_region;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    // Locking the company first means two transfers cannot interleave.
    PRIVOX_ASSIGN(const accounts::Company company, accounts::lock_company(tx, company_id));
    out.from_region = company.region;
    if (out.from_region == to_region)
      return Error{ErrorCode::conflict, "to", fmt::format("company {} is already in region {}", company_id, to_region)};
    // privox runs one store per deployment here: the company's data stays in this store and the
    // region column says which regional store it belongs to. Moving rows between two regional
    // stores is the deployment's job; what privox guarantees is the safeguard and the entry.
    PRIVOX_TRY(accounts::set_company_region(tx, company_id, to_region));
    PRIVOX_ASSIGN(std::vector<accounts::MemberRow> members, accounts::active_members_of_company(tx, company_id));
    NewDisclosure entry;
    entry.recipient = fmt::format("privox store in region {}", to_region);
    entry.kind = DisclosureKind::region_transfer;
    entry.categories = kMemberCategories;
    entry.basis = privacy::LegalBasis::contract;
    entry.safeguard = safeguard;
    for (const accounts::MemberRow& m : members) entry.subject_ids.push_back(m.id);
    out.members = static_cast<int64_t>(entry.subject_ids.size());
    PRIVOX_ASSIGN(out.disclosure_id, insert(tx, audit_, clock_, entry, actor));
    PRIVOX_TRY(audit_.append(tx, {actor, "company.transfer_region", "", "legal",
                                  {{"company_id", company_id},
                                   {"from", out.from_region},
                                   {"to", to_region},
                                   {"disclosure_id", out.disclosure_id}}}));
    return {};
  }));
  return out;
}

Result<SaleExport> DisclosureRegister::business_sale_export(const std::string& buyer, const std::string& out_path,
                                                            const std::string& actor) const {
  if (buyer.empty()) return invalid("buyer", "is required: name the buyer of the business");
  PRIVOX_TRY(check_one_line("buyer", buyer, kMaxRecipient));
  if (out_path.empty()) return invalid("out", "is required: the file to write the customer base to");
  // The file appears under its name only once the register entry has committed: a buyer never
  // holds an export the register does not show.
  const std::string staging = out_path + ".partial";
  SaleExport out;
  const Status done = store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    std::vector<std::string> members;
    PRIVOX_ASSIGN(nlohmann::json companies, customer_base(tx, keys_, audit_, actor, members));
    NewDisclosure entry;
    entry.recipient = buyer;
    entry.kind = DisclosureKind::buyer;
    entry.categories = {privacy::Category::identity_contact};
    entry.basis = privacy::LegalBasis::legitimate_interest;
    entry.subject_ids = members;
    PRIVOX_ASSIGN(out.disclosure_id, insert(tx, audit_, clock_, entry, actor));
    out.companies = static_cast<int64_t>(companies.size());
    out.members = static_cast<int64_t>(members.size());
    const nlohmann::json file = {{"format", "privox-customer-base-1"},
                                 {"buyer", buyer},
                                 {"exported_at", format_utc(clock_.now_us())},
                                 {"disclosure_id", out.disclosure_id},
                                 {"companies", companies}};
    return write_private_file(staging, file.dump(2) + "\n");
  });
  if (!done.ok()) {
    std::remove(staging.c_str());
    return done.error();
  }
  if (std::rename(staging.c_str(), out_path.c_str()) != 0)
    return invalid("out", fmt::format("the export was registered ({}) but could not be moved to {}: {}",
                                      out.disclosure_id, out_path, std::strerror(errno)));
  return out;
}

}  // namespace privox::ledgers
