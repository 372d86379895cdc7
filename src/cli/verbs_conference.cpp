// `privox conference create|list|show|update|delete|pin`: an operator's view of the conference
// bridge's rooms (callflow/conference.h). A company room has a number of the company's plan; a
// line's own room (--line) has none and is dialled as *88 and the line's number. The PIN is shown
// by `pin` only, which is audited; every change is audited by callflow/, never with the PIN.

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "accounts/validation.h"
#include "callflow/conference.h"
#include "cli/verbs.h"

namespace privox::cli {
namespace {

struct ConferenceOptions {
  std::string id, company, line, number, name, did;
  std::optional<std::string> pin;  // update: only when given
  bool no_did = false;
};

// fail() with the room's own field (not found: `conference`) named by the flag that gave it.
int fail_conference(Error e) {
  if (e.field == "conference") e.field = "id";
  return fail(e);
}

callflow::Conferences conferences_of(Environment& env) { return callflow::Conferences(*env.store, env.keys, env.clock); }

nlohmann::json room_json(const callflow::ConferenceRoom& r) {
  return {{"id", r.id},
          {"company_id", r.company_id},
          {"line_id", r.line_id ? nlohmann::json(*r.line_id) : nlohmann::json(nullptr)},
          {"number", r.number},
          {"name", r.name},
          {"did", r.did ? nlohmann::json(*r.did) : nlohmann::json(nullptr)}};
}

void apply_room_flags(const ConferenceOptions& o, callflow::ConferenceRoom& r) {
  if (!o.number.empty()) r.number = o.number;
  if (!o.name.empty()) r.name = o.name;
  if (!o.did.empty()) r.did = o.did;
  if (o.no_did) r.did = std::nullopt;
}

int show_room(Environment& env, const std::string& id) {
  auto r = conferences_of(env).find(id);
  if (!r.ok()) return fail_conference(r.error());
  std::cout << room_json(*r).dump(2) << "\n";
  return 0;
}

int run_conference_create(const DataDir& where, const ConferenceOptions& o) {
  auto company = accounts::check_id("company", o.company);
  if (!company.ok()) return fail_conference(company.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail_conference(env.error());
  callflow::ConferenceRoom r;
  r.company_id = *company;
  if (!o.line.empty()) r.line_id = o.line;
  apply_room_flags(o, r);
  auto id = conferences_of(**env).create(r, o.pin.value_or(""), cli_actor());
  if (!id.ok()) return fail_conference(id.error());
  std::cout << *id << "\n";
  return 0;
}

int run_conference_update(const DataDir& where, const ConferenceOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_conference(env.error());
  callflow::Conferences conferences = conferences_of(**env);
  auto r = conferences.find(o.id);
  if (!r.ok()) return fail_conference(r.error());
  apply_room_flags(o, *r);
  if (Status s = conferences.update(*r, o.pin, cli_actor()); !s.ok()) return fail_conference(s.error());
  return show_room(**env, o.id);
}

int run_conference_list(const DataDir& where, const ConferenceOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_conference(env.error());
  auto all = conferences_of(**env).list(o.company);
  if (!all.ok()) return fail_conference(all.error());
  nlohmann::json out = nlohmann::json::array();
  for (const callflow::ConferenceRoom& r : *all) out.push_back(room_json(r));
  std::cout << out.dump(2) << "\n";
  return 0;
}

int run_conference_show(const DataDir& where, const ConferenceOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_conference(env.error());
  return show_room(**env, o.id);
}

int run_conference_delete(const DataDir& where, const ConferenceOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_conference(env.error());
  const Status s = conferences_of(**env).remove(o.id, cli_actor());
  if (!s.ok()) return fail_conference(s.error());
  return 0;
}

int run_conference_pin(const DataDir& where, const ConferenceOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_conference(env.error());
  auto pin = conferences_of(**env).pin(o.id, cli_actor());
  if (!pin.ok()) return fail_conference(pin.error());
  std::cout << *pin << "\n";
  return 0;
}

// The flags create and update share.
void add_room_flags(CLI::App* verb, const std::shared_ptr<ConferenceOptions>& o) {
  verb->add_option("--number", o->number, "a company room's number in the company's plan (2-8 digits)");
  verb->add_option("--name", o->name, "what the portal shows (at most 60 characters)");
  verb->add_option("--did", o->did, "a public number that reaches the room (national or +CC...)");
}

}  // namespace

void add_conference_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto o = std::make_shared<ConferenceOptions>();
  auto* conference =
      app.add_subcommand("conference", "Conference rooms: a number callers dial to talk together, behind a PIN")
          ->require_subcommand(1);
  auto* create = conference->add_subcommand("create", "Create a room and print its id (audited)");
  add_data_dir(create, where);
  create->add_option("--company", o->company, "the company's id")->required();
  create->add_option("--line", o->line, "the line whose own room it is (line id; then no --number: dialled as *88 "
                                        "and the line's number)");
  add_room_flags(create, o);
  create->add_option("--pin", o->pin, "the PIN callers key in (4-12 digits)")->required();
  verbs.add(create, [&where, o] { return run_conference_create(where, *o); });

  auto* list = conference->add_subcommand("list", "The company's rooms (JSON, without PINs)");
  add_data_dir(list, where);
  list->add_option("--company", o->company, "the company's id")->required();
  verbs.add(list, [&where, o] { return run_conference_list(where, *o); });

  auto* show = conference->add_subcommand("show", "One room (JSON, without its PIN)");
  add_data_dir(show, where);
  show->add_option("room,--id", o->id, "the room's id")->required();
  verbs.add(show, [&where, o] { return run_conference_show(where, *o); });

  auto* update = conference->add_subcommand("update", "Change a room: the flags given replace what it had (audited)");
  add_data_dir(update, where);
  update->add_option("room,--id", o->id, "the room's id")->required();
  add_room_flags(update, o);
  update->add_flag("--no-did", o->no_did, "no public number reaches the room");
  update->add_option("--pin", o->pin, "a new PIN (4-12 digits)");
  verbs.add(update, [&where, o] { return run_conference_update(where, *o); });

  auto* remove = conference->add_subcommand("delete", "Delete a room (audited)");
  add_data_dir(remove, where);
  remove->add_option("room,--id", o->id, "the room's id")->required();
  verbs.add(remove, [&where, o] { return run_conference_delete(where, *o); });

  auto* pin = conference->add_subcommand("pin", "Print the room's PIN (audited: conference.pin_read)");
  add_data_dir(pin, where);
  pin->add_option("room,--id", o->id, "the room's id")->required();
  verbs.add(pin, [&where, o] { return run_conference_pin(where, *o); });
}

}  // namespace privox::cli
