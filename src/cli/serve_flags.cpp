#include "cli/serve_flags.h"

#include <fmt/format.h>

#include <cctype>

#include "http/server.h"

namespace privox::cli {
namespace {

// PRIVOX_RING_TIMEOUT for ring-timeout.
std::string env_name(std::string_view key) {
  std::string out = "PRIVOX_";
  for (const char c : key) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

const CLI::Validator kHostPort(
    [](std::string& value) {
      if (value.empty()) return std::string{};  // the optional listeners: off
      auto parsed = http::parse_host_port(value, "");
      return parsed.ok() ? std::string{} : parsed.error().message;
    },
    "HOST:PORT");

const CLI::Validator kDigestList(
    [](std::string& value) {
      auto parsed = parse_digest_challenges(value);
      return parsed.ok() ? std::string{} : parsed.error().message;
    },
    "md5,sha256");

const CLI::Validator kPortRange(
    [](std::string& value) {
      auto parsed = parse_port_range(value);
      return parsed.ok() ? std::string{} : parsed.error().message;
    },
    "FIRST-LAST");

// Registers each flag on a command and, when asked, lists it as a configuration key.
class FlagTable {
 public:
  FlagTable(CLI::App& cmd, std::vector<ServeKey>* keys) : cmd_(cmd), keys_(keys) {}

  template <class T>
  CLI::Option* add(const std::string& name, T& bound, const std::string& help, Takes takes,
                   std::function<std::string(const ServeOptions&, const GlobalOptions&)> text) {
    if (keys_) keys_->push_back(ServeKey{name, takes, std::move(text)});
    return cmd_.add_option("--" + name, bound, help)->envname(env_name(name));
  }

  template <class T>
  CLI::Option* add(const std::string& name, ServeOptions& into, T ServeOptions::*field, const std::string& help,
                   Takes takes = Takes::restart) {
    return add(name, into.*field, help, takes,
               [field](const ServeOptions& o, const GlobalOptions&) { return fmt::format("{}", o.*field); })
        ->capture_default_str();
  }

 private:
  CLI::App& cmd_;
  std::vector<ServeKey>* keys_;
};

void describe_global_flags(CLI::App& root, GlobalOptions& into, std::vector<ServeKey>* keys) {
  if (!keys)  // a key of its own would let a file name another file
    root.add_option("--config", into.config,
                    "a privox.toml whose keys are the flags' names without dashes (flags and PRIVOX_* variables "
                    "override it); `privox config check FILE` validates one")
        ->envname("PRIVOX_CONFIG");
  FlagTable table(root, keys);
  table
      .add("log-level", into.log_level, "trace, debug, info, warn, error or off; a SIGHUP applies a changed one",
           Takes::at_once, [](const ServeOptions&, const GlobalOptions& g) { return g.log_level; })
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  table
      .add("log-format", into.log_format, "auto (text on a terminal, JSON lines otherwise), json or text",
           Takes::restart, [](const ServeOptions&, const GlobalOptions& g) { return g.log_format; })
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "json", "text"}));
}

