// A line's call forwarding and do-not-disturb (callflow/forwarding.h): an office manager sets any
// line of the company (/lines/{id}/...), a member their own lines (/me/lines/{id}/...). A line out
// of reach, another company's or another member's, answers exactly as a line that does not exist.
// Targets travel by number ({"kind": "line", "number": "102"}); the store keeps ids, so resolving
// a number and showing one back both go through callflow/targets.h.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

#include "callflow/forwarding.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

// The conditions in the order the body, the answer and the page name them.
constexpr std::array<std::string_view, 4> kForwardConditions = {"always", "busy", "no_answer", "unregistered"};

// The forwarding's target for `condition` (one of kForwardConditions), const or not.
template <class Fwd>
auto& condition_slot(Fwd& f, std::string_view condition) {
  if (condition == "always") return f.always;
  if (condition == "busy") return f.busy;
  if (condition == "no_answer") return f.no_answer;
  return f.unregistered;
}

// What the body asks for, before any number is resolved.
struct ForwardingRequest {
  bool dnd = false;
  std::array<std::optional<NamedTarget>, 4> targets;  // by kForwardConditions
  int no_answer_seconds = callflow::kDefaultNoAnswerSeconds;
};

std::variant<ForwardingRequest, Response> forwarding_request(const nlohmann::json& body) {
  if (auto unknown = refuse_unknown_fields(body, {"dnd", "always", "busy", "no_answer", "unregistered", "no_answer_seconds"})) return std::move(*unknown);
  ForwardingRequest r;
  if (const auto it = body.find("dnd"); it != body.end()) {
    if (!it->is_boolean()) return http::json_error(status::bad_request, "must be true or false", "dnd");
    r.dnd = it->get<bool>();
  }
  for (size_t i = 0; i < kForwardConditions.size(); ++i) {
    auto target = named_target(body, std::string(kForwardConditions[i]));
    if (auto* refusal = std::get_if<Response>(&target)) return std::move(*refusal);
    r.targets.at(i) = std::get<std::optional<NamedTarget>>(std::move(target));
  }
  if (const auto it = body.find("no_answer_seconds"); it != body.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 86'400)
      return http::json_error(status::bad_request,
                              fmt::format("must be a whole number of seconds from {} to {}", callflow::kMinNoAnswerSeconds,
                                          callflow::kMaxNoAnswerSeconds),
                              "no_answer_seconds");
    r.no_answer_seconds = static_cast<int>(it->get<int64_t>());
  }
  return r;
}

// The request's numbers as the store's ids, in the caller's company.
Result<callflow::Forwarding> resolve_forwarding(Portal::Impl& p, const std::string& company_id, const ForwardingRequest& r) {
  callflow::Forwarding f;
  f.dnd = r.dnd;
  f.no_answer_seconds = r.no_answer_seconds;
  PRIVOX_TRY(store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    for (size_t i = 0; i < kForwardConditions.size(); ++i) {
      if (!r.targets.at(i)) continue;
      PRIVOX_ASSIGN(condition_slot(f, kForwardConditions.at(i)),
                    resolve_named_target(s, company_id, *r.targets.at(i), std::string(kForwardConditions.at(i))));
    }
    return {};
  }));
  return f;
}

// The line's forwarding as the API shows it: targets by number. With `reader`, someone other than
// the line's member reads it (an office manager): its numbers outside are that member's personal
// data, so the read is audited in the same transaction, naming the member as the subject.
Response forwarding_answer(Portal::Impl& p, const accounts::Extension& x, const std::string* reader = nullptr) {
  nlohmann::json out = {{"line_id", x.id}, {"number", x.number}, {"label", x.label}};
  const store::TxMode mode = reader ? store::TxMode::write : store::TxMode::read;
  Status done = store::with_transaction(p.store, mode, [&](store::Session& s) -> Status {
    if (reader)
      PRIVOX_TRY(privacy::AuditChain(p.keys, p.clock)
                     .append(s, {*reader, "forwarding.read", x.member_id.value_or(""),
                                 std::string(privacy::to_string(privacy::Purpose::service)),
                                 {{"line_id", x.id}, {"company_id", x.company_id}}}));
    PRIVOX_ASSIGN(std::optional<callflow::Forwarding> stored, callflow::forwarding_of(s, p.keys, x.id));
    const callflow::Forwarding f = stored.value_or(callflow::Forwarding{});
    out["dnd"] = f.dnd;
    out["no_answer_seconds"] = f.no_answer_seconds;
    for (const std::string_view condition : kForwardConditions) {
      PRIVOX_ASSIGN(out[std::string(condition)], target_json(s, condition_slot(f, condition)));
    }
    return {};
  });
  if (!done.ok()) return error_response(done.error());
  return http::json_response(status::ok, out);
}

Response forwarding_get(Portal::Impl& p, const Exchange& e, const Caller& c, bool own_only) {
  auto x = line_in_reach(p, e, c, own_only);
  if (!x.ok()) return error_response(x.error());
  const bool someone_elses = x->member_id.value_or("") != c.who.subject_id;
  return forwarding_answer(p, *x, someone_elses ? &c.who.subject_id : nullptr);
}

