// `privox staff add` (operator employees' portal logins), `privox tokenizer` (the stand-in payment
// provider, its own process) and `privox portal page-views` (the cookie-free page counts).

#include <utility>  // before Asio, see http/server.h

#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/verbs.h"
#include "common/log.h"
#include "http/server.h"
#include "portal/auth.h"
#include "portal/page_views.h"
#include "portal/tokenizer.h"

namespace privox::cli {
namespace {

struct StaffAddOptions {
  std::string email, role, password_file;
};

Result<std::string> staff_password(const StaffAddOptions& o) {
  if (!o.password_file.empty()) {
    std::ifstream in(o.password_file);
    std::string line;
    if (!in || !std::getline(in, line)) return invalid("password-file", "cannot read " + o.password_file);
    return line;
  }
  if (const char* env = std::getenv("PRIVOX_STAFF_PASSWORD"); env && *env) return std::string(env);
  return invalid("password-file", "give the password in PRIVOX_STAFF_PASSWORD or a --password-file");
}

int run_staff_add(const DataDir& where, const StaffAddOptions& o) {
  const std::optional<portal::Role> role = portal::parse_role(o.role);
  if (!role || !portal::is_staff(*role))
    return fail(invalid("role", "'" + o.role + "' is not a staff role (staff_support, staff_billing, staff_fraud, "
                                               "staff_legal, staff_admin)"));
  auto password = staff_password(o);
  if (!password.ok()) return fail(password.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  portal::Auth auth(*(*env)->store, (*env)->keys, (*env)->clock);
  auto id = auth.add_staff(o.email, *role, *password, cli_actor());
  if (!id.ok()) return fail(id.error());
  std::printf("%s\n", id->c_str());
  return 0;
}

struct TokenizerOptions {
  std::string listen = "127.0.0.1:8081", allow_origin = "http://127.0.0.1:8080", api_key_file;
};

int run_tokenizer(const TokenizerOptions& o) {
  auto at = http::parse_host_port(o.listen, "listen");
  if (!at.ok()) return fail(at.error());
  auto key = portal::read_api_key_file(o.api_key_file, "api-key-file");
  if (!key.ok()) return fail(key.error());
  ProcessClock clock;
  portal::Tokenizer tokenizer(o.allow_origin, *key, clock);
  boost::asio::io_context io;
  http::ServerOptions options;
  options.handler_threads = 2;
  http::Server server(io, tokenizer.router(), options);
  if (Status s = server.listen(*at); !s.ok()) return fail(s.error());
  log::info("tokenizer", "listening", {{"port", server.local_port()}});  // the address and origin: its flags
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    server.stop();
    io.stop();
  });
  io.run();
  return 0;
}

int run_page_views(const DataDir& where, int days) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto counts = portal::page_view_counts(*(*env)->store, days);
  if (!counts.ok()) return fail(counts.error());
  std::printf("day,page,views\n");
  for (const auto& row : *counts)
    std::printf("%s,%s,%lld\n", row["day"].get<std::string>().c_str(), row["page"].get<std::string>().c_str(),
                static_cast<long long>(row["views"].get<int64_t>()));
  return 0;
}

}  // namespace

void add_portal_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* staff = app.add_subcommand("staff", "The operator's employees' portal logins")->require_subcommand(1);
  auto staff_options = std::make_shared<StaffAddOptions>();
  auto* staff_add = staff->add_subcommand("add", "Add a staff login; prints its id. Password from PRIVOX_STAFF_PASSWORD "
                                                 "or --password-file");
  add_data_dir(staff_add, where);
  staff_add->add_option("--email", staff_options->email, "their email, which is their login")->required();
  staff_add->add_option("--role", staff_options->role,
                        "staff_support, staff_billing, staff_fraud, staff_legal or staff_admin")
      ->required();
  staff_add->add_option("--password-file", staff_options->password_file, "file whose first line is the password");
  verbs.add(staff_add, [&where, staff_options] { return run_staff_add(where, *staff_options); });

  auto tok = std::make_shared<TokenizerOptions>();
  auto* tokenizer = app.add_subcommand(
      "tokenizer", "Run the stand-in payment provider (card tokens) until SIGTERM; not for production");
  tokenizer->add_option("--listen", tok->listen, "HOST:PORT")->capture_default_str();
  tokenizer->add_option("--allow-origin", tok->allow_origin, "the portal's origin, allowed to create tokens (CORS)")
      ->capture_default_str();
  tokenizer->add_option("--api-key-file", tok->api_key_file, "file holding the API key privox uses")->required();
  verbs.add(tokenizer, [tok] { return run_tokenizer(*tok); });

  auto* portal = app.add_subcommand("portal", "The web portal")->require_subcommand(1);
  auto days = std::make_shared<int>(31);
  auto* views = portal->add_subcommand("page-views", "Page views per day and page (counted without cookies)");
  add_data_dir(views, where);
  views->add_option("--days", *days, "how many days back")->capture_default_str()->check(CLI::Range(1, 3660));
  verbs.add(views, [&where, days] { return run_page_views(where, *days); });
}

}  // namespace privox::cli
