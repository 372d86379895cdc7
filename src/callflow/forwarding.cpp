#include "callflow/forwarding.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "accounts/directory_log.h"
#include "accounts/extensions.h"
#include "accounts/validation.h"
#include "callflow/target_checks.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::callflow {
namespace {

// The four conditions, in the order of line_forwarding's columns and of the error fields.
struct Condition {
  std::string_view name;  // the column prefix and the field errors name
  std::optional<Target> Forwarding::*member;
};
constexpr std::array<Condition, 4> kConditions = {{{"always", &Forwarding::always},
                                                   {"busy", &Forwarding::busy},
                                                   {"no_answer", &Forwarding::no_answer},
                                                   {"unregistered", &Forwarding::unregistered}}};

constexpr std::string_view kForwardingSelect =
    "SELECT line_id, dnd, always_kind, always_ref, always_number_enc, busy_kind, busy_ref, busy_number_enc, "
    "no_answer_kind, no_answer_ref, no_answer_number_enc, unregistered_kind, unregistered_ref, "
    "unregistered_number_enc, no_answer_seconds FROM line_forwarding";

// What an external number is sealed as: bound to the line and the condition, so a sealed number
// cannot be moved to another line or condition.
std::string sealed_as(std::string_view condition) { return fmt::format("forward_{}_number", condition); }

// One condition's target from its three columns (kind, ref, sealed number) starting at `first`;
// nullopt when none, or when its external number cannot be opened (the line's key is gone).
std::optional<Target> target_from(const store::Row& r, size_t first, std::string_view condition,
                                  const std::string& line_id, const privacy::SecretKey* key) {
  if (r.is_null(first)) return std::nullopt;
  const std::optional<TargetKind> kind = parse_target_kind(r.text(first));
  if (!kind) return std::nullopt;
  if (*kind != TargetKind::external) return Target{*kind, r.text_or(first + 1, "")};
  if (key == nullptr || r.is_null(first + 2)) return std::nullopt;
  auto number = privacy::open_field(*key, line_id, sealed_as(condition), r.blob(first + 2));
  if (!number.ok()) return std::nullopt;
  return Target{TargetKind::external, std::move(number).value()};
}

LineForwarding forwarding_from(const store::Row& r, const privacy::SecretKey* key) {
  LineForwarding out;
  out.line_id = r.text(0);
  out.forwarding.dnd = r.i64(1) != 0;
  for (size_t i = 0; i < kConditions.size(); ++i)
    out.forwarding.*kConditions[i].member = target_from(r, 2 + 3 * i, kConditions[i].name, out.line_id, key);
  out.forwarding.no_answer_seconds = static_cast<int>(r.i64(14));
  return out;
}

Result<std::vector<LineForwarding>> read_forwarding(store::Session& s, const privacy::Keyring& keys,
                                                    std::string_view where, const store::Params& params) {
  PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("{}{} ORDER BY line_id", kForwardingSelect, where), params));
  std::vector<std::string> lines;
  lines.reserve(rows.size());
  for (const store::Row& r : rows) lines.push_back(r.text(0));
  PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys, lines));
  std::vector<LineForwarding> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    const auto key = open.find(r.text(0));
    out.push_back(forwarding_from(r, key == open.end() ? nullptr : key->second.get()));
  }
  return out;
}

// The line's company; not_found on "line" when there is no such line.
Result<std::string> company_of_line(store::Session& s, const std::string& line_id) {
  PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_id(s, line_id));
  if (!line) return Error{ErrorCode::not_found, "line", fmt::format("no line has id {}", line_id)};
  return line->company_id;
}

// Every target checked and stored in its stored form, and `always` refused when it would loop.
Status check_forwarding(store::Session& s, const std::string& line_id, const std::string& company_id,
                        Forwarding& forwarding) {
  PRIVOX_ASSIGN(const std::string country, company_country(s, company_id, "line"));
  for (const Condition& c : kConditions) {
    std::optional<Target>& target = forwarding.*c.member;
    if (!target) continue;
    PRIVOX_ASSIGN(*target, check_target(s, company_id, country, *target, c.name));
  }
  if (forwarding.always) {
    PRIVOX_ASSIGN(const bool loops, leads_back(s, {TargetKind::line, line_id}, *forwarding.always));
    if (loops)
      return Error{ErrorCode::conflict, "always",
                   "would forward calls in a circle: the target's own forwards or overflows lead back to this line"};
  }
  return {};
}

// The row's values: per condition its kind, ref and sealed number.
store::Params row_params(const std::string& line_id, const std::string& company_id, const Forwarding& f,
                         const privacy::SecretKey& key, int64_t now_us) {
  store::Params p = {line_id, company_id, int64_t{f.dnd ? 1 : 0}};
  for (const Condition& c : kConditions) {
    const std::optional<Target>& t = f.*c.member;
    if (!t) {
      p.insert(p.end(), {store::null_value(), store::null_value(), store::null_value()});
    } else if (t->kind == TargetKind::external) {
      p.insert(p.end(), {std::string("external"), store::null_value(),
                         privacy::seal_field(key, line_id, sealed_as(c.name), t->ref)});
    } else {
      p.insert(p.end(), {std::string(to_string(t->kind)), t->ref, store::null_value()});
    }
  }
  p.insert(p.end(), {int64_t{f.no_answer_seconds}, now_us});
  return p;
}

