#include "accounts/accounts.h"

#include <fmt/format.h>

#include "common/ids.h"
#include "portal/auth.h"
#include "privacy/consent.h"

namespace privox::accounts {
namespace {

using privacy::FieldSpec;
using store::Params;
using store::Rows;
using store::Session;
using store::TxMode;

constexpr std::string_view kMembers = "members";

Result<Company> load_company(Session& s, const std::string& id) {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT id, name, region, country, created_at_us FROM companies WHERE id = ?", {id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "company", fmt::format("no company has id {}", id)};
  const store::Row& r = rows[0];
  return Company{r.text(0), r.text(1), r.text(2), r.text(3), r.i64(4)};
}

// The member columns in data-map order: each personal field's column, then its blind index.
std::vector<const FieldSpec*> member_fields() {
  std::vector<const FieldSpec*> out;
  for (const FieldSpec& f : privacy::personal_fields())
    if (f.table == kMembers) out.push_back(&f);
  return out;
}

}  // namespace

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
  const FieldSpec* name_spec = privacy::find_field("companies", "company_name");
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

// Marketing may use a contact field only while the person's consent for that channel holds (P11):
// the data map allows the purpose, the ledger decides for each person.
Result<bool> Accounts::marketing_consent_holds(Session& s, const std::string& id, std::string_view field) const {
  std::optional<privacy::ConsentPurpose> consent;
  if (field == "email") consent = privacy::ConsentPurpose::marketing_email;
  if (field == "phone") consent = privacy::ConsentPurpose::marketing_sms;
  if (!consent) return false;
  return privacy::ConsentLedger(store_, keys_, clock_).holds(s, id, *consent);
}

Result<nlohmann::json> Accounts::show_member(const std::string& id, privacy::Purpose purpose, const std::string& actor) {
  PRIVOX_TRY(check_id("id", id));
  const auto fields = member_fields();
  std::string select = "SELECT company_id, status, created_at_us, erased_at_us";
  for (const FieldSpec* f : fields) select += fmt::format(", {}", f->column);
  select += " FROM members WHERE id = ?";

  nlohmann::json out;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(Rows rows, s.query(select, {id}));
    if (rows.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no member has id {}", id)};
    const store::Row& r = rows[0];
    out = {{"id", id}, {"company_id", r.text(0)}, {"status", r.text(1)}, {"created_at", format_utc(r.i64(2))},
           {"purpose", privacy::to_string(purpose)}};
    nlohmann::json shown = nlohmann::json::array();
    if (r.text(1) == "erased") {
      out["erased_at"] = format_utc(r.i64(3));
      out["message"] = fmt::format("member {} was erased on {}: their data key was destroyed and none of their "
                                   "personal data can be decrypted any more",
                                   id, format_utc(r.i64(3)));
    } else {
      PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys_, id));
      nlohmann::json values = nlohmann::json::object();
      nlohmann::json withheld = nlohmann::json::array();
      for (size_t i = 0; i < fields.size(); ++i) {
        const FieldSpec& f = *fields[i];
        if (r.is_null(4 + i)) continue;
        if (!privacy::allows(f.purposes, purpose)) {
          withheld.push_back(f.name);
          continue;
        }
        if (purpose == privacy::Purpose::marketing) {
          PRIVOX_ASSIGN(const bool consented, marketing_consent_holds(s, id, f.name));
          if (!consented) {
            withheld.push_back(f.name);
            continue;
          }
        }
        PRIVOX_ASSIGN(std::string value, privacy::open_field(key, id, f.name, r.blob(4 + i)));
        values[std::string(f.name)] = std::move(value);
        shown.push_back(f.name);
      }
      out["fields"] = std::move(values);
      out["withheld_for_purpose"] = std::move(withheld);
    }
    PRIVOX_TRY(audit_.append(s, {actor, "member.show", id, std::string(privacy::to_string(purpose)),
                                 {{"fields_shown", shown}}}));
    return {};
  }));
  return out;
}

Result<EraseOutcome> Accounts::erase_member(const std::string& id, const std::string& actor) {
  PRIVOX_TRY(check_id("id", id));
  EraseOutcome outcome;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    outcome = {};
    PRIVOX_ASSIGN(Rows rows, s.query("SELECT status, erased_at_us FROM members WHERE id = ?", {id}));
    if (rows.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no member has id {}", id)};
    if (rows[0].text(0) == "erased") {
      outcome.already_erased = true;
      outcome.erased_at_us = rows[0].i64(1);
      return {};
    }
    outcome.erased_at_us = clock_.now_us();
    PRIVOX_ASSIGN(const bool destroyed, privacy::subject_keys::destroy(s, id));
    // Blind indexes go too: with the index key they would still confirm a guessed email or phone.
    std::string sql = "UPDATE members SET status = 'erased', erased_at_us = ?";
    for (const FieldSpec* f : member_fields())
      if (!f->index_column.empty()) sql += fmt::format(", {} = NULL", f->index_column);
    sql += " WHERE id = ?";
    PRIVOX_TRY(s.exec(sql, {outcome.erased_at_us, id}));
    // Their phone lines stay with the company, no longer linked to them (privacy/datamap.cpp).
    PRIVOX_ASSIGN(const int64_t unassigned,
                  s.exec("UPDATE extensions SET member_id = NULL WHERE member_id = ?", {id}));
    // Their portal login and every session go too: an erased member can no longer log in.
    PRIVOX_TRY(portal::Auth::delete_login(s, id));
    PRIVOX_TRY(audit_.append(s, {actor, "member.erase", id, "",
                                 {{"key_destroyed", destroyed}, {"extensions_unassigned", unassigned}}}));
    return {};
  }));
  outcome.files_purged = store_.purge_deleted().ok();
  return outcome;
}

Result<std::vector<std::string>> Accounts::correct_member(const std::string& id, const FieldValues& corrections,
                                                          const std::string& actor) {
  PRIVOX_TRY(check_id("id", id));
  if (corrections.empty()) return invalid("corrections", "name at least one field to correct");
  for (const auto& [name, value] : corrections) {
    const FieldSpec* f = privacy::find_field(kMembers, name);
    if (!f || f->format == privacy::Format::recorded)
      return invalid(name, fmt::format("'{}' is not a member field that can be corrected", name));
  }
  PRIVOX_TRY(refuse_card_numbers(corrections));
  const auto fields = member_fields();
  std::string select = "SELECT company_id, status";
  for (const FieldSpec* f : fields) select += fmt::format(", {}", f->column);
  select += " FROM members WHERE id = ?";

  std::vector<std::string> corrected;
  Status status = store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    corrected.clear();
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
    PRIVOX_TRY(s.exec(sql, params));
    PRIVOX_TRY(audit_.append(s, {actor, "member.correct", id, "", {{"fields", corrected}}}));
    return {};
  });
  if (!status.ok() && status.error().code == ErrorCode::conflict)
    return Error{ErrorCode::conflict, "email", "a member with this email address already exists"};
  PRIVOX_TRY(status);
  return corrected;
}

}  // namespace privox::accounts
