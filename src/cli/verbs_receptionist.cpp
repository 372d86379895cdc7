// `privox menu create|list|show|update|delete|greeting|record-code` and `privox receptionist
// create|list|show|update|delete`: an operator's view of the virtual receptionist
// (callflow/receptionist.h). A key's action is named as a person names it, KEY=KIND[:NUMBER]
// (1=line:102, 2=group:500, 3=voicemail:101, 4=external:07911123456, 5=menu:MENU_ID,
// 9=dial_by_extension, 0=repeat), and resolved within the menu's company; every change is audited
// by callflow/.

#include <fmt/format.h>
#include <sodium.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "accounts/validation.h"
#include "callflow/receptionist.h"
#include "callflow/targets.h"
#include "cli/verbs.h"

namespace privox::cli {
namespace {

struct ReceptionOptions {
  std::string id, company, name, number, did, open_menu, closed_menu, timeout_action, file;
  std::vector<std::string> keys;
  std::optional<int> timeout;
  bool no_timeout_action = false, no_keys = false, no_did = false, no_closed_menu = false, clear = false;
};

// fail() with the store's field names (callflow/receptionist.h) turned into this verb's flags:
// the timeout's action is --timeout-action, its seconds --timeout, and keys.K is --key K=....
int fail_reception(Error e) {
  if (e.field == "timeout") {
    e.field = "timeout_action";
  } else if (e.field == "timeout_seconds") {
    e.field = "timeout";
  } else if (e.field.starts_with("keys.")) {
    e.message = fmt::format("key {}: {}", e.field.substr(5), e.message);
    e.field = "key";
  }
  return fail(e);
}

// KIND[:NUMBER] as a menu action of `company_id`: line, group, voicemail and external resolved as
// forwarding's targets are (callflow/targets.h), menu:MENU_ID, dial_by_extension, repeat.
Result<callflow::MenuAction> parse_menu_action(store::Session& s, const std::string& company_id, std::string_view text,
                                               const std::string& field) {
  const size_t colon = text.find(':');
  const std::string_view kind_text = text.substr(0, colon);
  const std::string_view rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  const std::optional<callflow::MenuActionKind> kind = callflow::parse_menu_action_kind(kind_text);
  if (!kind)
    return invalid(field, fmt::format("'{}' is not an action: line, group, voicemail, external, menu, "
                                      "dial_by_extension or repeat",
                                      kind_text));
  if (const std::optional<callflow::TargetKind> target = callflow::parse_target_kind(kind_text)) {
    PRIVOX_ASSIGN(const callflow::Target resolved, callflow::resolve_target(s, company_id, *target, rest, field));
    return callflow::MenuAction{*kind, resolved.ref};
  }
  if (*kind == callflow::MenuActionKind::menu && rest.empty()) return invalid(field, "menu:MENU_ID names no menu");
  return callflow::MenuAction{*kind, std::string(rest)};
}

// KEY=KIND[:NUMBER], each; errors name `key` (the flag).
Result<std::map<char, callflow::MenuAction>> parse_menu_keys(store::Session& s, const std::string& company_id,
                                                             const std::vector<std::string>& given) {
  std::map<char, callflow::MenuAction> out;
  for (const std::string& entry : given) {
    const size_t eq = entry.find('=');
    if (eq != 1 || !callflow::is_menu_key(entry[0]))
      return invalid("key", fmt::format("'{}' is not KEY=ACTION, KEY one of 0-9, * or #", entry.substr(0, eq)));
    PRIVOX_ASSIGN(callflow::MenuAction action,
                  parse_menu_action(s, company_id, std::string_view(entry).substr(2), fmt::format("keys.{}", entry[0])));
    if (!out.emplace(entry[0], std::move(action)).second)
      return invalid("key", fmt::format("key {} is given twice", entry[0]));
  }
  return out;
}

nlohmann::json menu_action_json(store::Session& s, const std::optional<callflow::MenuAction>& action) {
  if (!action) return nullptr;
  nlohmann::json out = {{"kind", callflow::to_string(action->kind)}, {"ref", action->ref}};
  if (const std::optional<callflow::TargetKind> kind = callflow::parse_target_kind(callflow::to_string(action->kind))) {
    auto number = callflow::target_number(s, callflow::Target{*kind, action->ref});
    out["number"] = number.ok() ? *number : "";
  }
  return out;
}

nlohmann::json menu_json(store::Session& s, const callflow::Menu& m) {
  nlohmann::json keys = nlohmann::json::object();
  for (const auto& [key, action] : m.keys) keys[std::string(1, key)] = menu_action_json(s, action);
  return {{"id", m.id},
          {"company_id", m.company_id},
          {"name", m.name},
          {"timeout_seconds", m.timeout_seconds},
          {"timeout", menu_action_json(s, m.timeout)},
          {"keys", std::move(keys)},
          {"has_greeting", m.has_greeting},
          {"greeting_ms", m.greeting_ms}};
}

nlohmann::json receptionist_json(const callflow::Receptionist& r) {
  return {{"id", r.id},
          {"company_id", r.company_id},
          {"number", r.number},
          {"name", r.name},
          {"did", r.did ? nlohmann::json(*r.did) : nlohmann::json(nullptr)},
          {"open_menu_id", r.open_menu_id},
          {"closed_menu_id", r.closed_menu_id ? nlohmann::json(*r.closed_menu_id) : nlohmann::json(nullptr)}};
}

// Prints `show(session)` from a read transaction.
int print_reception_json(Environment& env, const std::function<Result<nlohmann::json>(store::Session&)>& show) {
  nlohmann::json out;
  const Status read = store::with_transaction(*env.store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(out, show(s));
    return {};
  });
  if (!read.ok()) return fail_reception(read.error());
  std::cout << out.dump(2) << "\n";
  return 0;
}

callflow::Receptionists receptionists_of(Environment& env) {
  return callflow::Receptionists(*env.store, env.keys, env.clock);
}

// ---- menus ----

// The menu's fields from the flags given; `m` holds what stays (create: the defaults).
Status apply_menu_flags(Environment& env, const ReceptionOptions& o, callflow::Menu& m) {
  if (!o.name.empty()) m.name = o.name;
  if (o.timeout) m.timeout_seconds = *o.timeout;
  if (o.no_timeout_action) m.timeout = std::nullopt;
  if (o.no_keys) m.keys.clear();
  if (o.timeout_action.empty() && o.keys.empty()) return {};
  return store::with_transaction(*env.store, store::TxMode::read, [&](store::Session& s) -> Status {
    if (!o.timeout_action.empty()) {
      PRIVOX_ASSIGN(m.timeout, parse_menu_action(s, m.company_id, o.timeout_action, "timeout"));
    }
    if (!o.keys.empty()) {
      PRIVOX_ASSIGN(m.keys, parse_menu_keys(s, m.company_id, o.keys));
    }
    return {};
  });
}

int show_menu(Environment& env, const std::string& id) {
  auto m = receptionists_of(env).find_menu(id);
  if (!m.ok()) return fail_reception(m.error());
  return print_reception_json(env, [&](store::Session& s) -> Result<nlohmann::json> { return menu_json(s, *m); });
}

int run_menu_create(const DataDir& where, const ReceptionOptions& o) {
  auto company = accounts::check_id("company", o.company);
  if (!company.ok()) return fail_reception(company.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  callflow::Menu m;
  m.company_id = *company;
  if (Status s = apply_menu_flags(**env, o, m); !s.ok()) return fail_reception(s.error());
  auto id = receptionists_of(**env).create_menu(m, cli_actor());
  if (!id.ok()) return fail_reception(id.error());
  std::cout << *id << "\n";
  return 0;
}

int run_menu_update(const DataDir& where, const ReceptionOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  callflow::Receptionists receptionists = receptionists_of(**env);
  auto m = receptionists.find_menu(o.id);
  if (!m.ok()) return fail_reception(m.error());
  if (Status s = apply_menu_flags(**env, o, *m); !s.ok()) return fail_reception(s.error());
  if (Status s = receptionists.update_menu(*m, cli_actor()); !s.ok()) return fail_reception(s.error());
  return show_menu(**env, o.id);
}

int run_menu_list(const DataDir& where, const ReceptionOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  auto all = receptionists_of(**env).list_menus(o.company);
  if (!all.ok()) return fail_reception(all.error());
  return print_reception_json(**env, [&](store::Session& s) -> Result<nlohmann::json> {
    nlohmann::json out = nlohmann::json::array();
    for (const callflow::Menu& m : *all) out.push_back(menu_json(s, m));
    return out;
  });
}

int run_menu_show(const DataDir& where, const ReceptionOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  return show_menu(**env, o.id);
}

int run_menu_delete(const DataDir& where, const ReceptionOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  const Status s = receptionists_of(**env).remove_menu(o.id, cli_actor());
  if (!s.ok()) return fail_reception(s.error());
  return 0;
}

// Reads at most one byte past the limit: a larger file is refused without holding all of it.
Result<std::vector<uint8_t>> read_menu_greeting_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid("file", "cannot read " + path);
  std::vector<uint8_t> wav(callflow::kMaxMenuGreetingBytes + 1);
  in.read(reinterpret_cast<char*>(wav.data()), static_cast<std::streamsize>(wav.size()));
  wav.resize(static_cast<size_t>(in.gcount()));
  if (wav.size() > callflow::kMaxMenuGreetingBytes) return invalid("audio", "the file is larger than 16 MB");
  return wav;
}

int run_menu_greeting(const DataDir& where, const ReceptionOptions& o) {
  if (o.clear == !o.file.empty()) return fail_reception(invalid("file", "give either --file WAV or --clear"));
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  callflow::Receptionists receptionists = receptionists_of(**env);
  if (o.clear) {
    if (Status s = receptionists.delete_greeting(o.id, cli_actor()); !s.ok()) return fail_reception(s.error());
    return show_menu(**env, o.id);
  }
  auto wav = read_menu_greeting_file(o.file);
  if (!wav.ok()) return fail_reception(wav.error());
  auto duration = receptionists.set_greeting(o.id, *wav, cli_actor());
  if (!wav->empty()) sodium_memzero(wav->data(), wav->size());
  if (!duration.ok()) return fail_reception(duration.error());
  return show_menu(**env, o.id);
}

// The one-use code an office manager keys in after dialling callflow::kRecordMenuCode from a line
// of the company, to record the menu's greeting by phone; shown once, on stdout alone.
int run_menu_record_code(const DataDir& where, const ReceptionOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  callflow::Receptionists receptionists = receptionists_of(**env);
  auto code = receptionists.phone_recording_code(o.id, cli_actor());
  if (!code.ok()) return fail_reception(code.error());
  std::cout << *code << "\n";
  sodium_memzero(code->data(), code->size());
  return 0;
}

// ---- receptionists ----

void apply_receptionist_flags(const ReceptionOptions& o, callflow::Receptionist& r) {
  if (!o.number.empty()) r.number = o.number;
  if (!o.name.empty()) r.name = o.name;
  if (!o.did.empty()) r.did = o.did;
  if (o.no_did) r.did = std::nullopt;
  if (!o.open_menu.empty()) r.open_menu_id = o.open_menu;
  if (!o.closed_menu.empty()) r.closed_menu_id = o.closed_menu;
  if (o.no_closed_menu) r.closed_menu_id = std::nullopt;
}

int show_receptionist(Environment& env, const std::string& id) {
  auto r = receptionists_of(env).find(id);
  if (!r.ok()) return fail_reception(r.error());
  std::cout << receptionist_json(*r).dump(2) << "\n";
  return 0;
}

int run_receptionist_create(const DataDir& where, const ReceptionOptions& o) {
  auto company = accounts::check_id("company", o.company);
  if (!company.ok()) return fail_reception(company.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  callflow::Receptionist r;
  r.company_id = *company;
  apply_receptionist_flags(o, r);
  auto id = receptionists_of(**env).create(r, cli_actor());
  if (!id.ok()) return fail_reception(id.error());
  std::cout << *id << "\n";
  return 0;
}

int run_receptionist_update(const DataDir& where, const ReceptionOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  callflow::Receptionists receptionists = receptionists_of(**env);
  auto r = receptionists.find(o.id);
  if (!r.ok()) return fail_reception(r.error());
  apply_receptionist_flags(o, *r);
  if (Status s = receptionists.update(*r, cli_actor()); !s.ok()) return fail_reception(s.error());
  return show_receptionist(**env, o.id);
}

int run_receptionist_list(const DataDir& where, const ReceptionOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  auto all = receptionists_of(**env).list(o.company);
  if (!all.ok()) return fail_reception(all.error());
  nlohmann::json out = nlohmann::json::array();
  for (const callflow::Receptionist& r : *all) out.push_back(receptionist_json(r));
  std::cout << out.dump(2) << "\n";
  return 0;
}

int run_receptionist_show(const DataDir& where, const ReceptionOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  return show_receptionist(**env, o.id);
}

int run_receptionist_delete(const DataDir& where, const ReceptionOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail_reception(env.error());
  const Status s = receptionists_of(**env).remove(o.id, cli_actor());
  if (!s.ok()) return fail_reception(s.error());
  return 0;
}

// The flags menu create and update share.
void add_menu_flags(CLI::App* verb, const std::shared_ptr<ReceptionOptions>& o) {
  verb->add_option("--name", o->name, "what the portal shows (at most 60 characters)");
  verb->add_option("--timeout", o->timeout, "seconds to wait for a key after the greeting (2-30)");
  verb->add_option("--timeout-action", o->timeout_action,
                   "what happens when no key is pressed: KIND[:NUMBER] as --key (default: play again, then hang up)");
  verb->add_option("--key", o->keys,
                   "KEY=ACTION, KEY 0-9, * or #; ACTION line:NUMBER, group:NUMBER, voicemail:NUMBER, external:NUMBER, "
                   "menu:MENU_ID, dial_by_extension or repeat; repeat for each key (replaces every key)");
}

void add_receptionist_flags(CLI::App* verb, const std::shared_ptr<ReceptionOptions>& o) {
  verb->add_option("--number", o->number, "the receptionist's number in the company's plan (2-8 digits)");
  verb->add_option("--name", o->name, "what the portal shows (at most 60 characters)");
  verb->add_option("--did", o->did, "a public number it answers (national or +CC...)");
  verb->add_option("--open-menu", o->open_menu, "the menu played while the company is open (menu id)");
  verb->add_option("--closed-menu", o->closed_menu, "the menu played after hours and on holidays (menu id)");
}

void add_menu_verbs(CLI::App& app, DataDir& where, Verbs& verbs, const std::shared_ptr<ReceptionOptions>& o) {
  auto* menu = app.add_subcommand("menu", "Menus of the virtual receptionist: a greeting and what each key does")
                   ->require_subcommand(1);
  auto* create = menu->add_subcommand("create", "Create a menu and print its id (audited)");
  add_data_dir(create, where);
  create->add_option("--company", o->company, "the company's id")->required();
  add_menu_flags(create, o);
  verbs.add(create, [&where, o] { return run_menu_create(where, *o); });

  auto* list = menu->add_subcommand("list", "The company's menus (JSON)");
  add_data_dir(list, where);
  list->add_option("--company", o->company, "the company's id")->required();
  verbs.add(list, [&where, o] { return run_menu_list(where, *o); });

  auto* show = menu->add_subcommand("show", "One menu (JSON)");
  add_data_dir(show, where);
  show->add_option("menu,--id", o->id, "the menu's id")->required();
  verbs.add(show, [&where, o] { return run_menu_show(where, *o); });

  auto* update = menu->add_subcommand("update", "Change a menu: the flags given replace what it had (audited)");
  add_data_dir(update, where);
  update->add_option("menu,--id", o->id, "the menu's id")->required();
  add_menu_flags(update, o);
  update->add_flag("--no-timeout-action", o->no_timeout_action, "no key pressed: play again, then hang up");
  update->add_flag("--no-keys", o->no_keys, "the menu's keys all go");
  verbs.add(update, [&where, o] { return run_menu_update(where, *o); });

  auto* remove = menu->add_subcommand("delete", "Delete a menu no receptionist or other menu uses (audited)");
  add_data_dir(remove, where);
  remove->add_option("menu,--id", o->id, "the menu's id")->required();
  verbs.add(remove, [&where, o] { return run_menu_delete(where, *o); });

  auto* greeting = menu->add_subcommand("greeting", "Upload the menu's greeting (a WAV of 1-60 s) or clear it (audited)");
  add_data_dir(greeting, where);
  greeting->add_option("menu,--id", o->id, "the menu's id")->required();
  greeting->add_option("--file", o->file, "the WAV file; kept as Ogg Opus sealed under the menu's key");
  greeting->add_flag("--clear", o->clear, "callers hear the default prompt again");
  verbs.add(greeting, [&where, o] { return run_menu_greeting(where, *o); });
  auto* record_code = menu->add_subcommand(
      "record-code", "A one-use code (10 minutes) to record the menu's greeting by phone: dial *87 from a line of the "
                     "company, key the code and #, speak after the tone, # ends (audited)");
  add_data_dir(record_code, where);
  record_code->add_option("menu,--id", o->id, "the menu's id")->required();
  verbs.add(record_code, [&where, o] { return run_menu_record_code(where, *o); });
}

}  // namespace

void add_receptionist_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto o = std::make_shared<ReceptionOptions>();
  add_menu_verbs(app, where, verbs, o);

