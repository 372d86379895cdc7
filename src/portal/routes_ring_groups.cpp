// A company's ring groups (callflow/groups.h), for its office managers: listed, created, changed
// and removed. Members and the overflow travel by number, as people name them; the store keeps
// ids. Another company's group answers exactly as a group that does not exist.
#include <nlohmann/json.hpp>

#include "callflow/groups.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

// The group as the API shows it: members and overflow by number.
Result<nlohmann::json> ring_group_json(store::Session& s, const callflow::RingGroup& g) {
  nlohmann::json members = nlohmann::json::array();
  for (const std::string& line : g.member_line_ids) {
    PRIVOX_ASSIGN(std::string number, callflow::target_number(s, {callflow::TargetKind::line, line}));
    members.push_back(std::move(number));
  }
  PRIVOX_ASSIGN(nlohmann::json overflow, target_json(s, g.overflow));
  return nlohmann::json{{"id", g.id},
                        {"number", g.number},
                        {"name", g.name},
                        {"strategy", callflow::to_string(g.strategy)},
                        {"ring_seconds", g.ring_seconds},
                        {"members", std::move(members)},
                        {"overflow", std::move(overflow)}};
}

Response ring_group_answer(Portal::Impl& p, status code, const std::string& id) {
  nlohmann::json out;
  Status done = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(std::optional<callflow::RingGroup> g, callflow::group_by_id(s, id));
    if (!g) return Error{ErrorCode::not_found, "id", "no such ring group in your company"};
    PRIVOX_ASSIGN(out, ring_group_json(s, *g));
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  return http::json_response(code, out);
}

// The group named by the path's {id}, when it is the caller's company's.
Result<callflow::RingGroup> company_group(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto g = callflow::RingGroups(p.store, p.keys, p.clock).find(std::string(e.param("id")));
  // An id that is not even well formed names no group either.
  const bool absent = !g.ok() && (g.error().code == ErrorCode::not_found || g.error().code == ErrorCode::invalid_argument);
  if (!g.ok() && !absent) return g.error();
  if (!g.ok() || g->company_id != c.who.company_id)
    return Error{ErrorCode::not_found, "id", "no such ring group in your company"};
  return g;
}

// What the body asks for, before any number is resolved.
struct RingGroupRequest {
  callflow::RingGroup group;  // without members and overflow
  std::vector<std::string> member_numbers;
  std::optional<NamedTarget> overflow;
};

std::optional<Response> read_group_members(const nlohmann::json& body, RingGroupRequest& r) {
  const auto it = body.find("members");
  if (it == body.end()) return std::nullopt;  // none: the store refuses an empty group, naming members
  if (!it->is_array()) return http::json_error(status::bad_request, "must be a list of line numbers", "members");
  for (const nlohmann::json& member : *it) {
    if (!member.is_string()) return http::json_error(status::bad_request, "must be a list of line numbers, as text", "members");
    r.member_numbers.push_back(member.get<std::string>());
  }
  return std::nullopt;
}

std::variant<RingGroupRequest, Response> ring_group_request(const nlohmann::json& body) {
  if (auto unknown = refuse_unknown_fields(body, {"number", "name", "strategy", "ring_seconds", "members", "overflow"}))
    return std::move(*unknown);
  RingGroupRequest r;
  std::optional<Response> bad;
  r.group.number = string_field(body, "number", bad).value_or("");
  r.group.name = string_field(body, "name", bad).value_or("");
  if (auto strategy = string_field(body, "strategy", bad); strategy && !bad) {
    const auto parsed = callflow::parse_strategy(*strategy);
    if (!parsed) return http::json_error(status::bad_request, "must be simultaneous, sequential or round_robin", "strategy");
    r.group.strategy = *parsed;
  }
  if (bad) return std::move(*bad);
  if (const auto it = body.find("ring_seconds"); it != body.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 86'400)
      return http::json_error(status::bad_request, "must be a whole number of seconds", "ring_seconds");
    r.group.ring_seconds = static_cast<int>(it->get<int64_t>());
  }
  if (auto refusal = read_group_members(body, r)) return std::move(*refusal);
  auto overflow = named_target(body, "overflow");
  if (auto* refusal = std::get_if<Response>(&overflow)) return std::move(*refusal);
  r.overflow = std::get<std::optional<NamedTarget>>(std::move(overflow));
  return r;
}

