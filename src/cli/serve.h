#pragma once

#include <string>

#include "cli/environment.h"

namespace privox::cli {

struct ServeOptions {
  DataDir dir;
  std::string http = "127.0.0.1:8080";
  std::string sip = "127.0.0.1:5060";
  int ring_timeout_s = 60;
  size_t max_transactions = 50'000;
  std::string digest_challenges = "md5";  // what every common phone answers (issue 13)
  std::string media_relay;  // rtpengine's ng control address HOST:PORT; empty: no relay
  // Voicemail: privox answers calls nobody takes (sip/proxy_voicemail.cpp) with its media endpoint.
  bool voicemail = true;
  std::string voicemail_sounds = "/usr/share/asterisk/sounds/en_US_f_Allison";
  std::string media_address;               // the endpoint's address; empty: the SIP address
  std::string media_ports = "40000-44999"; // its RTP/RTCP port range
  // The portal (portal/api.h): TLS when both are given; the payment provider sign-up asks about tokens.
  std::string tls_cert, tls_key;
  std::string payment_provider;           // base URL, e.g. http://127.0.0.1:8081
  std::string payment_api_key_file;
  size_t http_threads = 4;
  // The HTTP server's connection caps (http::ServerOptions); serve raises the descriptor limit to
  // what they and SIP's TCP cap need, or does not start (common/fd_limit.h).
  size_t http_max_connections = 1024;
  size_t http_max_connections_per_client = 64;
  // GET /metrics (Prometheus's text format) on its own address HOST:PORT, never the portal's; empty
  // (the default): no metrics. It has no credential: a loopback or management-network address.
  std::string metrics;
};

// Runs privox's services in this process until SIGTERM or SIGINT, then stops them cleanly.
// Returns the process exit code.
int serve(const ServeOptions& options);

}  // namespace privox::cli
