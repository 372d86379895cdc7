#include "cli/serve.h"

#include <utility>  // before Asio, see http/server.h

#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <optional>

#include "billing/charges.h"
#include "common/fd_limit.h"
#include "common/message_channel.h"
#include "common/log.h"
#include "cli/metrics.h"
#include "cli/serve_flags.h"
#include "common/ids.h"
#include "fraud/live.h"
#include "http/server.h"
#include "notify/mailer.h"
#include "notify/sms.h"
#include "notify/sms_runner.h"
#include "notify/unsubscribe_routes.h"
#include "notify/voicemail_notices.h"
#include "portal/api.h"
#include "portal/fraud_mail.h"
#include "portal/payments.h"
#include "rating/store.h"
#include "retention/scheduler.h"
#include "rights/requests.h"
#include "sip/bans.h"
#include "sip/rtpengine.h"
#include "sip/service.h"
#include "sip/tls.h"
#include "store/clock_skew.h"
#include "store/schema.h"
#include "store/settings.h"
#include "wallet/book.h"

namespace privox::cli {
namespace {


// Raises the soft descriptor limit to what the connection caps need, or says why it cannot: a cap
// the process cannot honour is one an attacker reaches before it (issue 10, item 2). serve refuses
// to start rather than scale the caps down, so the limits in force are the ones the operator set.
Status raise_fd_limit(const ServeOptions& options) {
  FdBudget budget;
  budget.add(options.http_max_connections, "HTTP connections (--http-max-connections)")
      .add(sip::TcpLimits{}.max_connections, "SIP TCP connections");  // the limits SipService gets below
  PRIVOX_ASSIGN(const uint64_t soft, ensure_fd_limit(budget));
  log::info("serve", "fd_limit", {{"soft", soft}});
  return {};
}

// The portal is made before the SIP service (its router goes into the HTTP server first), so it is
// handed this, which the service is put behind once it has started; a softphone that connects
// sooner is closed and reconnects.
class SoftphoneHandoff final : public ChannelAcceptor {
 public:
  void set(ChannelAcceptor* target) { target_.store(target); }
  void adopt(std::shared_ptr<MessageChannel> channel, ChannelIdentity identity) override {
    ChannelAcceptor* target = target_.load();
    if (!target) return channel->close();
    target->adopt(std::move(channel), std::move(identity));
  }

