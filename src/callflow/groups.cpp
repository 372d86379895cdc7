#include "callflow/groups.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "accounts/accounts.h"
#include "accounts/company_closure.h"
#include "accounts/directory_log.h"
#include "accounts/extensions.h"
#include "accounts/validation.h"
#include "callflow/target_checks.h"
#include "common/ids.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::callflow {
namespace {

constexpr std::string_view kGroupSelect =
    "SELECT id, company_id, number, name, strategy, ring_seconds, overflow_kind, overflow_ref FROM ring_groups";

// A group row as kGroupSelect names its columns, without its members.
RingGroup group_from(const store::Row& r) {
  RingGroup g;
  g.id = r.text(0);
  g.company_id = r.text(1);
  g.number = r.text(2);
  g.name = r.text(3);
  g.strategy = parse_strategy(r.text(4)).value_or(Strategy::simultaneous);
  g.ring_seconds = static_cast<int>(r.i64(5));
  if (!r.is_null(6) && !r.is_null(7))
    if (const std::optional<TargetKind> kind = parse_target_kind(r.text(6))) g.overflow = Target{*kind, r.text(7)};
  return g;
}

// The groups `where` selects, each with its members in ringing order.
Result<std::vector<RingGroup>> read_groups(store::Session& s, std::string_view where, const store::Params& params) {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query(fmt::format("{}{} ORDER BY company_id, number", kGroupSelect, where), params));
  std::vector<RingGroup> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    RingGroup g = group_from(r);
    PRIVOX_ASSIGN(store::Rows members,
                  s.query("SELECT line_id FROM ring_group_members WHERE group_id = ? ORDER BY position", {g.id}));
    for (const store::Row& m : members) g.member_line_ids.push_back(m.text(0));
    out.push_back(std::move(g));
  }
  return out;
}

bool is_group_number(std::string_view number) {
  return number.size() >= 2 && number.size() <= 8 &&
         std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// What needs no store: number, name, ring time, member count and repeats. Never quotes the name back.
Status check_group_fields(const RingGroup& g) {
  if (!is_group_number(g.number))
    return invalid("number", fmt::format("'{}' is not a ring group number: 2 to 8 digits", g.number));
  PRIVOX_TRY(accounts::refuse_card_numbers({{"name", g.name}}));
  PRIVOX_ASSIGN(const std::string name, accounts::normalise_text("name", g.name, kMaxGroupName, false));
  if (name.size() != g.name.size()) return invalid("name", "must not start or end with spaces");
  if (g.ring_seconds < kMinRingSeconds || g.ring_seconds > kMaxRingSeconds)
    return invalid("ring_seconds", fmt::format("must be {} to {} seconds", kMinRingSeconds, kMaxRingSeconds));
  if (g.member_line_ids.empty()) return invalid("members", "a ring group needs at least one line");
  if (g.member_line_ids.size() > kMaxGroupMembers)
    return invalid("members", fmt::format("a ring group has at most {} lines", kMaxGroupMembers));
  std::set<std::string> seen;
  for (const std::string& line : g.member_line_ids) {
    PRIVOX_TRY(accounts::check_id("members", line));
    if (!seen.insert(line).second) return invalid("members", fmt::format("line {} is named twice", line));
  }
  return {};
}

// What needs the store: the number free in the company's plan (no line, other group,
// receptionist or conference room has it), the members its lines, the
// overflow a target of the company that does not lead back to the group. Returns the overflow in
// its stored form.
Result<std::optional<Target>> check_group_in_store(store::Session& s, const RingGroup& g) {
  PRIVOX_TRY(check_plan_number_free(s, g.company_id, g.number, {NumberHolder::group, g.id}));
  for (const std::string& member : g.member_line_ids) {
    PRIVOX_ASSIGN(const std::optional<accounts::Extension> found, accounts::extension_by_id(s, member));
    if (!found || found->company_id != g.company_id)
      return Error{ErrorCode::not_found, "members",
                   fmt::format("company {} has no line with id {}", g.company_id, member)};
  }
  if (!g.overflow) return std::optional<Target>{};
  if (g.overflow->kind == TargetKind::group && g.overflow->ref == g.id)
    return Error{ErrorCode::conflict, "overflow", "a ring group cannot overflow into itself"};
  PRIVOX_ASSIGN(const std::string country, company_country(s, g.company_id, "company"));
  PRIVOX_ASSIGN(const Target overflow, check_target(s, g.company_id, country, *g.overflow, "overflow"));
  PRIVOX_ASSIGN(const bool loops, leads_back(s, {TargetKind::group, g.id}, overflow));
  if (loops)
    return Error{ErrorCode::conflict, "overflow",
                 "would send calls in a circle: the target's own forwards or overflows lead back to this group"};
  return std::optional<Target>{overflow};
}

Status write_members(store::Session& s, const RingGroup& g) {
  PRIVOX_TRY(s.exec("DELETE FROM ring_group_members WHERE group_id = ?", {g.id}));
  std::vector<store::Params> rows;
  rows.reserve(g.member_line_ids.size());
  for (size_t i = 0; i < g.member_line_ids.size(); ++i)
    rows.push_back({g.id, static_cast<int64_t>(i), g.member_line_ids[i]});
  return s.insert_rows("ring_group_members", {"group_id", "position", "line_id"}, rows);
}

store::Value overflow_kind(const std::optional<Target>& t) {
  return t ? store::Value(std::string(to_string(t->kind))) : store::null_value();
}
store::Value overflow_ref(const std::optional<Target>& t) { return t ? store::Value(t->ref) : store::null_value(); }

// The audit detail of a change: ids and choices, never the name or an external number.
nlohmann::json group_detail(const RingGroup& g) {
  return {{"group_id", g.id},
          {"company_id", g.company_id},
          {"strategy", to_string(g.strategy)},
          {"members", g.member_line_ids},
          {"overflow", g.overflow ? nlohmann::json(to_string(g.overflow->kind)) : nlohmann::json(nullptr)}};
}

}  // namespace

