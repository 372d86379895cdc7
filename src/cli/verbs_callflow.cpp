// `privox line forward|dnd|forwarding` and `privox group create|list|show|update|delete`: an
// operator's view of call forwarding, do-not-disturb and ring groups (callflow/). Targets are
// named as a person names them, KIND:NUMBER (line:102, group:500, voicemail:101,
// external:07911123456), and resolved within the line's or group's company; every change is
// audited by callflow/.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "accounts/extensions.h"
#include "accounts/validation.h"
#include "callflow/forwarding.h"
#include "callflow/groups.h"
#include "callflow/targets.h"
#include "cli/verbs.h"

namespace privox::cli {
namespace {

struct CallflowOptions {
  std::string id, company, number, name, strategy, overflow, dnd;
  std::optional<std::string> always, busy, no_answer, unregistered;
  std::vector<std::string> clear, members;
  std::optional<int> no_answer_seconds, ring_seconds;
  bool no_overflow = false;
};

// KIND:NUMBER resolved in the company; errors name `field` (the flag without its dashes).
Result<callflow::Target> parse_target(store::Session& s, const std::string& company_id, std::string_view text,
                                      std::string_view field) {
  const size_t colon = text.find(':');
  const std::optional<callflow::TargetKind> kind =
      colon == std::string_view::npos ? std::nullopt : callflow::parse_target_kind(text.substr(0, colon));
  if (!kind)
    return invalid(std::string(field),
                   fmt::format("'{}' is not KIND:NUMBER, KIND one of line, group, voicemail, "
                               "external",
                               text.substr(0, colon == std::string_view::npos ? text.size() : colon)));
  return callflow::resolve_target(s, company_id, *kind, text.substr(colon + 1), field);
}

nlohmann::json target_json(store::Session& s, const std::optional<callflow::Target>& target) {
  if (!target) return nullptr;
  auto number = callflow::target_number(s, *target);
  return {{"kind", callflow::to_string(target->kind)}, {"ref", target->ref}, {"number", number.ok() ? *number : ""}};
}

nlohmann::json forwarding_json(store::Session& s, const std::string& line_id, const callflow::Forwarding& f) {
  return {{"line_id", line_id},
          {"dnd", f.dnd},
          {"always", target_json(s, f.always)},
          {"busy", target_json(s, f.busy)},
          {"no_answer", target_json(s, f.no_answer)},
          {"unregistered", target_json(s, f.unregistered)},
          {"no_answer_seconds", f.no_answer_seconds}};
}

nlohmann::json group_json(store::Session& s, const callflow::RingGroup& g) {
  nlohmann::json members = nlohmann::json::array();
  for (const std::string& line : g.member_line_ids)
    members.push_back(target_json(s, callflow::Target{callflow::TargetKind::line, line}));
  return {{"id", g.id},
          {"company_id", g.company_id},
          {"number", g.number},
          {"name", g.name},
          {"strategy", callflow::to_string(g.strategy)},
          {"ring_seconds", g.ring_seconds},
          {"members", std::move(members)},
          {"overflow", target_json(s, g.overflow)}};
}

// Prints `show(session)` from a read transaction.
int print_json(Environment& env, const std::function<Result<nlohmann::json>(store::Session&)>& show) {
  nlohmann::json out;
  const Status read = store::with_transaction(*env.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(out, show(s));
    return {};
  });
  if (!read.ok()) return fail(read.error());
  std::cout << out.dump(2) << "\n";
  return 0;
}

int show_forwarding(Environment& env, const std::string& line_id) {
  auto f = callflow::Forwardings(*env.store, env.keys, env.clock).get(line_id);
  if (!f.ok()) return fail(f.error());
  return print_json(env, [&](store::Session& s) -> Result<nlohmann::json> { return forwarding_json(s, line_id, *f); });
}

// The line's forwarding with the flags' changes applied: targets given set, conditions cleared.
Status apply_forward_flags(Environment& env, const std::string& line_id, const CallflowOptions& o,
                           callflow::Forwarding& f) {
  using Slot = std::pair<const std::optional<std::string>*, std::optional<callflow::Target> callflow::Forwarding::*>;
  const std::array<std::pair<std::string_view, Slot>, 4> slots = {{
      {"always", {&o.always, &callflow::Forwarding::always}},
      {"busy", {&o.busy, &callflow::Forwarding::busy}},
      {"no_answer", {&o.no_answer, &callflow::Forwarding::no_answer}},
      {"unregistered", {&o.unregistered, &callflow::Forwarding::unregistered}},
  }};
  for (const std::string& name : o.clear) {
    const auto slot = std::find_if(slots.begin(), slots.end(),
                                   [&](const auto& e) { return e.first == name || flag_for(e.first) == "--" + name; });
    if (slot == slots.end())
      return invalid("clear", fmt::format("'{}' is not a condition: always, busy, no-answer or unregistered", name));
    f.*slot->second.second = std::nullopt;
  }
  if (o.no_answer_seconds) f.no_answer_seconds = *o.no_answer_seconds;
  return store::with_transaction(*env.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_id(s, line_id));
    if (!line) return Error{ErrorCode::not_found, "line", fmt::format("no line has id {}", line_id)};
    for (const auto& [name, slot] : slots) {
      if (!*slot.first) continue;
      PRIVOX_ASSIGN(f.*slot.second, parse_target(s, line->company_id, **slot.first, name));
    }
    return {};
  });
}

