#include "callflow/targets.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "accounts/validation.h"
#include "callflow/target_checks.h"
#include "numbers/e164.h"

namespace privox::callflow {
namespace {

bool is_plan_number(std::string_view number) {
  return number.size() >= 2 && number.size() <= 8 &&
         std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether the line with this id is the company's.
Result<bool> line_of_company(store::Session& s, const std::string& company_id, const std::string& id) {
  PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_id(s, id));
  return line && line->company_id == company_id;
}

// The id of the company's ring group with this id (`column` "id") or number; nullopt when none.
Result<std::optional<std::string>> group_in_company(store::Session& s, std::string_view column,
                                                    const std::string& company_id, const std::string& value) {
  PRIVOX_ASSIGN(
      store::Rows rows,
      s.query(fmt::format("SELECT id FROM ring_groups WHERE company_id = ? AND {} = ?", column), {company_id, value}));
  if (rows.empty()) return std::optional<std::string>{};
  return std::optional<std::string>{rows[0].text(0)};
}

// Where the flow goes next from a line (its `always` forward) or a group (its overflow), when that
// is another line or group; nullopt when it ends there.
Result<std::optional<FlowNode>> next_node(store::Session& s, const FlowNode& node) {
  const bool line = node.kind == TargetKind::line;
  PRIVOX_ASSIGN(store::Rows rows, s.query(line ? "SELECT always_kind, always_ref FROM line_forwarding WHERE line_id = ?"
                                               : "SELECT overflow_kind, overflow_ref FROM ring_groups WHERE id = ?",
                                          {node.id}));
  if (rows.empty() || rows[0].is_null(0) || rows[0].is_null(1)) return std::optional<FlowNode>{};
  const std::optional<TargetKind> kind = parse_target_kind(rows[0].text(0));
  if (kind != TargetKind::line && kind != TargetKind::group) return std::optional<FlowNode>{};
  return std::optional<FlowNode>{FlowNode{*kind, rows[0].text(1)}};
}

}  // namespace

std::string_view to_string(TargetKind kind) {
  switch (kind) {
    case TargetKind::line:
      return "line";
    case TargetKind::group:
      return "group";
    case TargetKind::voicemail:
      return "voicemail";
    case TargetKind::external:
      return "external";
  }
  return "line";
}

std::optional<TargetKind> parse_target_kind(std::string_view text) {
  if (text == "line") return TargetKind::line;
  if (text == "group") return TargetKind::group;
  if (text == "voicemail") return TargetKind::voicemail;
  if (text == "external") return TargetKind::external;
  return std::nullopt;
}

Result<std::string> company_country(store::Session& s, const std::string& company_id, std::string_view field) {
  auto company = accounts::find_company(s, company_id);
  if (!company.ok()) {
    Error e = company.error();
    if (e.code == ErrorCode::not_found) e.field = std::string(field);
    return e;
  }
  return company->country;
}

Result<std::string> check_external_number(std::string_view number, std::string_view country, std::string_view field) {
  auto e164 = accounts::normalise_phone(number, country);
  if (!e164.ok())
    return invalid(std::string(field),
                   fmt::format("is not a valid phone number in {} (or in international form, +CC...)", country));
  if (numbers::destination_of(*e164).premium)
    return invalid(std::string(field), "is a premium-rate or shared-cost number, which calls may not be forwarded to");
  return e164;
}

Result<Target> check_target(store::Session& s, const std::string& company_id, std::string_view country,
                            const Target& target, std::string_view field) {
  if (target.kind == TargetKind::external) {
    PRIVOX_ASSIGN(std::string e164, check_external_number(target.ref, country, field));
    return Target{TargetKind::external, std::move(e164)};
  }
  const bool group = target.kind == TargetKind::group;
  if (target.ref.empty()) return invalid(std::string(field), fmt::format("names no {}", group ? "group" : "line"));
  bool found = false;
  if (group) {
    PRIVOX_ASSIGN(const std::optional<std::string> id, group_in_company(s, "id", company_id, target.ref));
    found = id.has_value();
  } else {
    PRIVOX_ASSIGN(found, line_of_company(s, company_id, target.ref));
  }
  if (!found)
    return Error{ErrorCode::not_found, std::string(field),
                 fmt::format("company {} has no {} with id {}", company_id, group ? "ring group" : "line", target.ref)};
  return target;
}

Result<bool> leads_back(store::Session& s, const FlowNode& origin, const Target& next) {
  if (next.kind != TargetKind::line && next.kind != TargetKind::group) return false;
  std::optional<FlowNode> node = FlowNode{next.kind, next.ref};
  // Each node has at most one way on, so the walk is a chain; `seen` ends it should the store
  // already hold a circle that does not pass through `origin`.
  std::set<std::pair<TargetKind, std::string>> seen;
  while (node) {
    if (node->kind == origin.kind && node->id == origin.id) return true;
    if (!seen.emplace(node->kind, node->id).second) return false;
    PRIVOX_ASSIGN(node, next_node(s, *node));
  }
  return false;
}

Status check_config_name(const std::string& name, size_t max) {
  PRIVOX_TRY(accounts::refuse_card_numbers({{"name", name}}));
  PRIVOX_ASSIGN(const std::string trimmed, accounts::normalise_text("name", name, max, false));
  if (trimmed.size() != name.size()) return invalid("name", "must not start or end with spaces");
  return {};
}

// ---- numbers of the company's plan and public numbers ----

namespace {

struct HolderTable {
  NumberHolder kind;
  std::string_view table, noun;
};
constexpr HolderTable kHolderTables[] = {{NumberHolder::group, "ring_groups", "ring group"},
                                         {NumberHolder::receptionist, "receptionists", "receptionist"},
                                         {NumberHolder::conference, "conference_rooms", "conference room"}};

}  // namespace

Status check_plan_number_free(store::Session& s, const std::string& company_id, const std::string& number,
                              const NumberOwner& owner) {
  PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_number(s, company_id, number));
  if (line)
    return Error{ErrorCode::conflict, "number", fmt::format("company {} has a line numbered {}", company_id, number)};
  for (const HolderTable& holder : kHolderTables) {
    const bool same_kind = holder.kind == owner.kind;
    PRIVOX_ASSIGN(const store::Rows rows,
                  s.query(fmt::format("SELECT id FROM {} WHERE company_id = ? AND number = ? AND id <> ?", holder.table),
                          {company_id, number, same_kind ? owner.id : std::string()}));
    if (rows.empty()) continue;
    // "another" only where the same kind clashes, as the ring group's message has always read "a".
    const bool another = same_kind && holder.kind != NumberHolder::group;
    return Error{ErrorCode::conflict, "number",
                 fmt::format("company {} has {} {} numbered {}", company_id, another ? "another" : "a", holder.noun,
                             number)};
  }
  return {};
}