Response forwarding_put(Portal::Impl& p, const Exchange& e, const Caller& c, bool own_only) {
  auto x = line_in_reach(p, e, c, own_only);
  if (!x.ok()) return error_response(x.error());
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  auto request = forwarding_request(std::get<nlohmann::json>(parsed));
  if (auto* refusal = std::get_if<Response>(&request)) return std::move(*refusal);
  auto forwarding = resolve_forwarding(p, c.who.company_id, std::get<ForwardingRequest>(request));
  if (!forwarding.ok()) return error_response(forwarding.error());
  if (Status s = callflow::Forwardings(p.store, p.keys, p.clock).set(x->id, *forwarding, c.who.subject_id); !s.ok())
    return error_response(s.error());
  return forwarding_answer(p, *x);
}

Response dnd_put(Portal::Impl& p, const Exchange& e, const Caller& c, bool own_only) {
  auto x = line_in_reach(p, e, c, own_only);
  if (!x.ok()) return error_response(x.error());
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  if (auto unknown = refuse_unknown_fields(body, {"on"})) return std::move(*unknown);
  const auto on = body.find("on");
  if (on == body.end() || !on->is_boolean()) return http::json_error(status::bad_request, "must be true or false", "on");
  if (Status s = callflow::Forwardings(p.store, p.keys, p.clock).set_dnd(x->id, on->get<bool>(), c.who.subject_id); !s.ok())
    return error_response(s.error());
  return forwarding_answer(p, *x);
}

}  // namespace

Result<accounts::Extension> line_in_reach(Portal::Impl& p, const Exchange& e, const Caller& c, bool own_only) {
  auto x = p.extensions.find(std::string(e.param("id")));
  if (!x.ok() && x.error().code != ErrorCode::not_found && x.error().code != ErrorCode::invalid_argument) return x.error();
  const bool reachable = x.ok() && x->company_id == c.who.company_id && (!own_only || x->member_id == c.who.subject_id);
  if (!reachable) return Error{ErrorCode::not_found, "id", own_only ? "no line of yours has this id" : "no such line in your company"};
  return x;
}

std::optional<Response> refuse_unless_call_routing_manager(const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only the company's office managers set up its call routing", "role");
  return std::nullopt;
}

std::optional<Response> refuse_unknown_fields(const nlohmann::json& body, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : body.items())
    if (std::find(known.begin(), known.end(), name) == known.end())
      return http::json_error(status::bad_request, "is not a setting here", name);
  return std::nullopt;
}

std::variant<std::optional<NamedTarget>, Response> named_target(const nlohmann::json& body, const std::string& field) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<NamedTarget>();
  if (!it->is_object()) return http::json_error(status::bad_request, "must be an object {kind, number} or null", field);
  for (const auto& [name, value] : it->items())
    if (name != "kind" && name != "number")
      return http::json_error(status::bad_request, "is not part of a target", std::string(field).append(".").append(name));
  const auto kind = it->find("kind");
  std::optional<callflow::TargetKind> parsed;
  if (kind != it->end() && kind->is_string()) parsed = callflow::parse_target_kind(kind->get<std::string>());
  if (!parsed) return http::json_error(status::bad_request, "must be line, group, voicemail or external", field + ".kind");
  const auto number = it->find("number");
  if (number == it->end() || !number->is_string() || number->get<std::string>().empty())
    return http::json_error(status::bad_request, "must be a number, as text", field + ".number");
  return std::optional<NamedTarget>(NamedTarget{*parsed, number->get<std::string>()});
}

Result<callflow::Target> resolve_named_target(store::Session& s, const std::string& company_id, const NamedTarget& target,
                                              const std::string& field) {
  auto resolved = callflow::resolve_target(s, company_id, target.kind, target.number, field + ".number");
  if (!resolved.ok() && resolved.error().code == ErrorCode::not_found)
    return not_in_company(resolved.error(), target.kind, target.number);
  return resolved;
}

Error not_in_company(Error error, callflow::TargetKind kind, std::string_view number) {
  // The store's message names the company's id, which means nothing to the person who typed it.
  error.message = fmt::format("no {} of your company has the number {}",
                              kind == callflow::TargetKind::group ? "ring group" : "line", number);
  return error;
}

Result<nlohmann::json> target_json(store::Session& s, const std::optional<callflow::Target>& target) {
  if (!target) return nlohmann::json(nullptr);
  PRIVOX_ASSIGN(std::string number, callflow::target_number(s, *target));
  return nlohmann::json{{"kind", callflow::to_string(target->kind)}, {"number", std::move(number)}};
}

Response line_forwarding_get(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  return forwarding_get(p, e, c, false);
}

Response line_forwarding_put(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  return forwarding_put(p, e, c, false);
}

Response line_dnd_put(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  return dnd_put(p, e, c, false);
}

Response my_line_forwarding_get(Portal::Impl& p, const Exchange& e, const Caller& c) {
  return forwarding_get(p, e, c, true);
}

Response my_line_forwarding_put(Portal::Impl& p, const Exchange& e, const Caller& c) {
  return forwarding_put(p, e, c, true);
}

Response my_line_dnd_put(Portal::Impl& p, const Exchange& e, const Caller& c) { return dnd_put(p, e, c, true); }

}  // namespace privox::portal::routes