int run_line_forward(const DataDir& where, const CallflowOptions& o) {
  auto line_id = accounts::check_id("line", o.id);
  if (!line_id.ok()) return fail(line_id.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  callflow::Forwardings forwardings(*(*env)->store, (*env)->keys, (*env)->clock);
  auto f = forwardings.get(*line_id);
  if (!f.ok()) return fail(f.error());
  if (Status s = apply_forward_flags(**env, *line_id, o, *f); !s.ok()) return fail(s.error());
  if (Status s = forwardings.set(*line_id, *f, cli_actor()); !s.ok()) return fail(s.error());
  return show_forwarding(**env, *line_id);
}

int run_line_dnd(const DataDir& where, const CallflowOptions& o) {
  if (o.dnd != "on" && o.dnd != "off") return fail(invalid("dnd", fmt::format("'{}' is not on or off", o.dnd)));
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  const Status s =
      callflow::Forwardings(*(*env)->store, (*env)->keys, (*env)->clock).set_dnd(o.id, o.dnd == "on", cli_actor());
  if (!s.ok()) return fail(s.error());
  return show_forwarding(**env, o.id);
}

int run_line_forwarding(const DataDir& where, const CallflowOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  return show_forwarding(**env, o.id);
}

// The group's fields from the flags given; `g` holds what stays (create: the defaults).
Status apply_group_flags(Environment& env, const CallflowOptions& o, callflow::RingGroup& g) {
  if (!o.number.empty()) g.number = o.number;
  if (!o.name.empty()) g.name = o.name;
  if (!o.strategy.empty()) {
    const std::optional<callflow::Strategy> strategy = callflow::parse_strategy(o.strategy);
    if (!strategy)
      return invalid("strategy", fmt::format("'{}' is not simultaneous, sequential or round_robin", o.strategy));
    g.strategy = *strategy;
  }
  if (o.ring_seconds) g.ring_seconds = *o.ring_seconds;
  if (!o.members.empty()) g.member_line_ids = o.members;
  if (o.no_overflow) g.overflow = std::nullopt;
  if (o.overflow.empty()) return {};
  return store::with_transaction(*env.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(g.overflow, parse_target(s, g.company_id, o.overflow, "overflow"));
    return {};
  });
}

int show_group(Environment& env, const std::string& id) {
  auto g = callflow::RingGroups(*env.store, env.keys, env.clock).find(id);
  if (!g.ok()) return fail(g.error());
  return print_json(env, [&](store::Session& s) -> Result<nlohmann::json> { return group_json(s, *g); });
}

