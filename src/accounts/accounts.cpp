#include "accounts/accounts.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounts/company_closure.h"
#include "accounts/directory_log.h"
#include "accounts/module.h"
#include "accounts/time_zone.h"
#include "common/ids.h"
#include "privacy/audit_record.h"

namespace privox::accounts {
namespace {

using privacy::FieldSpec;
using store::Params;
using store::Rows;
using store::Session;
using store::TxMode;

constexpr std::string_view kMembers = "members";

constexpr std::string_view kCompanyColumns = "id, name, region, country, created_at_us, time_zone";

// time_zone NULL (every company before schema 18, and one that never chose): UTC.
Company company_from(const store::Row& r) {
  return Company{r.text(0), r.text(1), r.text(2), r.text(3), r.i64(4), r.is_null(5) ? "UTC" : r.text(5)};
}

Result<Company> load_company(Session& s, const std::string& id) {
  PRIVOX_ASSIGN(Rows rows, s.query(fmt::format("SELECT {} FROM companies WHERE id = ?", kCompanyColumns), {id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "company", fmt::format("no company has id {}", id)};
  return company_from(rows[0]);
}

MemberRow member_from(const store::Row& r) {
  return MemberRow{r.text(0), r.text(1), r.text(2) == "erased", r.i64(3), r.is_null(4) ? 0 : r.i64(4)};
}

constexpr std::string_view kMemberColumns = "id, company_id, status, created_at_us, erased_at_us";

// " IN (?, ?, ...)" over `ids`, their values appended to `params`.
std::string in_list(const std::vector<std::string>& ids, Params& params) {
  std::string sql = " IN (";
  for (size_t i = 0; i < ids.size(); ++i) {
    sql += i ? ", ?" : "?";
    params.emplace_back(ids[i]);
  }
  return sql + ")";
}

}  // namespace

std::vector<const FieldSpec*> member_fields() {
  std::vector<const FieldSpec*> out;
  for (const FieldSpec& f : datamap_part().personal)
    if (f.table == kMembers) out.push_back(&f);
  return out;
}

const FieldSpec* member_field(std::string_view name) {
  for (const FieldSpec* f : member_fields())
    if (f->name == name) return f;
  return nullptr;
}

Result<std::optional<MemberRow>> find_member(Session& s, const std::string& id) {
  PRIVOX_ASSIGN(Rows rows, s.query(fmt::format("SELECT {} FROM members WHERE id = ?", kMemberColumns), {id}));
  if (rows.empty()) return std::optional<MemberRow>();
  return std::optional<MemberRow>(member_from(rows[0]));
}

Status require_active_member(Session& s, const std::string& id, std::string_view field) {
  PRIVOX_ASSIGN(std::optional<MemberRow> member, find_member(s, id));
  if (!member) return Error{ErrorCode::not_found, std::string(field), fmt::format("no member has id '{}'", id)};
  if (member->erased) return Error{ErrorCode::erased, std::string(field), fmt::format("member '{}' was erased", id)};
  return {};
}

Result<std::optional<std::string>> active_member_by_email(Session& s, const privacy::Keyring& keys,
                                                          std::string_view normalised_email) {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT id FROM members WHERE email_bidx = ? AND status = 'active'",
                                   {keys.blind_index("email", normalised_email)}));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows[0].text(0));
}

Result<bool> email_taken(Session& s, const privacy::Keyring& keys, std::string_view normalised_email) {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT 1 FROM members WHERE email_bidx = ?",
                                   {keys.blind_index("email", normalised_email)}));
  return !rows.empty();
}

Result<std::vector<std::string>> active_members_by_phone(Session& s, const privacy::Keyring& keys,
                                                         std::string_view e164) {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT id FROM members WHERE phone_bidx = ? AND status = 'active' ORDER BY id",
                                   {keys.blind_index("phone", e164)}));
  std::vector<std::string> out;
  for (const store::Row& r : rows) out.push_back(r.text(0));
  return out;
}

Result<std::vector<MemberRow>> active_members(Session& s) {
  PRIVOX_ASSIGN(Rows rows,
                s.query(fmt::format("SELECT {} FROM members WHERE status = 'active' ORDER BY id", kMemberColumns)));
  std::vector<MemberRow> out;
  for (const store::Row& r : rows) out.push_back(member_from(r));
  return out;
}