// The body as a group of `company_id`: members and overflow resolved to ids.
std::variant<callflow::RingGroup, Response> ring_group_from_body(Portal::Impl& p, const Exchange& e,
                                                                  const std::string& company_id) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  auto request = ring_group_request(std::get<nlohmann::json>(parsed));
  if (auto* refusal = std::get_if<Response>(&request)) return std::move(*refusal);
  RingGroupRequest& r = std::get<RingGroupRequest>(request);
  r.group.company_id = company_id;
  Status resolved = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    r.group.member_line_ids.clear();
    for (const std::string& number : r.member_numbers) {
      auto line = callflow::resolve_target(s, company_id, callflow::TargetKind::line, number, "members");
      if (!line.ok() && line.error().code == ErrorCode::not_found)
        return not_in_company(line.error(), callflow::TargetKind::line, number);
      if (!line.ok()) return line.error();
      r.group.member_line_ids.push_back(std::move(line->ref));
    }
    if (r.overflow) {
      PRIVOX_ASSIGN(r.group.overflow, resolve_named_target(s, company_id, *r.overflow, "overflow"));
    }
    return {};
  });
  if (!resolved.ok()) return error_response(resolved.error());
  return std::move(r.group);
}

// The store's conflict over a number names the company's id, which means nothing to the manager.
Response ring_group_error(Error error) {
  if (error.code == ErrorCode::conflict && error.field == "number")
    error.message = "a line or ring group of your company has this number already";
  return error_response(error);
}

}  // namespace

Response ring_groups_list(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto groups = callflow::RingGroups(p.store, p.keys, p.clock).list(c.who.company_id);
  if (!groups.ok()) return error_response(groups.error());
  nlohmann::json items = nlohmann::json::array();
  Status done = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    items = nlohmann::json::array();
    for (const callflow::RingGroup& g : *groups) {
      PRIVOX_ASSIGN(nlohmann::json item, ring_group_json(s, g));
      items.push_back(std::move(item));
    }
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  return http::json_response(status::ok, {{"items", std::move(items)}});
}

Response ring_group_create(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto group = ring_group_from_body(p, e, c.who.company_id);
  if (auto* refusal = std::get_if<Response>(&group)) return std::move(*refusal);
  auto id = callflow::RingGroups(p.store, p.keys, p.clock).create(std::get<callflow::RingGroup>(group), c.who.subject_id);
  if (!id.ok()) return ring_group_error(id.error());
  return ring_group_answer(p, status::created, *id);
}

Response ring_group_show(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_group(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  return ring_group_answer(p, status::ok, existing->id);
}

Response ring_group_update(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_group(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  auto group = ring_group_from_body(p, e, c.who.company_id);
  if (auto* refusal = std::get_if<Response>(&group)) return std::move(*refusal);
  callflow::RingGroup& changed = std::get<callflow::RingGroup>(group);
  changed.id = existing->id;
  if (Status s = callflow::RingGroups(p.store, p.keys, p.clock).update(changed, c.who.subject_id); !s.ok())
    return ring_group_error(s.error());
  return ring_group_answer(p, status::ok, existing->id);
}

Response ring_group_remove(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto existing = company_group(p, e, c);
  if (!existing.ok()) return error_response(existing.error());
  if (Status s = callflow::RingGroups(p.store, p.keys, p.clock).remove(existing->id, c.who.subject_id); !s.ok())
    return error_response(s.error());
  return Response{status::no_content, 11};
}

}  // namespace privox::portal::routes