  auto* receptionist =
      app.add_subcommand("receptionist", "Virtual receptionists: a number privox answers with a menu")
          ->require_subcommand(1);
  auto* create = receptionist->add_subcommand("create", "Create a receptionist and print its id (audited)");
  add_data_dir(create, where);
  create->add_option("--company", o->company, "the company's id")->required();
  add_receptionist_flags(create, o);
  verbs.add(create, [&where, o] { return run_receptionist_create(where, *o); });

  auto* list = receptionist->add_subcommand("list", "The company's receptionists (JSON)");
  add_data_dir(list, where);
  list->add_option("--company", o->company, "the company's id")->required();
  verbs.add(list, [&where, o] { return run_receptionist_list(where, *o); });

  auto* show = receptionist->add_subcommand("show", "One receptionist (JSON)");
  add_data_dir(show, where);
  show->add_option("receptionist,--id", o->id, "the receptionist's id")->required();
  verbs.add(show, [&where, o] { return run_receptionist_show(where, *o); });

  auto* update =
      receptionist->add_subcommand("update", "Change a receptionist: the flags given replace what it had (audited)");
  add_data_dir(update, where);
  update->add_option("receptionist,--id", o->id, "the receptionist's id")->required();
  add_receptionist_flags(update, o);
  update->add_flag("--no-did", o->no_did, "it answers no public number");
  update->add_flag("--no-closed-menu", o->no_closed_menu, "the open menu plays at all hours");
  verbs.add(update, [&where, o] { return run_receptionist_update(where, *o); });

  auto* remove = receptionist->add_subcommand("delete", "Delete a receptionist (audited)");
  add_data_dir(remove, where);
  remove->add_option("receptionist,--id", o->id, "the receptionist's id")->required();
  verbs.add(remove, [&where, o] { return run_receptionist_delete(where, *o); });
}

}  // namespace privox::cli
