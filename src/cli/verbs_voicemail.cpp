// `privox voicemail list|delete|export`, `privox voicemail greeting set|show|delete`,
// `privox voicemail options show|set` and `privox voicemail pin set|clear`: the voicemail store for
// a named purpose, every read and change audited (voicemail/store.h, voicemail/greetings.h,
// voicemail/options.h). The operator's tools; a member uses the portal.

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>

#include "accounts/validation.h"
#include "cli/verbs.h"
#include "voicemail/greetings.h"
#include "voicemail/options.h"
#include "voicemail/store.h"

namespace privox::cli {
namespace {

struct VoicemailOptions {
  std::string purpose;
  std::string company, box;  // list
  std::string id;            // delete, export
  std::string out;           // export, greeting show
  std::string file;          // greeting set
  std::string line;          // options, pin
  std::string email_notice;  // options set
};

Result<voicemail::Scope> staff_scope(const VoicemailOptions& o) {
  voicemail::Scope scope;
  scope.purpose = *privacy::parse_purpose(o.purpose);  // CLI11 checked the name
  if (!o.company.empty()) {
    PRIVOX_ASSIGN(scope.company_id, accounts::check_id("company", o.company));
  }
  if (!o.box.empty()) {
    PRIVOX_ASSIGN(std::string box, accounts::check_id("box", o.box));
    scope.boxes = std::vector<std::string>{box};
  }
  return scope;
}

int run_list(const DataDir& where, const VoicemailOptions& o) {
  auto scope = staff_scope(o);
  if (!scope.ok()) return fail(scope.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto messages = voicemail::list_messages(*(*env)->store, (*env)->keys, (*env)->clock, *scope, cli_actor());
  if (!messages.ok()) return fail(messages.error());
  nlohmann::json out = nlohmann::json::array();
  for (const voicemail::MessageInfo& m : *messages) {
    nlohmann::json j = voicemail::to_json(m);
    j["company_id"] = m.company_id;
    out.push_back(std::move(j));
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

int run_delete(const DataDir& where, const VoicemailOptions& o) {
  auto scope = staff_scope(o);
  if (!scope.ok()) return fail(scope.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  const Status deleted = voicemail::delete_message(*(*env)->store, (*env)->keys, (*env)->clock, *scope, o.id, cli_actor());
  if (!deleted.ok()) return fail(deleted.error());
  std::cout << nlohmann::json{{"id", o.id}, {"deleted", true}}.dump() << "\n";
  return 0;
}

// Writes the recording to a new file only its owner may read; refuses to overwrite one.
Status write_private(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return invalid("out", "cannot create " + path + " (it may exist already): " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(path.c_str());
      return invalid("out", fmt::format("cannot write {}: {}", path, why));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return invalid("out", "cannot write " + path + ": " + std::strerror(errno));
  return {};
}

int run_export(const DataDir& where, const VoicemailOptions& o) {
  auto scope = staff_scope(o);
  if (!scope.ok()) return fail(scope.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto message = voicemail::open_audio(*(*env)->store, (*env)->keys, (*env)->clock, *scope, o.id, cli_actor());
  if (!message.ok()) return fail(message.error());
  const Status written = write_private(o.out, message->audio);
  sodium_memzero(message->audio.data(), message->audio.size());
  if (!written.ok()) return fail(written.error());
  nlohmann::json j = voicemail::to_json(message->info);
  j["file"] = o.out;
  std::cout << j.dump(2) << "\n";
  return 0;
}

// A greeting verb's scope: the one box named (--box), of any company.
Result<voicemail::Scope> greeting_scope(const VoicemailOptions& o) {
  PRIVOX_ASSIGN(voicemail::Scope scope, staff_scope(o));
  if (!scope.boxes) return invalid("box", "name the line (--box)");
  return scope;
}

int run_greeting_set(const DataDir& where, const VoicemailOptions& o) {
  auto scope = greeting_scope(o);
  if (!scope.ok()) return fail(scope.error());
  std::ifstream in(o.file, std::ios::binary);
  if (!in) return fail(invalid("file", "cannot read " + o.file));
  // Read at most one byte past the limit: a larger file is refused without holding all of it.
  std::vector<uint8_t> wav;
  wav.resize(voicemail::kGreetingLimits.max_bytes + 1);
  in.read(reinterpret_cast<char*>(wav.data()), static_cast<std::streamsize>(wav.size()));
  wav.resize(static_cast<size_t>(in.gcount()));
  if (wav.size() > voicemail::kGreetingLimits.max_bytes)
    return fail(invalid("audio", "the file is larger than 16 MB"));
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto duration = voicemail::set_greeting(*(*env)->store, (*env)->keys, (*env)->clock, *scope, o.box, wav, cli_actor());
  if (!wav.empty()) sodium_memzero(wav.data(), wav.size());
  if (!duration.ok()) return fail(duration.error());
  std::cout << nlohmann::json{{"box_id", o.box}, {"duration_ms", *duration}}.dump() << "\n";
  return 0;
}

int run_greeting_show(const DataDir& where, const VoicemailOptions& o) {
  auto scope = greeting_scope(o);
  if (!scope.ok()) return fail(scope.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto audio = voicemail::greeting_audio(*(*env)->store, (*env)->keys, (*env)->clock, *scope, o.box, cli_actor());
  if (!audio.ok()) return fail(audio.error());
  const Status written = write_private(o.out, *audio);
  sodium_memzero(audio->data(), audio->size());
  if (!written.ok()) return fail(written.error());
  std::cout << nlohmann::json{{"box_id", o.box}, {"file", o.out}}.dump() << "\n";
  return 0;
}

int run_greeting_delete(const DataDir& where, const VoicemailOptions& o) {
  auto scope = greeting_scope(o);
  if (!scope.ok()) return fail(scope.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  const Status deleted = voicemail::delete_greeting(*(*env)->store, (*env)->keys, (*env)->clock, *scope, o.box, cli_actor());
  if (!deleted.ok()) return fail(deleted.error());
  std::cout << nlohmann::json{{"box_id", o.box}, {"deleted", true}}.dump() << "\n";
  return 0;
}

// The options and PIN verbs' scope: the one line named, of any company.
Result<voicemail::Scope> line_scope(const VoicemailOptions& o) {
  voicemail::Scope scope;
  scope.purpose = *privacy::parse_purpose(o.purpose);  // CLI11 checked the name
  PRIVOX_ASSIGN(std::string line, accounts::check_id("line", o.line));
  scope.boxes = std::vector<std::string>{std::move(line)};
  return scope;
}

// The box's options as JSON, after whatever the verb changed.
int print_options(Environment& env, const voicemail::Scope& scope, const std::string& line) {
  auto options = voicemail::box_options(*env.store, scope, line);
  if (!options.ok()) return fail(options.error());
  std::cout << voicemail::to_json(*options).dump(2) << "\n";
  return 0;
}

// Opens the environment and runs `change` on the line's box (nothing for show), then prints its
// options.
int run_on_line(const DataDir& where, const VoicemailOptions& o,
                const std::function<Status(Environment&, const voicemail::Scope&)>& change) {
  auto scope = line_scope(o);
  if (!scope.ok()) return fail(scope.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  if (change)
    if (Status s = change(**env, *scope); !s.ok()) return fail(s.error());
  return print_options(**env, *scope, o.line);
}

int run_options_set(const DataDir& where, const VoicemailOptions& o) {
  const std::optional<voicemail::EmailNotice> notice = voicemail::parse_email_notice(o.email_notice);
  if (!notice) return fail(invalid("email-notice", "must be off, notice or audio"));
  return run_on_line(where, o, [&](Environment& env, const voicemail::Scope& scope) {
    return voicemail::set_email_notice(*env.store, env.keys, env.clock, scope, o.line, *notice, cli_actor());
  });
}

// The PIN comes on standard input (one line), never as an argument a process list would show.
int run_pin_set(const DataDir& where, const VoicemailOptions& o) {
  std::string pin;
  std::getline(std::cin, pin);
  while (!pin.empty() && (pin.back() == '\r' || pin.back() == '\n')) pin.pop_back();
  const int rc = run_on_line(where, o, [&](Environment& env, const voicemail::Scope& scope) {
    return voicemail::set_pin(*env.store, env.keys, env.clock, scope, o.line, pin, cli_actor());
  });
  if (!pin.empty()) sodium_memzero(pin.data(), pin.size());
  return rc;
}

int run_pin_clear(const DataDir& where, const VoicemailOptions& o) {
  return run_on_line(where, o, [&](Environment& env, const voicemail::Scope& scope) {
    return voicemail::clear_pin(*env.store, env.keys, env.clock, scope, o.line, cli_actor());
  });
}

void add_purpose(CLI::App* verb, VoicemailOptions& o) {
  verb->add_option("--purpose", o.purpose, "why you need it (recordings: service or legal)")
      ->required()
      ->check(CLI::IsMember({"service", "billing", "support", "fraud", "legal"}));
}

}  // namespace

void add_voicemail_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* voicemail = app.add_subcommand("voicemail", "Voicemail messages (sealed per box; every read audited)")
                        ->require_subcommand(1);
  auto o = std::make_shared<VoicemailOptions>();
  auto* list = voicemail->add_subcommand("list", "Print messages, newest first, as JSON (audited)");
  add_data_dir(list, where);
  add_purpose(list, *o);
  list->add_option("--company", o->company, "only this company's messages");
  list->add_option("--box", o->box, "only this line's (extension id) box");
  verbs.add(list, [&where, o] { return run_list(where, *o); });

  auto* remove = voicemail->add_subcommand("delete", "Delete one message, recording and all (audited)");
  add_data_dir(remove, where);
  add_purpose(remove, *o);
  remove->add_option("id", o->id, "the message's id")->required();
  verbs.add(remove, [&where, o] { return run_delete(where, *o); });

  auto* exported = voicemail->add_subcommand("export", "Write one message's recording (Ogg Opus) to a new file (audited)");
  add_data_dir(exported, where);
  add_purpose(exported, *o);
  exported->add_option("id", o->id, "the message's id")->required();
  exported->add_option("--out", o->out, "the file to create (mode 0600; an existing file is not overwritten)")
      ->required();
  verbs.add(exported, [&where, o] { return run_export(where, *o); });

  auto* greeting = voicemail->add_subcommand("greeting", "A line's own voicemail greeting (sealed; audited)")
                       ->require_subcommand(1);
  auto* set = greeting->add_subcommand("set", "Set the line's greeting from a WAV file (1 to 60 s, at most 16 MB)");
  add_data_dir(set, where);
  add_purpose(set, *o);
  set->add_option("--box", o->box, "the line (extension id)")->required();
  set->add_option("--file", o->file, "the WAV file")->required();
  verbs.add(set, [&where, o] { return run_greeting_set(where, *o); });
  auto* show = greeting->add_subcommand("show", "Write the line's greeting (Ogg Opus) to a new file (audited)");
  add_data_dir(show, where);
  add_purpose(show, *o);
  show->add_option("--box", o->box, "the line (extension id)")->required();
  show->add_option("--out", o->out, "the file to create (mode 0600; an existing file is not overwritten)")->required();
  verbs.add(show, [&where, o] { return run_greeting_show(where, *o); });
  auto* drop = greeting->add_subcommand("delete", "Delete the line's greeting: callers hear the default one (audited)");
  add_data_dir(drop, where);
  add_purpose(drop, *o);
  drop->add_option("--box", o->box, "the line (extension id)")->required();
  verbs.add(drop, [&where, o] { return run_greeting_delete(where, *o); });

  // A box's options serve its member's own use of it: the data map allows purpose service only.
  const auto add_line = [&where, &o](CLI::App* verb) {
    add_data_dir(verb, where);
    verb->add_option("--purpose", o->purpose, "why you need it (service: the data map allows no other)")
        ->required()
        ->check(CLI::IsMember({"service"}));
    verb->add_option("line", o->line, "the line (extension id) whose box it is")->required();
  };
  auto* options = voicemail->add_subcommand("options", "A box's options: PIN set or not, email notice (audited)")
                      ->require_subcommand(1);
  auto* options_show = options->add_subcommand("show", "Print the box's options as JSON (never the PIN)");
  add_line(options_show);
  verbs.add(options_show, [&where, o] { return run_on_line(where, *o, nullptr); });
  auto* options_set = options->add_subcommand("set", "Choose whether new messages are emailed to the line's member");
  add_line(options_set);
  options_set
      ->add_option("--email-notice", o->email_notice,
                   "off, notice (that a message came, no audio) or audio (the recording attached: it leaves privox)")
      ->required()
      ->check(CLI::IsMember({"off", "notice", "audio"}));
  verbs.add(options_set, [&where, o] { return run_options_set(where, *o); });
  auto* pin = voicemail->add_subcommand("pin", "A box's PIN, for reaching it from the company's other lines (audited)")
                  ->require_subcommand(1);
  auto* pin_set = pin->add_subcommand("set", "Set the box's PIN, read from standard input (4 to 12 digits)");
  add_line(pin_set);
  verbs.add(pin_set, [&where, o] { return run_pin_set(where, *o); });
  auto* pin_clear = pin->add_subcommand("clear", "Remove the box's PIN: it opens from its own line only");
  add_line(pin_clear);
  verbs.add(pin_clear, [&where, o] { return run_pin_clear(where, *o); });
}

}  // namespace privox::cli
