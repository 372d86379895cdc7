#pragma once
// What `privox serve --metrics HOST:PORT` exports (metrics/registry.h): the sources that read the
// counters the services already keep, at scrape time, and the router that answers GET /metrics on
// its own listen address, never on the portal's.
//
// Thread-safety: install everything before the servers start; the sources then run on the metrics
// server's handler thread, and the SIP one hands its read to the SIP worker (posted to the
// io_context, waited for at most a second: a scrape during shutdown gets the rest).

#include <atomic>
#include <cstdint>

#include "common/clock.h"
#include "http/server.h"
#include "metrics/registry.h"
#include "privacy/keyring.h"
#include "retention/scheduler.h"
#include "sip/service.h"
#include "store/store.h"

namespace boost::asio {
class io_context;
}

namespace privox::cli {

// Counts every request `router` dispatches, by method, route template and status
// (privox_http_requests_total). Before the server has the router.
void count_http_requests(metrics::Registry& registry, http::Router& router, std::string_view server);

struct NodeMetricsParts {
  boost::asio::io_context& io;  // the SIP worker's
  sip::SipService& sip;
  const http::Server& portal;
  const retention::Scheduler& retention;
  store::Store& store;  // for the rights requests' queue
  const privacy::Keyring& keys;
  const Clock& clock;
  const std::atomic<uint8_t>* relay_state = nullptr;  // sip::RelayState; null without a relay
};
void add_node_metrics(metrics::Registry& registry, const NodeMetricsParts& parts);

// GET /metrics and nothing else.
http::Router metrics_router(const metrics::Registry& registry);

}  // namespace privox::cli
