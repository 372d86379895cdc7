#include "cli/serve.h"

#include <utility>  // before Asio, see http/server.h

#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <fstream>

#include "common/ids.h"
#include "http/server.h"
#include "sip/service.h"
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

// A name for this node's open calls that survives restarts: kept in the data directory.
Result<std::string> node_id(const DataDir& dir, const Clock& clock) {
  const std::string path = dir.root + "/node.id";
  {
    std::ifstream in(path);
    std::string id;
    if (in && std::getline(in, id) && is_valid_id(id)) return id;
  }
  const std::string id = new_id(clock.now_us());
  std::ofstream out(path, std::ios::trunc);
  out << id << "\n";
  if (!out.flush()) return make_error(ErrorCode::internal, fmt::format("cannot write {}", path));
  return id;
}

int serve(const ServeOptions& options) {
  auto at = http::parse_host_port(options.http, "http");
  if (!at.ok()) return fail(at.error());
  auto sip_at = http::parse_host_port(options.sip, "sip");
  if (!sip_at.ok()) return fail(sip_at.error());
  if (options.ring_timeout_s < 1 || options.ring_timeout_s > 3600)
    return fail(invalid("ring-timeout", "must be between 1 and 3600 seconds"));
  std::vector<sip::DigestAlgorithm> challenges;
  for (size_t start = 0; start <= options.digest_challenges.size();) {
    const size_t comma = options.digest_challenges.find(',', start);
    const std::string name = options.digest_challenges.substr(start, comma - start);
    const sip::DigestAlgorithm a = name == "md5" ? sip::DigestAlgorithm::md5
                                   : name == "sha256" ? sip::DigestAlgorithm::sha256
                                                      : sip::DigestAlgorithm::unknown;
    if (a == sip::DigestAlgorithm::unknown)
      return fail(invalid("digest-challenges", "'" + name + "' is not md5 or sha256"));
    challenges.push_back(a);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  auto env = open_environment(options.dir);
  if (!env.ok()) return fail(env.error());
  auto writer_store = open_store(options.dir);
  if (!writer_store.ok()) return fail(writer_store.error());
  auto node = node_id(options.dir, (*env)->clock);
  if (!node.ok()) return fail(node.error());

  boost::asio::io_context io;
  http::Server server(io, make_router(**env));
  if (Status s = server.listen(*at); !s.ok()) return fail(s.error());
  sip::SipService sip(io, *(*env)->store, std::move(writer_store).value(), (*env)->keys, (*env)->clock,
                      sip::SipOptions{.host = sip_at->host,
                                      .port = sip_at->port,
                                      .node_id = *node,
                                      .ring_timeout_us = int64_t{options.ring_timeout_s} * 1'000'000,
                                      .limits = {.max_in_flight = options.max_transactions, .retry_after_s = 5},
                                      .challenge_algorithms = std::move(challenges)});
  if (Status s = sip.start(); !s.ok()) return fail(s.error());
  spdlog::info("privox {} serving HTTP on {}:{} with store {}", PRIVOX_VERSION, at->host, server.local_port(),
               (*env)->store->location());

  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received signal {}, stopping", signal);
    server.stop();
    sip.stop();
    io.stop();
  });
  io.run();
  spdlog::info("privox stopped");
  return 0;
}

}  // namespace privox::cli