Status write_row(store::Session& s, const privacy::Keyring& keys, const std::string& line_id,
                 const std::string& company_id, const Forwarding& f, int64_t now_us) {
  PRIVOX_TRY(s.exec("DELETE FROM line_forwarding WHERE line_id = ?", {line_id}));
  if (!f.any()) return {};
  PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys, {line_id}));
  const auto key = open.find(line_id);
  if (key == open.end())
    return Error{ErrorCode::erased, "line",
                 fmt::format("the key of line {} is gone: no forwarding can be set", line_id)};
  // Sealed here, inside the transaction that read the key: a key destroyed meanwhile is never used.
  PRIVOX_TRY(
      s.exec("INSERT INTO line_forwarding (line_id, company_id, dnd, always_kind, always_ref, always_number_enc, "
             "busy_kind, busy_ref, busy_number_enc, no_answer_kind, no_answer_ref, no_answer_number_enc, "
             "unregistered_kind, unregistered_ref, unregistered_number_enc, no_answer_seconds, updated_at_us) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             row_params(line_id, company_id, f, *key->second, now_us)));
  return {};
}

// The conditions whose target changed, for the audit entry (names only, never a number).
nlohmann::json changed_conditions(const Forwarding& before, const Forwarding& after) {
  nlohmann::json changed = nlohmann::json::array();
  for (const Condition& c : kConditions)
    if (before.*c.member != after.*c.member) changed.push_back(c.name);
  if (before.no_answer_seconds != after.no_answer_seconds) changed.push_back("no_answer_seconds");
  if (before.dnd != after.dnd) changed.push_back("dnd");
  return changed;
}

}  // namespace

Result<std::vector<LineForwarding>> all_forwarding(store::Session& s, const privacy::Keyring& keys) {
  return read_forwarding(s, keys, "", {});
}

Result<std::optional<Forwarding>> forwarding_of(store::Session& s, const privacy::Keyring& keys,
                                                const std::string& line_id) {
  PRIVOX_ASSIGN(std::vector<LineForwarding> rows, read_forwarding(s, keys, " WHERE line_id = ?", {line_id}));
  if (rows.empty()) return std::optional<Forwarding>{};
  return std::optional<Forwarding>{std::move(rows[0].forwarding)};
}

Forwardings::Forwardings(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
    : store_(store), keys_(keys), clock_(clock) {}

Result<Forwarding> Forwardings::get(const std::string& line_id) {
  PRIVOX_TRY(accounts::check_id("line", line_id));
  Forwarding out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(company_of_line(s, line_id));
    PRIVOX_ASSIGN(const std::optional<Forwarding> found, forwarding_of(s, keys_, line_id));
    out = found.value_or(Forwarding{});
    return {};
  }));
  return out;
}

Status Forwardings::set(const std::string& line_id, const Forwarding& forwarding, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("line", line_id));
  if (forwarding.no_answer_seconds < kMinNoAnswerSeconds || forwarding.no_answer_seconds > kMaxNoAnswerSeconds)
    return invalid("no_answer_seconds",
                   fmt::format("must be {} to {} seconds", kMinNoAnswerSeconds, kMaxNoAnswerSeconds));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::string company_id, company_of_line(s, line_id));
    // The company's changes take turns, so two nodes cannot each close half of an `always` circle.
    PRIVOX_TRY(accounts::lock_company(s, company_id));
    Forwarding wanted = forwarding;
    PRIVOX_TRY(check_forwarding(s, line_id, company_id, wanted));
    PRIVOX_ASSIGN(const std::optional<Forwarding> before, forwarding_of(s, keys_, line_id));
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(write_row(s, keys_, line_id, company_id, wanted, now));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor,
                               "forwarding.set",
                               line_id,
                               "",
                               {{"company_id", company_id},
                                {"changed", changed_conditions(before.value_or(Forwarding{}), wanted)}}}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::extension, line_id, "forwarding", now);
  });
}

Status Forwardings::set_dnd(const std::string& line_id, bool on, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("line", line_id));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::string company_id, company_of_line(s, line_id));
    const int64_t now = clock_.now_us();
    PRIVOX_ASSIGN(const int64_t updated,
                  s.exec("UPDATE line_forwarding SET dnd = ?, updated_at_us = ? WHERE line_id = ?",
                         {int64_t{on ? 1 : 0}, now, line_id}));
    if (updated == 0 && on) {
      PRIVOX_TRY(
          s.exec("INSERT INTO line_forwarding (line_id, company_id, dnd, no_answer_seconds, updated_at_us) "
                 "VALUES (?, ?, 1, ?, ?)",
                 {line_id, company_id, int64_t{kDefaultNoAnswerSeconds}, now}));
    }
    // A row left with nothing on goes: one row per line that has any.
    PRIVOX_TRY(
        s.exec("DELETE FROM line_forwarding WHERE line_id = ? AND dnd = 0 AND always_kind IS NULL AND "
               "busy_kind IS NULL AND no_answer_kind IS NULL AND unregistered_kind IS NULL",
               {line_id}));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "forwarding.dnd", line_id, "", {{"company_id", company_id}, {"on", on}}}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::extension, line_id, "dnd", now);
  });
}

}  // namespace privox::callflow
