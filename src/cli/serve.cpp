#include "cli/serve.h"

#include <utility>  // before Asio, see http/server.h

#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http/server.h"
#include "store/schema.h"

namespace privox::cli {
namespace {

http::Router make_router(Environment& env) {
  http::Router router;
  router.add(http::bhttp::verb::get, "/healthz", [&env](const http::Request&) {
    const Result<int> version = env.store->schema_version();
    if (!version.ok())
      return http::json_response(http::bhttp::status::service_unavailable,
                                 {{"status", "unavailable"}, {"error", version.error().describe()}});
    return http::json_response(http::bhttp::status::ok, {{"status", "ok"},
                                                         {"version", PRIVOX_VERSION},
                                                         {"store", store::to_string(env.store->backend())},
                                                         {"schema_version", *version}});
  });
  return router;
}

}  // namespace

int serve(const ServeOptions& options) {
  auto at = http::parse_host_port(options.http, "http");
  if (!at.ok()) return fail(at.error());
  auto env = open_environment(options.dir);
  if (!env.ok()) return fail(env.error());
  boost::asio::io_context io;
  http::Server server(io, make_router(**env));
  if (Status s = server.listen(*at); !s.ok()) return fail(s.error());
  spdlog::info("privox {} serving HTTP on {}:{} with store {}", PRIVOX_VERSION, at->host, server.local_port(),
               (*env)->store->location());

  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received signal {}, stopping", signal);
    server.stop();
    io.stop();
  });
  io.run();
  spdlog::info("privox stopped");
  return 0;
}

}  // namespace privox::cli