std::string_view to_string(Strategy strategy) {
  switch (strategy) {
    case Strategy::simultaneous:
      return "simultaneous";
    case Strategy::sequential:
      return "sequential";
    case Strategy::round_robin:
      return "round_robin";
  }
  return "simultaneous";
}

std::optional<Strategy> parse_strategy(std::string_view text) {
  if (text == "simultaneous") return Strategy::simultaneous;
  if (text == "sequential") return Strategy::sequential;
  if (text == "round_robin") return Strategy::round_robin;
  return std::nullopt;
}

Result<std::vector<RingGroup>> all_groups(store::Session& s) { return read_groups(s, "", {}); }

Result<std::optional<RingGroup>> group_by_id(store::Session& s, const std::string& id) {
  PRIVOX_ASSIGN(std::vector<RingGroup> found, read_groups(s, " WHERE id = ?", {id}));
  if (found.empty()) return std::optional<RingGroup>{};
  return std::optional<RingGroup>{std::move(found[0])};
}

RingGroups::RingGroups(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
    : store_(store), keys_(keys), clock_(clock) {}

Result<std::string> RingGroups::create(const RingGroup& group, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("company", group.company_id));
  PRIVOX_TRY(check_group_fields(group));
  const int64_t now = clock_.now_us();
  RingGroup g = group;
  g.id = new_id(now);
  const auto body = [&](store::Session& s) -> Status {
    // The company's changes take turns, so two nodes cannot each close half of a circle.
    PRIVOX_TRY(accounts::lock_company(s, g.company_id));
    PRIVOX_TRY(accounts::require_company_open(s, g.company_id));
    PRIVOX_ASSIGN(g.overflow, check_group_in_store(s, g));
    PRIVOX_TRY(
        s.exec("INSERT INTO ring_groups (id, company_id, number, name, strategy, ring_seconds, overflow_kind, "
               "overflow_ref, created_at_us, updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               {g.id, g.company_id, g.number, g.name, std::string(to_string(g.strategy)), int64_t{g.ring_seconds},
                overflow_kind(g.overflow), overflow_ref(g.overflow), now, now}));
    PRIVOX_TRY(write_members(s, g));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_).append(s, {actor, "ring_group.create", "", "", group_detail(g)}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::ring_group, g.id, "added", now);
  };
  PRIVOX_TRY(accounts::write_checked(store_, body, "number"));
  return g.id;
}