Status check_did_free(store::Session& s, const std::string& e164, const NumberOwner& owner) {
  PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_did(s, e164));
  if (line) return Error{ErrorCode::conflict, "did", "is already the number of a line"};
  for (const HolderTable& holder : kHolderTables) {
    if (holder.kind == NumberHolder::group) continue;  // a ring group has no public number
    const bool same_kind = holder.kind == owner.kind;
    PRIVOX_ASSIGN(const store::Rows rows, s.query(fmt::format("SELECT id FROM {} WHERE did = ? AND id <> ?", holder.table),
                                                  {e164, same_kind ? owner.id : std::string()}));
    if (!rows.empty())
      return Error{ErrorCode::conflict, "did",
                   fmt::format("is already the number of {} {}", same_kind ? "another" : "a", holder.noun)};
  }
  return {};
}

Result<Target> resolve_target(store::Session& s, const std::string& company_id, TargetKind kind,
                              std::string_view number, std::string_view field) {
  if (kind == TargetKind::external) {
    PRIVOX_ASSIGN(const std::string country, company_country(s, company_id, "company"));
    PRIVOX_ASSIGN(std::string e164, check_external_number(number, country, field));
    return Target{kind, std::move(e164)};
  }
  if (!is_plan_number(number))
    return invalid(std::string(field),
                   fmt::format("'{}' is not a number of the company's plan: 2 to 8 digits", number));
  std::optional<std::string> id;
  if (kind == TargetKind::group) {
    PRIVOX_ASSIGN(id, group_in_company(s, "number", company_id, std::string(number)));
  } else {
    PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_number(s, company_id, number));
    if (line) id = line->id;
  }
  if (!id)
    return Error{ErrorCode::not_found, std::string(field),
                 fmt::format("company {} has no {} numbered {}", company_id,
                             kind == TargetKind::group ? "ring group" : "line", number)};
  return Target{kind, *id};
}

Result<std::string> target_number(store::Session& s, const Target& target) {
  if (target.kind == TargetKind::external) return target.ref;
  if (target.kind == TargetKind::group) {
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT number FROM ring_groups WHERE id = ?", {target.ref}));
    return rows.empty() ? target.ref : rows[0].text(0);
  }
  PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_id(s, target.ref));
  return line ? line->number : target.ref;
}

}  // namespace privox::callflow
