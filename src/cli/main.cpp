// privox: one binary, one verb per operator task. Every verb answers --help; every error goes to
// stderr, names the offending flag or value and exits non-zero:
//   2 invalid input, 3 not found, 4 conflict with stored data, 1 anything else.

#include <sodium.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "accounts/accounts.h"
#include "app/registry.h"
#include "common/log.h"
#include "cli/config_file.h"
#include "cli/environment.h"
#include "cli/serve.h"
#include "cli/serve_flags.h"
#include "cli/verbs.h"
#include "consent/member_view.h"
#include "erasure/erasure.h"
#include "privacy/datamap.h"

namespace privox::cli {
namespace {

int run_init(const DataDir& where) {
  bool changed = false;
  if (Status s = initialise(where, &changed); !s.ok()) return fail(s.error());
  std::printf(changed ? "initialised %s\n" : "%s is already initialised; nothing changed\n", where.root.c_str());
  return 0;
}

int run_company_add(const DataDir& where, const accounts::NewCompany& input) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  accounts::Accounts accounts(*(*env)->store, (*env)->keys, (*env)->clock);
  auto id = accounts.add_company(input, cli_actor());
  if (!id.ok()) return fail(id.error());
  std::printf("%s\n", id->c_str());
  return 0;
}

int run_member_add(const DataDir& where, const std::string& company, const accounts::FieldValues& input) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  accounts::Accounts accounts(*(*env)->store, (*env)->keys, (*env)->clock);
  auto id = accounts.add_member(company, input, cli_actor());
  if (!id.ok()) return fail(id.error());
  std::printf("%s\n", id->c_str());
  return 0;
}

int run_member_show(const DataDir& where, const std::string& id, const std::string& purpose) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto shown = consent::show_member(*(*env)->store, (*env)->keys, (*env)->clock, id, *privacy::parse_purpose(purpose),
                                    cli_actor());
  if (!shown.ok()) return fail(shown.error());
  std::printf("%s\n", shown->dump(2).c_str());
  return 0;
}

int run_member_erase(const DataDir& where, const std::string& id) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto outcome = erasure::erase_member(*(*env)->store, (*env)->keys, (*env)->clock, id, cli_actor(), "operator");
  if (!outcome.ok()) return fail(outcome.error());
  if (outcome->already_erased) {
    std::printf("member %s was already erased on %s\n", id.c_str(), format_utc(outcome->erased_at_us).c_str());
    return 0;
  }
  std::printf("erased member %s: data key destroyed, personal data can no longer be decrypted\n", id.c_str());
  if (!outcome->files_purged)
    std::fprintf(stderr, "privox: warning: another process holds the store open, so the write-ahead log still has "
                         "the old key pages until its next checkpoint\n");
  return 0;
}

// serve's configuration from the command line, the environment and the file as they are now.
Result<Configuration> configuration_from(int argc, char** argv) {
  CLI::App app;
  Configuration config;
  add_global_flags(app, config.globals);
  add_serve_flags(*app.add_subcommand("serve"), config.serve);
  if (const std::string path = config_path_from(argc, argv); !path.empty()) {
    PRIVOX_ASSIGN(const ConfigFile file, read_config_file(path));
    PRIVOX_TRY(apply_config(file, app));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return invalid("", e.what());
  }
  return config;
}

// `config check FILE`: the file read and every value put through its flag's checks, as serve would.
int run_config_check(const std::string& path) {
  auto file = read_config_file(path);
  if (!file.ok()) return fail(file.error());
  CLI::App app;
  Configuration config;
  add_global_flags(app, config.globals);
  add_serve_flags(*app.add_subcommand("serve"), config.serve);
  if (Status s = apply_config(*file, app); !s.ok()) return fail(s.error());
  std::printf("%s: ok, %zu keys\n", path.c_str(), file->values.size());
  return 0;
}