int run_group_create(const DataDir& where, const CallflowOptions& o) {
  auto company = accounts::check_id("company", o.company);
  if (!company.ok()) return fail(company.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  callflow::RingGroup g;
  g.company_id = *company;
  if (Status s = apply_group_flags(**env, o, g); !s.ok()) return fail(s.error());
  auto id = callflow::RingGroups(*(*env)->store, (*env)->keys, (*env)->clock).create(g, cli_actor());
  if (!id.ok()) return fail(id.error());
  std::cout << *id << "\n";
  return 0;
}

int run_group_update(const DataDir& where, const CallflowOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  callflow::RingGroups groups(*(*env)->store, (*env)->keys, (*env)->clock);
  auto g = groups.find(o.id);
  if (!g.ok()) return fail(g.error());
  if (Status s = apply_group_flags(**env, o, *g); !s.ok()) return fail(s.error());
  if (Status s = groups.update(*g, cli_actor()); !s.ok()) return fail(s.error());
  return show_group(**env, o.id);
}

int run_group_list(const DataDir& where, const CallflowOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto all = callflow::RingGroups(*(*env)->store, (*env)->keys, (*env)->clock).list(o.company);
  if (!all.ok()) return fail(all.error());
  return print_json(**env, [&](store::Session& s) -> Result<nlohmann::json> {
    nlohmann::json out = nlohmann::json::array();
    for (const callflow::RingGroup& g : *all) out.push_back(group_json(s, g));
    return out;
  });
}

int run_group_show(const DataDir& where, const CallflowOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  return show_group(**env, o.id);
}

int run_group_delete(const DataDir& where, const CallflowOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  const Status s = callflow::RingGroups(*(*env)->store, (*env)->keys, (*env)->clock).remove(o.id, cli_actor());
  if (!s.ok()) return fail(s.error());
  return 0;
}

constexpr std::string_view kTargetHelp =
    "KIND:NUMBER, KIND line, group, voicemail (the line's box) or external (national or +CC...)";

void add_line_verbs(CLI::App& app, DataDir& where, Verbs& verbs, const std::shared_ptr<CallflowOptions>& o) {
  auto* line = app.add_subcommand("line", "A line's call forwarding and do-not-disturb")->require_subcommand(1);

  auto* forward = line->add_subcommand("forward", "Set or clear the line's forwarding per condition (audited)");
  add_data_dir(forward, where);
  forward->add_option("line", o->id, "the line (extension id)")->required();
  forward->add_option("--always", o->always, fmt::format("every call goes to {}", kTargetHelp));
  forward->add_option("--busy", o->busy, "calls go here when the line is busy or on do-not-disturb");
  forward->add_option("--no-answer", o->no_answer, "calls go here when nobody answers in time");
  forward->add_option("--unregistered", o->unregistered, "calls go here when no phone of the line is registered");
  forward->add_option("--no-answer-seconds", o->no_answer_seconds, "how long the line rings first (5-120)");
  forward->add_option("--clear", o->clear, "a condition whose forward goes: always, busy, no-answer, unregistered");
  verbs.add(forward, [&where, o] { return run_line_forward(where, *o); });

  auto* dnd = line->add_subcommand("dnd", "Do-not-disturb on or off: calls go to the busy treatment (audited)");
  add_data_dir(dnd, where);
  dnd->add_option("line", o->id, "the line (extension id)")->required();
  dnd->add_option("state", o->dnd, "on or off")->required();
  verbs.add(dnd, [&where, o] { return run_line_dnd(where, *o); });

  auto* show = line->add_subcommand("forwarding", "Show the line's forwarding and do-not-disturb (JSON)");
  add_data_dir(show, where);
  show->add_option("line", o->id, "the line (extension id)")->required();
  verbs.add(show, [&where, o] { return run_line_forwarding(where, *o); });
}

// The flags create and update share.
void add_group_flags(CLI::App* verb, const std::shared_ptr<CallflowOptions>& o) {
  verb->add_option("--number", o->number, "the group's number in the company's plan (2-8 digits)");
  verb->add_option("--name", o->name, "what the portal shows (at most 60 characters)");
  verb->add_option("--strategy", o->strategy, "simultaneous, sequential or round_robin");
  verb->add_option("--ring-seconds", o->ring_seconds, "how long each step rings (5-120)");
  verb->add_option("--member", o->members, "a member line (extension id), in ringing order; repeat for each");
  verb->add_option("--overflow", o->overflow, fmt::format("where calls go when nobody answers: {}", kTargetHelp));
}

}  // namespace

void add_callflow_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto o = std::make_shared<CallflowOptions>();
  add_line_verbs(app, where, verbs, o);

  auto* group = app.add_subcommand("group", "Ring groups: lines rung together or in turn")->require_subcommand(1);
  auto* create = group->add_subcommand("create", "Create a ring group and print its id (audited)");
  add_data_dir(create, where);
  create->add_option("--company", o->company, "the company's id")->required();
  add_group_flags(create, o);
  verbs.add(create, [&where, o] { return run_group_create(where, *o); });

  auto* list = group->add_subcommand("list", "The company's ring groups (JSON)");
  add_data_dir(list, where);
  list->add_option("--company", o->company, "the company's id")->required();
  verbs.add(list, [&where, o] { return run_group_list(where, *o); });

  auto* show = group->add_subcommand("show", "One ring group (JSON)");
  add_data_dir(show, where);
  show->add_option("group", o->id, "the group's id")->required();
  verbs.add(show, [&where, o] { return run_group_show(where, *o); });

  auto* update = group->add_subcommand("update", "Change a ring group: the flags given replace what it had (audited)");
  add_data_dir(update, where);
  update->add_option("group", o->id, "the group's id")->required();
  add_group_flags(update, o);
  update->add_flag("--no-overflow", o->no_overflow, "the group fails busy when nobody answers");
  verbs.add(update, [&where, o] { return run_group_update(where, *o); });

  auto* remove = group->add_subcommand("delete", "Delete a ring group nothing forwards or overflows to (audited)");
  add_data_dir(remove, where);
  remove->add_option("group", o->id, "the group's id")->required();
  verbs.add(remove, [&where, o] { return run_group_delete(where, *o); });

  add_receptionist_verbs(app, where, verbs);
  add_conference_verbs(app, where, verbs);
}

}  // namespace privox::cli