void describe_serve_flags(CLI::App& serve, ServeOptions& into, std::vector<ServeKey>* keys) {
  FlagTable table(serve, keys);
  table
      .add("data-dir", into.dir.root, "privox data directory (master key, and the SQLite store unless --store)",
           Takes::restart, [](const ServeOptions& o, const GlobalOptions&) { return o.dir.root; })
      ->required();
  table.add("store", into.dir.store_url,
            "postgresql://USER:PASS@HOST:PORT/DB to use PostgreSQL instead of SQLite in the data directory",
            Takes::restart, [](const ServeOptions& o, const GlobalOptions&) { return o.dir.store_url; });
  table.add("http", into, &ServeOptions::http, "HTTP listen address HOST:PORT")->check(kHostPort);
  table.add("sip", into, &ServeOptions::sip, "SIP listen address HOST:PORT, UDP and TCP")->check(kHostPort);
  table
      .add("sip-tls", into, &ServeOptions::sip_tls,
           "SIP over TLS listen address HOST:PORT (5061 is usual), with --tls-cert and --tls-key, which a SIGHUP "
           "reloads for new connections; TLS 1.2 or newer (default: off)")
      ->check(kHostPort);
  table.add("ring-timeout", into, &ServeOptions::ring_timeout_s, "seconds an unanswered call rings")
      ->check(CLI::Range(1, 3600));
  table
      .add("max-transactions", into, &ServeOptions::max_transactions,
           "SIP transactions in flight past which new requests get 503 with Retry-After; a SIGHUP applies a "
           "changed one",
           Takes::at_once)
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}));
  table
      .add("digest-challenges", into, &ServeOptions::digest_challenges,
           "algorithms 401 and 407 challenge with, in order (md5, sha256); answers with either are always accepted. "
           "MD5 alone by default: some clients (sipsak, baresip 1.0) give up on any SHA-256 challenge; md5,sha256 "
           "or sha256,md5 for RFC 8760 phones")
      ->check(kDigestList);
  table
      .add("media-relay", into, &ServeOptions::media_relay,
           "rtpengine's ng control address HOST:PORT (its --listen-ng): every call's media goes through it, and a "
           "call gets 503 while it does not answer. Without it, media flows between the phones directly")
      ->check(kHostPort);
  table.add("voicemail", into, &ServeOptions::voicemail,
            "answer calls nobody takes (no device registered, busy, or unanswered for voicemail.ring_seconds) with "
            "the line's voicemail box: true or false");
  table.add("voicemail-sounds", into, &ServeOptions::voicemail_sounds,
            "directory of the voicemail prompts (Debian's asterisk-core-sounds-en-wav layout)");
  table.add("media-address", into, &ServeOptions::media_address,
            "IP address of privox's own media endpoint (voicemail); by default the SIP address");
  table
      .add("media-ports", into, &ServeOptions::media_ports,
           "FIRST-LAST: the media endpoint's UDP ports (RTP on even ports, RTCP on the next)")
      ->check(kPortRange);
  table.add("tls-cert", into, &ServeOptions::tls_cert,
            "PEM certificate chain: serve the portal over HTTPS; a SIGHUP loads a renewed one", Takes::at_once);
  table.add("tls-key", into, &ServeOptions::tls_key, "PEM private key for --tls-cert", Takes::at_once);
  table.add("payment-provider", into, &ServeOptions::payment_provider,
            "the payment provider's base URL, which sign-up asks about card tokens");
  table.add("payment-api-key-file", into, &ServeOptions::payment_api_key_file,
            "file holding the payment provider's API key");
  table.add("http-threads", into, &ServeOptions::http_threads, "threads that run portal requests")
      ->check(CLI::Range(size_t{1}, size_t{256}));
  table
      .add("http-max-connections", into, &ServeOptions::http_max_connections,
           "HTTP connections open at once; past it a new one displaces the longest idle; a SIGHUP applies a "
           "changed one",
           Takes::at_once)
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  table
      .add("http-max-connections-per-client", into, &ServeOptions::http_max_connections_per_client,
           "HTTP connections one client (IPv4 address, IPv6 /64) may hold open at once; a SIGHUP applies a "
           "changed one",
           Takes::at_once)
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  table
      .add("metrics", into, &ServeOptions::metrics,
           "serve GET /metrics (Prometheus) on this HOST:PORT, apart from the portal; no credential, so a loopback "
           "or management address (default: off)")
      ->check(kHostPort);
}

}  // namespace

void add_global_flags(CLI::App& root, GlobalOptions& into) { describe_global_flags(root, into, nullptr); }

void add_serve_flags(CLI::App& serve, ServeOptions& into) { describe_serve_flags(serve, into, nullptr); }

const std::vector<ServeKey>& serve_keys() {
  static const std::vector<ServeKey> keys = [] {
    std::vector<ServeKey> out;
    CLI::App root;
    GlobalOptions globals;
    ServeOptions options;
    describe_global_flags(root, globals, &out);
    describe_serve_flags(*root.add_subcommand("serve"), options, &out);
    return out;
  }();
  return keys;
}

std::vector<const ServeKey*> changed_keys(const ServeOptions& before, const GlobalOptions& before_globals,
                                          const ServeOptions& after, const GlobalOptions& after_globals) {
  std::vector<const ServeKey*> out;
  for (const ServeKey& key : serve_keys())
    if (key.text(before, before_globals) != key.text(after, after_globals)) out.push_back(&key);
  return out;
}

}  // namespace privox::cli