Status RingGroups::update(const RingGroup& group, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("group", group.id));
  PRIVOX_TRY(check_group_fields(group));
  const auto body = [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<RingGroup> found, group_by_id(s, group.id));
    if (!found) return Error{ErrorCode::not_found, "group", fmt::format("no ring group has id {}", group.id)};
    RingGroup g = group;
    g.company_id = found->company_id;  // a group never moves to another company
    PRIVOX_TRY(accounts::lock_company(s, g.company_id));
    PRIVOX_ASSIGN(g.overflow, check_group_in_store(s, g));
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(
        s.exec("UPDATE ring_groups SET number = ?, name = ?, strategy = ?, ring_seconds = ?, overflow_kind = ?, "
               "overflow_ref = ?, updated_at_us = ? WHERE id = ?",
               {g.number, g.name, std::string(to_string(g.strategy)), int64_t{g.ring_seconds},
                overflow_kind(g.overflow), overflow_ref(g.overflow), now, g.id}));
    PRIVOX_TRY(write_members(s, g));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_).append(s, {actor, "ring_group.update", "", "", group_detail(g)}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::ring_group, g.id, "updated", now);
  };
  return accounts::write_checked(store_, body, "number");
}

Status RingGroups::remove(const std::string& id, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("group", id));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<RingGroup> found, group_by_id(s, id));
    if (!found) return Error{ErrorCode::not_found, "group", fmt::format("no ring group has id {}", id)};
    PRIVOX_ASSIGN(store::Rows forwards,
                  s.query("SELECT line_id FROM line_forwarding WHERE (always_kind = 'group' AND always_ref = ?) OR "
                          "(busy_kind = 'group' AND busy_ref = ?) OR (no_answer_kind = 'group' AND no_answer_ref = ?) "
                          "OR (unregistered_kind = 'group' AND unregistered_ref = ?) ORDER BY line_id",
                          {id, id, id, id}));
    if (!forwards.empty())
      return Error{
          ErrorCode::conflict, "group",
          fmt::format("line {} forwards calls to this group: change its forwarding first", forwards[0].text(0))};
    PRIVOX_ASSIGN(store::Rows overflows, s.query("SELECT id FROM ring_groups WHERE overflow_kind = 'group' AND "
                                                 "overflow_ref = ? AND id <> ? ORDER BY id",
                                                 {id, id}));
    if (!overflows.empty())
      return Error{
          ErrorCode::conflict, "group",
          fmt::format("ring group {} overflows into this group: change its overflow first", overflows[0].text(0))};
    PRIVOX_TRY(s.exec("DELETE FROM ring_group_members WHERE group_id = ?", {id}));
    PRIVOX_TRY(s.exec("DELETE FROM ring_groups WHERE id = ?", {id}));
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(
        privacy::AuditChain(keys_, clock_)
            .append(s, {actor, "ring_group.remove", "", "", {{"group_id", id}, {"company_id", found->company_id}}}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::ring_group, id, "removed", now);
  });
}

Result<RingGroup> RingGroups::find(const std::string& id) {
  PRIVOX_TRY(accounts::check_id("group", id));
  std::optional<RingGroup> found;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(found, group_by_id(s, id));
    return {};
  }));
  if (!found) return Error{ErrorCode::not_found, "group", fmt::format("no ring group has id {}", id)};
  return std::move(*found);
}

Result<std::vector<RingGroup>> RingGroups::list(const std::string& company_id) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  std::vector<RingGroup> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(company_country(s, company_id, "company"));
    PRIVOX_ASSIGN(out, read_groups(s, " WHERE company_id = ?", {company_id}));
    return {};
  }));
  return out;
}

}  // namespace privox::callflow