int run(int argc, char** argv) {
  CLI::App app{"privox: hosted business telephony whose data handling follows its privacy policy by construction"};
  app.set_version_flag("--version", PRIVOX_VERSION);
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 2 invalid input, 3 not found, 4 conflict, 1 other errors.");

  DataDir where;

  auto* init = app.add_subcommand("init", "Create a data directory: master key (mode 0600) and store; idempotent");
  add_data_dir(init, where);

  Configuration config;
  add_global_flags(app, config.globals);
  auto* serve_cmd = app.add_subcommand("serve", "Run privox (SIP over UDP and TCP, HTTP) until SIGTERM; SIGHUP "
                                                "rereads the configuration");
  add_serve_flags(*serve_cmd, config.serve);

  std::string checked_file;
  auto* config_cmd = app.add_subcommand("config", "The configuration file")->require_subcommand(1);
  auto* config_check = config_cmd->add_subcommand("check", "Check a privox.toml: syntax, keys and values");
  config_check->add_option("file", checked_file, "the file, e.g. /etc/privox/privox.toml")->required();

  auto* company = app.add_subcommand("company", "Companies (tenants)")->require_subcommand(1);
  accounts::NewCompany new_company;
  auto* company_add = company->add_subcommand("add", "Add a company; prints its id");
  add_data_dir(company_add, where);
  company_add->add_option("--name", new_company.name, "company name")->required();
  company_add->add_option("--region", new_company.region, "where its data is stored: eea or us")->required();
  company_add->add_option("--country", new_company.country,
                          "ISO 3166 country, for reading national phone numbers (default: GB for eea, US for us)");

  auto* member = app.add_subcommand("member", "Members (people)")->require_subcommand(1);
  std::string company_id, member_id, purpose;
  auto* member_add = member->add_subcommand("add", "Add a member; prints their id. Fields come from the data map.");
  add_data_dir(member_add, where);
  member_add->add_option("--company", company_id, "the member's company id")->required();
  // One flag per member field of the data map, so sign-up takes exactly what the map declares.
  accounts::FieldValues field_values;
  for (const privacy::FieldSpec* f : accounts::member_fields()) {
    member_add->add_option_function<std::string>(
        flag_for(f->name), [&field_values, name = std::string(f->name)](const std::string& v) { field_values[name] = v; },
        fmt::format("{}{}", f->description, f->mandatory ? " (mandatory)" : ""));
  }

  auto* member_show = member->add_subcommand("show", "Show a member's data for a named purpose (audited)");
  add_data_dir(member_show, where);
  member_show->add_option("--id", member_id, "member id")->required();
  member_show->add_option("--purpose", purpose, "why you need the data")
      ->required()
      ->check(CLI::IsMember({"billing", "support", "fraud", "legal"}));

  auto* member_erase = member->add_subcommand("erase", "Erase a member by destroying their data key");
  add_data_dir(member_erase, where);
  member_erase->add_option("--id", member_id, "member id")->required();

  Verbs verbs;
  add_telephony_verbs(app, where, verbs);
  add_traffic_verbs(app, where, verbs);
  add_rating_verbs(app, where, verbs);
  add_billing_verbs(app, where, verbs);
  add_fraud_verbs(app, where, verbs);
  add_wallet_verbs(app, where, verbs);
  add_voicemail_verbs(app, where, verbs);
  add_portal_verbs(app, where, verbs);
  add_rights_verbs(app, where, verbs);
  add_privacy_verbs(app, where, verbs);
  add_notify_verbs(app, where, verbs);
  add_retention_verbs(app, where, verbs);
  add_backup_verbs(app, where, verbs);
  add_callflow_verbs(app, where, verbs);

  bool as_json = false;
  auto* datamap = app.add_subcommand("datamap", "Print the data map: every personal field and its rules");
  datamap->add_flag("--json", as_json, "machine-readable output");

  // The file's values become the flags' defaults before CLI11 reads the environment and the
  // command line over them.
  if (const std::string path = config_path_from(argc, argv); !path.empty()) {
    auto file = read_config_file(path);
    if (!file.ok()) return fail(file.error());
    if (Status s = apply_config(*file, app); !s.ok()) return fail(s.error());
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse error is invalid input.
    return app.exit(e) == 0 ? 0 : 2;
  }
  // --log-format and --log-level (flag, PRIVOX_LOG_* variable or file; checked by their flags).
  log::configure(*log::parse_format(config.globals.log_format), *log::parse_level(config.globals.log_level));

  if (*init) return run_init(where);
  if (*serve_cmd) return serve(config, [argc, argv] { return configuration_from(argc, argv); });
  if (*config_check) return run_config_check(checked_file);
  if (*company_add) return run_company_add(where, new_company);
  if (*member_add) return run_member_add(where, company_id, field_values);
  if (*member_show) return run_member_show(where, member_id, purpose);
  if (*member_erase) return run_member_erase(where, member_id);
  if (const std::optional<int> code = verbs.run_given()) return *code;
  if (*datamap) {
    std::cout << (as_json ? privacy::datamap_json().dump(2) + "\n" : privacy::datamap_text());
    return 0;
  }
  return 1;
}

}  // namespace
}  // namespace privox::cli

int main(int argc, char** argv) {
  ::umask(077);  // the store, its log and the key file are for the operator's account alone
  // libsodium's own ChaCha20 generator, seeded from the kernel, instead of one getrandom() system
  // call per request: the packet path draws nonces and ids for every call and registration.
  randombytes_set_implementation(&randombytes_internal_implementation);
  if (sodium_init() < 0) {
    std::fprintf(stderr, "privox: error: libsodium failed to initialise\n");
    return 1;
  }
  // Until the command line is read (--log-format, --log-level): text on a terminal, JSON otherwise.
  privox::log::configure(privox::log::Format::automatic, privox::log::Level::info);
  privox::app::install_registries();
  return privox::cli::run(argc, argv);
}