 private:
  std::atomic<ChannelAcceptor*> target_{nullptr};
};

// What /healthz says of the media relay: written by the SIP worker, read by HTTP threads.
struct RelayHealth {
  bool configured = false;
  std::atomic<uint8_t> state{static_cast<uint8_t>(sip::RelayState::unknown)};
};

http::Router make_router(Environment& env, const RelayHealth& relay) {
  http::Router router;
  router.add(http::bhttp::verb::get, "/healthz", [&env, &relay](const http::Exchange&) {
    const Result<int> version = env.store->schema_version();
    if (!version.ok())
      return http::json_response(http::bhttp::status::service_unavailable,
                                 {{"status", "unavailable"}, {"error", version.error().describe()}});
    nlohmann::json body{{"status", "ok"},
                        {"version", PRIVOX_VERSION},
                        {"store", store::to_string(env.store->backend())},
                        {"schema_version", *version}};
    if (!relay.configured) return http::json_response(http::bhttp::status::ok, body);
    // A node whose relay does not answer refuses new calls: it is not fit to be sent any.
    const auto state = static_cast<sip::RelayState>(relay.state.load(std::memory_order_relaxed));
    body["media_relay"] = sip::to_string(state);
    if (state != sip::RelayState::down) return http::json_response(http::bhttp::status::ok, body);
    body["status"] = "unavailable";
    body["error"] = "the media relay does not answer";
    return http::json_response(http::bhttp::status::service_unavailable, body);
  });
  notify::add_unsubscribe_routes(router, *env.store, env.keys, env.clock);
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

// Where phones are told to register (the Extensions page, provisioning files): the settings
// sip.public_host / sip.public_port, else where --sip listens.
Result<portal::PhoneServer> phone_server_from_settings(store::Store& store, const http::HostPort& listen) {
  const store::Settings settings(store);
  PRIVOX_ASSIGN(const std::string host, settings.text("sip.public_host"));
  PRIVOX_ASSIGN(const int64_t port, settings.integer("sip.public_port"));
  portal::PhoneServer out{host.empty() ? listen.host : host, static_cast<uint16_t>(port ? port : listen.port)};
  return out;
}

namespace {

// The media endpoint's address and ports from the flags, and the recording limits from the
// voicemail.* settings (read once at start); nullopt with --voicemail false.
Result<std::optional<sip::VoicemailOptions>> voicemail_options(const ServeOptions& options, store::Store& store,
                                                                const std::string& sip_host) {
  if (!options.voicemail) return std::optional<sip::VoicemailOptions>{};
  sip::VoicemailOptions v;
  v.sounds = options.voicemail_sounds;
  v.endpoint.address = options.media_address.empty() ? sip_host : options.media_address;
  if (v.endpoint.address.size() > 2 && v.endpoint.address.front() == '[')
    v.endpoint.address = v.endpoint.address.substr(1, v.endpoint.address.size() - 2);
  // Callers (rtpengine) are told to send audio to this address: "any address" names no host.
  if (v.endpoint.address == "0.0.0.0" || v.endpoint.address == "::")
    return invalid("media-address", "is required when SIP listens on every address: name the one callers reach");
  PRIVOX_ASSIGN(const PortRange ports, parse_port_range(options.media_ports));
  v.endpoint.first_port = ports.first;
  v.endpoint.last_port = ports.last;
  const store::Settings settings(store);
  PRIVOX_ASSIGN(const int64_t ring_s, settings.integer("voicemail.ring_seconds"));
  PRIVOX_ASSIGN(const int64_t max_s, settings.integer("voicemail.max_message_seconds"));
  PRIVOX_ASSIGN(const int64_t silence_s, settings.integer("voicemail.silence_seconds"));
  PRIVOX_ASSIGN(const int64_t min_s, settings.integer("voicemail.min_message_seconds"));
  PRIVOX_ASSIGN(const int64_t unsolicited, settings.integer("voicemail.unsolicited_mwi"));
  v.unsolicited_mwi = unsolicited != 0;
  v.ring_time_us = ring_s * 1'000'000;
  v.max_message_ms = max_s * 1000;
  v.silence_ms = silence_s * 1000;
  v.min_message_ms = min_s * 1000;
  return std::optional<sip::VoicemailOptions>{std::move(v)};
}

// What a reload can change in place.
struct Reloadable {
  http::Server& portal;
  sip::SipService& sip;
};

// The at-once keys of `next` applied to the running services and recorded in `running`; the other
// changed keys are named as waiting for a restart, and stay as they run in `running`, so the next
// reload names them again. A file that no longer reads changes nothing.
void reload(Configuration& running, const Reread& reread, Reloadable live) {
  auto next = reread();
  if (!next.ok()) {
    // The message quotes the file; `privox config check FILE` shows it to whoever runs it.
    log::error("config", "reload_refused", {{"error", log::error_code(next.error())}});
    return;
  }
  if (!running.serve.tls_cert.empty() && !next->serve.tls_cert.empty()) {
    // Also with unchanged paths: a renewal rewrites the same files.
    Status loaded = live.portal.reload_tls({next->serve.tls_cert, next->serve.tls_key});
    if (loaded.ok() && !running.serve.sip_tls.empty()) {
      auto contexts = sip::make_tls_contexts(next->serve.tls_cert, next->serve.tls_key);
      if (contexts.ok()) live.sip.reload_tls(std::move(contexts).value());
      else loaded = contexts.error();
    }
    if (!loaded.ok()) {
      log::error("config", "tls_reload_refused", {{"error", log::error_code(loaded.error())}});
      next->serve.tls_cert = running.serve.tls_cert;
      next->serve.tls_key = running.serve.tls_key;
    }
  }
  size_t applied = 0, waiting = 0;
  for (const ServeKey* key : changed_keys(running.serve, running.globals, next->serve, next->globals)) {
    const bool tls_toggled = key->name.starts_with("tls-") && (running.serve.tls_cert.empty() || next->serve.tls_cert.empty());
    if (key->takes == Takes::restart || tls_toggled) {
      log::warn("config", "restart_needed", {{"key", log::Code(key->name)}});
      ++waiting;
      continue;
    }
    log::info("config", "applied", {{"key", log::Code(key->name)}});
    ++applied;
  }
  running.globals.log_level = next->globals.log_level;
  log::set_level(running.globals.log_level);
  if (!running.serve.tls_cert.empty() && !next->serve.tls_cert.empty()) {
    running.serve.tls_cert = next->serve.tls_cert;
    running.serve.tls_key = next->serve.tls_key;
  }
  running.serve.max_transactions = next->serve.max_transactions;
  live.sip.set_max_transactions(running.serve.max_transactions);
  running.serve.http_max_connections = next->serve.http_max_connections;
  running.serve.http_max_connections_per_client = next->serve.http_max_connections_per_client;
  live.portal.set_connection_limits(running.serve.http_max_connections, running.serve.http_max_connections_per_client);
  log::info("config", "reloaded", {{"applied", applied}, {"restart_needed", waiting}});
}

}  // namespace

Result<std::vector<accounts::DigestAlgorithm>> parse_digest_challenges(std::string_view text) {
  std::vector<accounts::DigestAlgorithm> out;
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = text.find(',', start);
    const std::string_view name = text.substr(start, comma - start);
    const accounts::DigestAlgorithm a = name == "md5"      ? accounts::DigestAlgorithm::md5
                                        : name == "sha256" ? accounts::DigestAlgorithm::sha256
                                                           : accounts::DigestAlgorithm::unknown;
    if (a == accounts::DigestAlgorithm::unknown)
      return invalid("digest-challenges", fmt::format("'{}' is not md5 or sha256", name));
    out.push_back(a);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<PortRange> parse_port_range(std::string_view text) {
  unsigned first = 0, last = 0;
  char dash = 0, extra = 0;
  const std::string copy(text);  // sscanf needs the terminator
  if (std::sscanf(copy.c_str(), "%u%c%u%c", &first, &dash, &last, &extra) != 3 || dash != '-' || first < 1024 ||
      last > 65535 || last <= first + 1)
    return invalid("media-ports", "must be FIRST-LAST, two ports from 1024 to 65535 with room for a pair between");
  return PortRange{static_cast<uint16_t>(first), static_cast<uint16_t>(last)};
}

int serve(const Configuration& config, const Reread& reread) {
  const ServeOptions& options = config.serve;
  auto at = http::parse_host_port(options.http, "http");
  if (!at.ok()) return fail(at.error());
  auto sip_at = http::parse_host_port(options.sip, "sip");
  if (!sip_at.ok()) return fail(sip_at.error());
  if (options.ring_timeout_s < 1 || options.ring_timeout_s > 3600)
    return fail(invalid("ring-timeout", "must be between 1 and 3600 seconds"));
  auto challenges = parse_digest_challenges(options.digest_challenges);
  if (!challenges.ok()) return fail(challenges.error());
  if (Status s = raise_fd_limit(options); !s.ok()) return fail(s.error());
  auto env = open_environment(options.dir);
  if (!env.ok()) return fail(env.error());
  auto writer_store = open_store(options.dir);
  if (!writer_store.ok()) return fail(writer_store.error());
  // Nodes compare times written on different machines: one whose clock is wrong would close live
  // calls as a dead node's, or have its own closed, so it does not start.
  auto max_clock_skew_ms = store::Settings(*(*env)->store).integer("sip.max_clock_skew_ms");
  if (!max_clock_skew_ms.ok()) return fail(max_clock_skew_ms.error());
  if (Status s = store::check_clock_skew(*(*env)->store, MachineClock(), *max_clock_skew_ms * 1000); !s.ok())
    return fail(s.error());
  auto node = node_id(options.dir, (*env)->clock);
  if (!node.ok()) return fail(node.error());

  std::unique_ptr<portal::PaymentProvider> payments;
  if (!options.payment_provider.empty()) {
    if (options.payment_api_key_file.empty())
      return fail(invalid("payment-api-key-file", "is required with --payment-provider"));
    auto key = portal::read_api_key_file(options.payment_api_key_file, "payment-api-key-file");
    if (!key.ok()) return fail(key.error());
    payments = portal::make_http_payment_provider(options.payment_provider, *key);
  }
  if (options.tls_cert.empty() != options.tls_key.empty())
    return fail(invalid(options.tls_cert.empty() ? "tls-cert" : "tls-key", "--tls-cert and --tls-key go together"));
  sip::TlsContexts sip_tls;
  std::optional<http::HostPort> sip_tls_at;
  if (!options.sip_tls.empty()) {
    if (options.tls_cert.empty())
      return fail(invalid("sip-tls", "needs --tls-cert and --tls-key: SIP over TLS serves the portal's certificate"));
    auto parsed = http::parse_host_port(options.sip_tls, "sip-tls");
    if (!parsed.ok()) return fail(parsed.error());
    sip_tls_at = *parsed;
    auto contexts = sip::make_tls_contexts(options.tls_cert, options.tls_key);
    if (!contexts.ok()) return fail(contexts.error());
    sip_tls = std::move(contexts).value();
  }
  http::ServerOptions http_options;
  http_options.handler_threads = options.http_threads;
  http_options.max_connections = options.http_max_connections;
  http_options.max_connections_per_client = options.http_max_connections_per_client;
  if (!options.tls_cert.empty()) http_options.tls = http::TlsFiles{options.tls_cert, options.tls_key};
  if (payments && !payments->browser_origin().empty()) http_options.connect_origins.push_back(payments->browser_origin());
  portal::PortalOptions portal_options;
  portal_options.payments = payments.get();
  portal_options.downloads_dir = options.dir.root + "/downloads";
  // Sign-up and a change of email send one-time links through the relay, to the portal's public
  // address (both settings read once, at start).
  auto mailer = notify::mailer_from_settings(*(*env)->store);
  if (!mailer.ok()) return fail(mailer.error());
  portal_options.mailer = mailer->get();
  auto public_url = store::Settings(*(*env)->store).text("portal.public_url");
  if (!public_url.ok()) return fail(public_url.error());
  portal_options.public_url = *public_url;
  while (portal_options.public_url.ends_with('/')) portal_options.public_url.pop_back();
  // The softphone's WebSocket: the one origin its pages may connect to besides their own, and the
  // SIP service that takes it once both are up.
  http_options.connect_origins.push_back(portal::softphone_connect_origin(portal_options.public_url));
  SoftphoneHandoff softphone_handoff;
  portal_options.softphone = &softphone_handoff;
  // Read once at start: changed lock-out and session settings apply after a restart.
  auto auth_limits = portal::auth_limits_from_settings(*(*env)->store);
  if (!auth_limits.ok()) return fail(auth_limits.error());
  portal_options.auth_limits = *auth_limits;
  auto phone_server = phone_server_from_settings(*(*env)->store, *sip_at);
  if (!phone_server.ok()) return fail(phone_server.error());
  portal_options.phone_server = *phone_server;
  portal::Portal portal(*(*env)->store, (*env)->keys, (*env)->clock, portal_options);
  RelayHealth relay_health;
  std::optional<sip::RtpengineOptions> media_relay;
  if (!options.media_relay.empty()) {
    auto relay_at = http::parse_host_port(options.media_relay, "media-relay");
    if (!relay_at.ok()) return fail(relay_at.error());
    media_relay = sip::RtpengineOptions{.host = relay_at->host, .port = relay_at->port};
    media_relay->published_state = &relay_health.state;
    relay_health.configured = true;
  }
  http::Router router = make_router(**env, relay_health);
  portal.mount(router);
  // Metrics on their own address (cli/metrics.h), counted only when they are served.
  metrics::Registry metrics_registry;
  std::optional<http::HostPort> metrics_at;
  if (!options.metrics.empty()) {
    auto parsed = http::parse_host_port(options.metrics, "metrics");
    if (!parsed.ok()) return fail(parsed.error());
    if (parsed->port != 0 && parsed->port == at->port && parsed->host == at->host)
      return fail(invalid("metrics", "must not be the portal's address (--http)"));
    metrics_at = *parsed;
    count_http_requests(metrics_registry, router, "portal");
  }

  auto voicemail = voicemail_options(options, *(*env)->store, sip_at->host);
  if (!voicemail.ok()) return fail(voicemail.error());

  // Read once at start, like the portal's: changed SIP limits apply after a restart.
  auto guard_limits = sip::guard_limits_from_settings(*(*env)->store);
  if (!guard_limits.ok()) return fail(guard_limits.error());

  boost::asio::io_context io;
  http::Server server(io, std::move(router), http_options);
  if (Status s = server.listen(*at); !s.ok()) return fail(s.error());
  // The operator's rate decks price each answered outbound call as it ends; another node's import
  // reaches this one within the keeper's interval. Declared before the SIP service, which prices
  // from the book until it has stopped.
  rating::RateBook rates;
  rating::BookKeeper rate_keeper(*(*env)->store, rates);
  if (Status s = rate_keeper.start(); !s.ok()) return fail(s.error());
  // Companies' international wallets (wallet/book.h): read at call set-up from a view the keeper
  // reloads every 2 s, debited by it as calls end; stopped after the SIP service, so it drains
  // the last calls' debits.
  wallet::WalletBook wallets;
  wallet::WalletKeeper wallet_keeper(*(*env)->store, (*env)->keys, (*env)->clock, wallets, *node);
  if (Status s = wallet_keeper.start(); !s.ok()) return fail(s.error());
  // The fraud rules (fraud/live.h): counted and enforced on the call path, alerts opened, the
  // traffic scanned and the alerts mailed on a thread of their own. Declared before the SIP
  // service, which consults its guard until it has stopped.
  auto fraud_mailer = notify::mailer_from_settings(*(*env)->store);
  if (!fraud_mailer.ok()) return fail(fraud_mailer.error());
  auto fraud_options = fraud::live_options_from_settings(*(*env)->store);
  if (!fraud_options.ok()) return fail(fraud_options.error());
  fraud::LiveRules fraud_rules(*(*env)->store, (*env)->keys, (*env)->clock, *fraud_options);
  // Shared only because std::function needs a copyable target; the sweep is its one user.
  std::shared_ptr<notify::Mailer> fraud_mail(std::move(fraud_mailer).value());
  fraud_rules.set_mail_sweep([&env, &portal_options, mailer = std::move(fraud_mail)] {
    auto mailed = portal::mail_fraud_alerts(*(*env)->store, (*env)->keys, (*env)->clock, *mailer,
                                            portal_options.public_url);
    if (!mailed.ok()) log::warn("fraud", "mail.sweep_failed", {{"error", log::error_code(mailed.error())}});
  });
  if (Status s = fraud_rules.start(); !s.ok()) return fail(s.error());
  auto max_forward_hops = store::Settings(*(*env)->store).integer("sip.max_forward_hops");
  if (!max_forward_hops.ok()) return fail(max_forward_hops.error());
  auto max_conferees = store::Settings(*(*env)->store).integer("conference.max_participants");
  if (!max_conferees.ok()) return fail(max_conferees.error());
  auto outbound_keepalive_s = store::Settings(*(*env)->store).integer("sip.outbound_keepalive_seconds");
  if (!outbound_keepalive_s.ok()) return fail(outbound_keepalive_s.error());
  auto node_silent_s = store::Settings(*(*env)->store).integer("sip.node_silent_seconds");
  if (!node_silent_s.ok()) return fail(node_silent_s.error());
  auto music_on_hold = store::Settings(*(*env)->store).text("sip.music_on_hold_file");
  if (!music_on_hold.ok()) return fail(music_on_hold.error());
  // rtpengine reads the file itself: one it cannot open would leave held callers in silence
  // without a word, so the operator hears of it here instead.
  if (!music_on_hold->empty() && ::access(music_on_hold->c_str(), R_OK) != 0) {
    log::warn("sip", "music_on_hold.unreadable", {{"setting", "sip.music_on_hold_file"}});
    music_on_hold->clear();
  }
  sip::SipService sip(io, *(*env)->store, std::move(writer_store).value(), (*env)->keys, (*env)->clock,
                      sip::SipOptions{.host = sip_at->host,
                                      .port = sip_at->port,
                                      .node_id = *node,
                                      .node_silent_us = *node_silent_s * 1'000'000,
                                      .max_clock_skew_us = *max_clock_skew_ms * 1000,
                                      .ring_timeout_us = int64_t{options.ring_timeout_s} * 1'000'000,
                                      .max_forward_hops = static_cast<int>(*max_forward_hops),
                                      .max_conferees = static_cast<size_t>(*max_conferees),
                                      .outbound_keepalive_s = static_cast<int>(*outbound_keepalive_s),
                                      .music_on_hold = std::move(music_on_hold).value(),
                                      .music_dir = (*env)->dir.root + "/music",
                                      .limits = {.max_in_flight = options.max_transactions, .retry_after_s = 5},
                                      .challenge_algorithms = std::move(challenges).value(),
                                      .guard = std::move(guard_limits).value(),
                                      .tcp = sip::TcpLimits{},
                                      .tls = sip_tls,
                                      .tls_host = sip_tls_at ? sip_tls_at->host : std::string(),
                                      .tls_port = sip_tls_at ? sip_tls_at->port : uint16_t{0},
                                      .media_relay = std::move(media_relay),
                                      .voicemail = std::move(voicemail).value()});
  // Marketing SMS and STOP replies travel over the SIP trunk (notify/sms.h); without a sender
  // number there are neither.
  auto sms_sender = store::Settings(*(*env)->store).text("sms.sender_number");
  if (!sms_sender.ok()) return fail(sms_sender.error());
  const auto sms_gateway = notify::sip_sms_gateway(sip);
  notify::StopHandler sms_stops(*(*env)->store, (*env)->keys, (*env)->clock, *sms_gateway, *sms_sender);
  notify::SmsCampaignRunner sms_campaigns(*(*env)->store, (*env)->keys, (*env)->clock, *sms_gateway, *sms_sender);
  if (!sms_sender->empty()) sip.set_sms_inbox(&sms_stops);
  sip.set_rates(&rates);
  sip.set_fraud_guard(&fraud_rules.guard());
  sip.set_wallet(&wallets);
  if (Status s = sip.start(); !s.ok()) return fail(s.error());
  softphone_handoff.set(&sip);
  if (!sms_sender->empty()) {
    sms_stops.start();
    sms_campaigns.start();
  }
  // Email notices of new voicemail, for the members who chose them, through a mailer of their own
  // (a Mailer is for one thread; the portal's is shared under its lock).
  auto notice_mailer = notify::mailer_from_settings(*(*env)->store);
  if (!notice_mailer.ok()) return fail(notice_mailer.error());
  notify::VoicemailNotifier voicemail_notices(*(*env)->store, (*env)->keys, (*env)->clock,
                                              std::move(notice_mailer).value(),
                                              {.portal_url = portal_options.public_url});
  voicemail_notices.start();
  // Retention jobs every five minutes, on one node at a time (the store's job lock); stopped
  // (after the batch in progress) when this scope ends.
  retention::Scheduler retention_jobs(*(*env)->store, (*env)->keys, (*env)->clock, int64_t{300'000'000});
  // A member's copy of her data is on this node's disk for rights.download_days, and not a round longer.
  retention_jobs.add_node_sweep([&env, dir = portal_options.downloads_dir] {
    auto removed = rights::Requests(*(*env)->store, (*env)->keys, (*env)->clock).remove_expired_downloads(dir);
    if (!removed.ok()) log::warn("rights", "downloads.sweep_failed", {{"error", log::error_code(removed.error())}});
    else if (*removed) log::info("rights", "downloads.swept", {{"removed", *removed}});
  });
  retention_jobs.start();
  // Issued invoices are charged to their payer's card on file, failed charges tried again
  // (billing.charge_retry_days) and credit notes on paid invoices refunded, every
  // billing.charge_interval_s (five minutes) on one node at a time; only with a provider. The
  // first round waits a minute at most. The payer's email goes through a mailer of the job's own
  // (a Mailer is for one thread).
  auto charge_mailer = notify::mailer_from_settings(*(*env)->store);
  if (!charge_mailer.ok()) return fail(charge_mailer.error());
  std::optional<billing::InvoiceCharger> charger;
  std::optional<billing::ChargeScheduler> charge_jobs;
  if (payments) {
    charger.emplace(*(*env)->store, (*env)->keys, (*env)->clock, *payments,
                    [m = charge_mailer->get()](const billing::PayerNotice& n) { return m->send({n.to, n.subject, n.text, {}}); });
    auto interval_s = store::Settings(*(*env)->store).integer("billing.charge_interval_s");
    if (!interval_s.ok()) return fail(interval_s.error());
    charge_jobs.emplace(*(*env)->store, *charger, *interval_s * 1'000'000);
    charge_jobs->start(std::min<int64_t>(*interval_s, 60) * 1'000'000);
  }
  std::unique_ptr<http::Server> metrics_server;
  if (metrics_at) {
    add_node_metrics(metrics_registry,
                     {.io = io,
                      .sip = sip,
                      .portal = server,
                      .retention = retention_jobs,
                      .store = *(*env)->store,
                      .keys = (*env)->keys,
                      .clock = (*env)->clock,
                      .relay_state = relay_health.configured ? &relay_health.state : nullptr});
    http::ServerOptions metrics_options;  // one thread and a few connections: Prometheus, now and then
    metrics_options.handler_threads = 1;
    metrics_options.max_connections = 16;
    metrics_server = std::make_unique<http::Server>(io, metrics_router(metrics_registry), metrics_options);
    if (Status s = metrics_server->listen(*metrics_at); !s.ok()) return fail(s.error());
    log::info("serve", "metrics.listening", {{"port", metrics_server->local_port()}});
  }
  log::info("serve", "started",
            {{"http_port", server.local_port()}, {"store", log::Code(store::to_string((*env)->store->backend()))}});

  // SIGHUP: the configuration again (on this thread, the SIP worker's and the listeners').
  Configuration running = config;
  boost::asio::signal_set reloads(io, SIGHUP);
  std::function<void()> await_reload = [&] {
    reloads.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      reload(running, reread, {.portal = server, .sip = sip});
      await_reload();
    });
  };
  await_reload();
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log::info("serve", "stopping", {{"signal", signal}});
    server.stop();
    reloads.cancel();
    if (metrics_server) metrics_server->stop();
    sip.stop();
    io.stop();
  });
  io.run();
  log::info("serve", "stopped");
  return 0;
}

}  // namespace privox::cli