Result<std::vector<MemberRow>> active_members_of_company(Session& s, const std::string& company_id) {
  PRIVOX_ASSIGN(Rows rows, s.query(fmt::format("SELECT {} FROM members WHERE company_id = ? AND status = 'active' "
                                               "ORDER BY id",
                                               kMemberColumns),
                                   {company_id}));
  std::vector<MemberRow> out;
  for (const store::Row& r : rows) out.push_back(member_from(r));
  return out;
}

Result<FieldValues> open_member_fields(Session& s, const privacy::Keyring& keys, const std::string& id,
                                       const std::vector<const FieldSpec*>& fields) {
  FieldValues out;
  if (fields.empty()) return out;
  std::string select = "SELECT status";
  for (const FieldSpec* f : fields) select += fmt::format(", {}", f->column);
  PRIVOX_ASSIGN(Rows rows, s.query(select + " FROM members WHERE id = ?", {id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "member", fmt::format("no member has id {}", id)};
  if (rows[0].text(0) == "erased")
    return Error{ErrorCode::erased, "member", fmt::format("member {} was erased", id)};
  PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys, id));
  for (size_t i = 0; i < fields.size(); ++i) {
    if (rows[0].is_null(1 + i)) continue;
    PRIVOX_ASSIGN(std::string value, privacy::open_field(key, id, fields[i]->name, rows[0].blob(1 + i)));
    out.emplace(fields[i]->name, std::move(value));
  }
  return out;
}

Result<std::vector<std::string>> held_member_fields(Session& s, const std::string& id) {
  const std::vector<const FieldSpec*> fields = member_fields();
  std::string select = "SELECT status";
  for (const FieldSpec* f : fields) select += fmt::format(", {} IS NOT NULL", f->column);
  PRIVOX_ASSIGN(Rows rows, s.query(select + " FROM members WHERE id = ?", {id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "member", fmt::format("no member has id {}", id)};
  std::vector<std::string> held;
  for (size_t i = 0; i < fields.size(); ++i)
    if (rows[0].i64(1 + i) != 0) held.emplace_back(fields[i]->name);
  return held;
}

Result<std::vector<std::string>> mark_member_erased(Session& s, const std::string& id, int64_t now_us) {
  const std::vector<const FieldSpec*> fields = member_fields();
  PRIVOX_ASSIGN(std::vector<std::string> held, held_member_fields(s, id));
  std::string sql = "UPDATE members SET status = 'erased', erased_at_us = ?";
  for (const FieldSpec* f : fields)
    if (!f->index_column.empty()) sql += fmt::format(", {} = NULL", f->index_column);
  PRIVOX_TRY(s.exec(sql + " WHERE id = ?", {now_us, id}));
  return held;
}

Result<std::vector<std::string>> lines_of_member(Session& s, const std::string& member_id) {
  return lines_of_members(s, {member_id});
}

Result<std::vector<std::string>> lines_of_members(Session& s, const std::vector<std::string>& member_ids) {
  std::vector<std::string> out;
  if (member_ids.empty()) return out;
  Params params;
  const std::string sql = "SELECT id FROM extensions WHERE member_id" + in_list(member_ids, params) + " ORDER BY id";
  PRIVOX_ASSIGN(Rows rows, s.query(sql, params));
  for (const store::Row& r : rows) out.push_back(r.text(0));
  return out;
}

Result<std::optional<std::string>> member_of_line(Session& s, const std::string& line_id) {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT member_id FROM extensions WHERE id = ? AND member_id IS NOT NULL",
                                   {line_id}));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows[0].text(0));
}

Result<int64_t> unassign_lines(Session& s, const std::string& member_id, int64_t now_us) {
  PRIVOX_ASSIGN(const std::vector<std::string> lines, lines_of_member(s, member_id));
  if (lines.empty()) return 0;
  PRIVOX_ASSIGN(const int64_t changed, s.exec("UPDATE extensions SET member_id = NULL, label = NULL WHERE member_id = ?", {member_id}));
  for (const std::string& line : lines)
    PRIVOX_TRY(record_directory_change(s, DirectoryItem::extension, line, "member_unassigned", now_us));
  return changed;
}

Result<Company> find_company(Session& s, const std::string& id) { return load_company(s, id); }

