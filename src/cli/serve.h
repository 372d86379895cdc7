#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "accounts/digest_hash.h"
#include "cli/environment.h"

namespace privox::cli {

struct ServeOptions {
  DataDir dir;
  std::string http = "127.0.0.1:8080";
  std::string sip = "127.0.0.1:5060";
  // SIP over TLS (sip/tls.h) on HOST:PORT with the portal's certificate and key; empty: off.
  std::string sip_tls;
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

// The options before the verb, which every verb takes.
struct GlobalOptions {
  std::string config;  // a privox.toml; empty: none
  std::string log_level = "info";
  std::string log_format = "auto";  // auto: text on a terminal, JSON lines otherwise
};

// What serve runs with: its flags and the global ones, from the command line, environment and file.
struct Configuration {
  ServeOptions serve;
  GlobalOptions globals;
};

// Reads the configuration again, the command line and environment it started with over the file
// as it is now (cli/config_file.h); SIGHUP's source.
using Reread = std::function<Result<Configuration>()>;

// Runs privox's services in this process until SIGTERM or SIGINT, then stops them cleanly. On
// SIGHUP it rereads the configuration: what can change at once does (log level, the portal's TLS
// certificate, HTTP connection caps, the SIP transaction limit), and every other changed key is
// logged as needing a restart. Returns the process exit code.
int serve(const Configuration& config, const Reread& reread);

// "md5,sha256": the algorithms 401 and 407 challenge with, in order (--digest-challenges).
Result<std::vector<accounts::DigestAlgorithm>> parse_digest_challenges(std::string_view text);

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
};
// "40000-44999" (--media-ports): two ports from 1024 to 65535 with room for an RTP/RTCP pair.
Result<PortRange> parse_port_range(std::string_view text);

}  // namespace privox::cli