Result<std::vector<Company>> list_companies(Session& s) {
  PRIVOX_ASSIGN(Rows rows, s.query(fmt::format("SELECT {} FROM companies ORDER BY id", kCompanyColumns)));
  std::vector<Company> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(company_from(r));
  return out;
}

Result<Company> lock_company(Session& s, const std::string& company_id) {
  // The UPDATE takes the row lock before the read.
  PRIVOX_TRY(s.exec("UPDATE companies SET region = region WHERE id = ?", {company_id}));
  PRIVOX_ASSIGN(Rows rows, s.query(fmt::format("SELECT {} FROM companies WHERE id = ?", kCompanyColumns), {company_id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "company", fmt::format("no company has id '{}'", company_id)};
  return company_from(rows[0]);
}

Status set_company_region(Session& s, const std::string& company_id, std::string_view region) {
  PRIVOX_TRY(s.exec("UPDATE companies SET region = ? WHERE id = ?", {std::string(region), company_id}));
  return {};
}

Result<bool> trunk_exists(Session& s, const std::string& trunk_id) {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT 1 FROM trunks WHERE id = ?", {trunk_id}));
  return !rows.empty();
}

Result<std::string> Accounts::add_company(const NewCompany& input, const std::string& actor) {
  std::string id;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(id, add_company(s, input, actor));
    return {};
  }));
  return id;
}

Result<std::string> Accounts::add_company(Session& tx, const NewCompany& input, const std::string& actor) {
  PRIVOX_TRY(refuse_card_numbers({{"name", input.name}, {"region", input.region}, {"country", input.country}}));
  const FieldSpec* name_spec = nullptr;
  for (const FieldSpec& f : datamap_part().personal)
    if (f.name == "company_name") name_spec = &f;
  PRIVOX_ASSIGN(std::string name, normalise_text("name", input.name, name_spec->max_length, false));
  if (input.region != "eea" && input.region != "us")
    return invalid("region", fmt::format("'{}' is not a region; use eea or us", input.region));
  std::string country_in = input.country.empty() ? (input.region == "us" ? "US" : "GB") : input.country;
  PRIVOX_ASSIGN(std::string country, normalise_country(country_in));
  const int64_t now = clock_.now_us();
  const std::string id = new_id(now);
  PRIVOX_TRY(tx.exec("INSERT INTO companies (id, name, region, country, created_at_us) VALUES (?, ?, ?, ?, ?)",
                     {id, name, input.region, country, now}));
  PRIVOX_TRY(audit_.append(tx, {actor, "company.add", "", "", {{"company_id", id}, {"region", input.region}}}));
  return id;
}

Status Accounts::set_time_zone(const std::string& company_id, std::string_view zone, const std::string& actor) {
  PRIVOX_ASSIGN(const std::string checked, check_id("company", company_id));
  PRIVOX_ASSIGN(const TimeZone found, TimeZone::find(zone));
  return store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(const int64_t changed,
                  s.exec("UPDATE companies SET time_zone = ? WHERE id = ?", {found.name(), checked}));
    if (changed == 0) return Error{ErrorCode::not_found, "company", fmt::format("no company has id {}", checked)};
    PRIVOX_TRY(audit_.append(s, {actor, "company.time_zone", checked, "", {{"time_zone", found.name()}}}));
    return {};
  });
}

Result<Company> Accounts::company(const std::string& id) {
  PRIVOX_ASSIGN(std::string checked, check_id("company", id));
  PRIVOX_ASSIGN(auto tx, store_.begin(TxMode::read));
  return load_company(*tx, checked);
}

Result<std::string> Accounts::add_member(const std::string& company_id, const FieldValues& input,
                                         const std::string& actor) {
  std::string id;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(id, add_member(s, company_id, input, actor));
    return {};
  }));
  return id;
}

Result<std::string> Accounts::add_member(Session& tx, const std::string& company_id, const FieldValues& input,
                                         const std::string& actor) {
  PRIVOX_TRY(refuse_card_numbers(input));
  PRIVOX_ASSIGN(std::string checked_company, check_id("company", company_id));
  PRIVOX_ASSIGN(Company co, load_company(tx, checked_company));
  PRIVOX_TRY(require_company_open(tx, co.id));
  PRIVOX_ASSIGN(FieldValues values, validate_member(input, co.country, utc_date(clock_.now_us())));

  const int64_t now = clock_.now_us();
  const std::string id = new_id(now);
  PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::create(tx, keys_, id, now));
  std::vector<std::string> columns = {"id", "company_id", "status", "created_at_us"};
  Params params = {id, co.id, std::string("active"), now};
  nlohmann::json stored = nlohmann::json::array();
  for (const FieldSpec* f : member_fields()) {
    const auto it = values.find(f->name);
    if (it == values.end()) continue;
    columns.emplace_back(f->column);
    params.emplace_back(privacy::seal_field(key, id, f->name, it->second));
    if (!f->index_column.empty()) {
      columns.emplace_back(f->index_column);
      params.emplace_back(keys_.blind_index(f->name, it->second));
    }
    stored.push_back(f->name);
  }
  std::string sql = fmt::format("INSERT INTO members ({}) VALUES (?", fmt::join(columns, ", "));
  for (size_t i = 1; i < columns.size(); ++i) sql += ", ?";
  sql += ")";
  // Email is the members' only unique field, so a conflict here is always a taken email.
  if (Result<int64_t> inserted = tx.exec(sql, params); !inserted.ok()) {
    if (inserted.error().code == ErrorCode::conflict)
      return Error{ErrorCode::conflict, "email", "a member with this email address already exists"};
    return inserted.error();
  }
  PRIVOX_TRY(audit_.append(tx, {actor, "member.add", id, "", {{"company_id", co.id}, {"fields", stored}}}));
  return id;
}

Result<std::vector<std::string>> Accounts::correct_member(Session& s, const std::string& id,
                                                          const FieldValues& corrections, const std::string& actor) {
  PRIVOX_TRY(check_id("id", id));
  if (corrections.empty()) return invalid("corrections", "name at least one field to correct");
  for (const auto& [name, value] : corrections) {
    const FieldSpec* f = member_field(name);
    if (!f || f->format == privacy::Format::recorded)
      return invalid(name, fmt::format("'{}' is not a member field that can be corrected", name));
  }
  PRIVOX_TRY(refuse_card_numbers(corrections));
  const auto fields = member_fields();
  std::string select = "SELECT company_id, status";
  for (const FieldSpec* f : fields) select += fmt::format(", {}", f->column);
  select += " FROM members WHERE id = ?";

  std::vector<std::string> corrected;
  PRIVOX_ASSIGN(Rows rows, s.query(select, {id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no member has id {}", id)};
  const store::Row& r = rows[0];
  if (r.text(1) == "erased")
    return Error{ErrorCode::erased, "id", fmt::format("member {} was erased; there is nothing to correct", id)};
  PRIVOX_ASSIGN(Company co, load_company(s, r.text(0)));
  PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys_, id));
  // Sign-up's checks run on the whole corrected record, so a correction meets the same rules
  // (mandatory fields, formats, age) as the values it replaces did.
  FieldValues merged;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (r.is_null(2 + i)) continue;
    PRIVOX_ASSIGN(std::string value, privacy::open_field(key, id, fields[i]->name, r.blob(2 + i)));
    merged[std::string(fields[i]->name)] = std::move(value);
  }
  for (const auto& [name, value] : corrections) merged[name] = value;
  PRIVOX_ASSIGN(FieldValues valid, validate_member(merged, co.country, utc_date(clock_.now_us())));

  std::string sql = "UPDATE members SET ";
  Params params;
  for (const FieldSpec* f : fields) {
    if (!corrections.contains(f->name)) continue;
    const std::string& value = valid.at(std::string(f->name));
    if (!params.empty()) sql += ", ";
    sql += fmt::format("{} = ?", f->column);
    params.emplace_back(privacy::seal_field(key, id, f->name, value));
    if (!f->index_column.empty()) {
      sql += fmt::format(", {} = ?", f->index_column);
      params.emplace_back(keys_.blind_index(f->name, value));
    }
    corrected.emplace_back(f->name);
  }
  sql += " WHERE id = ?";
  params.emplace_back(id);
  // Email is the members' only unique field, so a conflict here is always a taken email.
  if (Result<int64_t> updated = s.exec(sql, params); !updated.ok()) {
    if (updated.error().code == ErrorCode::conflict)
      return Error{ErrorCode::conflict, "email", "a member with this email address already exists"};
    return updated.error();
  }
  PRIVOX_TRY(audit_.append(s, {actor, "member.correct", id, "", {{"fields", corrected}}}));
  return corrected;
}

}  // namespace privox::accounts
