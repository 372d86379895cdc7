#include "cli/metrics.h"

#include <utility>  // before Asio, see http/server.h

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <array>
#include <cassert>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "common/log.h"
#include "notify/campaigns.h"
#include "notify/mailer.h"
#include "rights/requests.h"
#include "sip/rtpengine.h"
#include "store/counters.h"

namespace privox::cli {
namespace {

// A request counts as "near" its deadline this long before it.
constexpr int64_t kRightsNearUs = int64_t{7} * 24 * 3600 * 1'000'000;

// An HTTP method's label: the fixed names, anything else "other".
std::string_view method_label(http::bhttp::verb verb) {
  switch (verb) {
    case http::bhttp::verb::get: return "GET";
    case http::bhttp::verb::head: return "HEAD";
    case http::bhttp::verb::post: return "POST";
    case http::bhttp::verb::put: return "PUT";
    case http::bhttp::verb::patch: return "PATCH";
    case http::bhttp::verb::delete_: return "DELETE";
    case http::bhttp::verb::options: return "OPTIONS";
    default: return "other";
  }
}

std::string_view sip_method_label(size_t method) {
  const std::string_view name = sip::to_string(static_cast<sip::Method>(method));
  return name.empty() ? "other" : name;
}

constexpr std::array<std::string_view, 6> kClasses = {"1xx", "2xx", "3xx", "4xx", "5xx", "6xx"};

double seconds(int64_t us) { return static_cast<double>(us) / 1e6; }

// The SIP service's counters, read on its worker; nullopt when the worker did not answer in time.
std::optional<sip::SipSnapshot> sip_snapshot(boost::asio::io_context& io, sip::SipService& sip) {
  auto promise = std::make_shared<std::promise<sip::SipSnapshot>>();
  std::future<sip::SipSnapshot> future = promise->get_future();
  boost::asio::post(io, [promise, &sip] { promise->set_value(sip.snapshot()); });
  if (future.wait_for(std::chrono::seconds(1)) != std::future_status::ready) return std::nullopt;
  return future.get();
}

// The media relay's side of the calls: the calls it carries now, and what it answered to each kind
// of command (no_answer: retransmitted to the end, or the relay known to be down).
void add_relay_samples(metrics::Sampler& out, const sip::RtpengineClient::Stats& relay) {
  out.gauge("privox_media_relay_calls", "Calls whose media the relay (rtpengine) carries now",
            static_cast<double>(relay.calls));
  static constexpr std::array<const char*, sip::RtpengineClient::kCommands> kCommands{
      "offer", "answer", "delete", "query", "ping", "play media", "stop media"};
  static constexpr std::array<const char*, sip::RtpengineClient::kOutcomes> kOutcomes{"ok", "refused", "no_answer"};
  const char* help = "Media relay commands, by command and reply";
  for (size_t c = 0; c < kCommands.size(); ++c)
    for (size_t o = 0; o < kOutcomes.size(); ++o) {
      out.counter("privox_media_relay_commands_total", help, static_cast<double>(relay.replies.at(c).at(o)),
                  {{"command", kCommands.at(c)}, {"reply", kOutcomes.at(o)}});
      help = "";
    }
}

void sample_sip(metrics::Sampler& out, const sip::SipSnapshot& s) {
  for (size_t m = 0; m < sip::kMethodCount; ++m) {
    if (s.server.requests[m])
      out.counter("privox_sip_requests_total", "SIP requests received and handed to the transaction layer, by method",
                  static_cast<double>(s.server.requests[m]), {{"method", sip_method_label(m)}});
    for (size_t c = 0; c < kClasses.size(); ++c)
      if (s.server.responses[m][c])
        out.counter("privox_sip_responses_total", "SIP responses sent, by the CSeq's method and the status class",
                    static_cast<double>(s.server.responses[m][c]),
                    {{"method", sip_method_label(m)}, {"class", kClasses[c]}});
  }
  out.counter("privox_sip_messages_received_total", "SIP datagrams and stream messages read",
              static_cast<double>(s.server.received));
  out.counter("privox_sip_malformed_total", "SIP messages that did not parse", static_cast<double>(s.server.malformed));
  out.counter("privox_sip_send_errors_total", "SIP messages that could not be sent",
              static_cast<double>(s.server.send_errors));
  out.counter("privox_sip_guard_drops_total", "SIP packets dropped before the transaction layer, by reason",
              static_cast<double>(s.guard.banned_drops), {{"reason", "banned"}});
  out.counter("privox_sip_guard_drops_total", "", static_cast<double>(s.guard.rate_drops), {{"reason", "rate"}});
  out.counter("privox_sip_guard_drops_total", "", static_cast<double>(s.guard.scanner_drops), {{"reason", "scanner"}});
  out.counter("privox_sip_guard_drops_total", "", static_cast<double>(s.guard.untracked), {{"reason", "untracked"}});
  out.counter("privox_sip_auth_failures_total", "SIP authentication failures", static_cast<double>(s.guard.failures));
  out.counter("privox_sip_bans_total", "Sources this node banned for authentication failures",
              static_cast<double>(s.guard.bans));
  out.gauge("privox_sip_guard_sources", "Sources the guard tracks now", static_cast<double>(s.guard_sources));
  out.counter("privox_sip_tcp_refused_total", "SIP TCP connections closed at once: over a cap, or banned",
              static_cast<double>(s.server.tcp_refused));
  out.counter("privox_sip_tcp_reopened_total",
              "SIP TCP and TLS connections privox opened to a phone whose own had closed, by outcome "
              "(certificate_changed: a TLS peer without the phone's certificate; no_certificate: not opened, the "
              "TLS phone presented none)",
              static_cast<double>(s.server.tcp_opened - s.server.tcp_open_failures - s.server.tls_pin_mismatches),
              {{"outcome", "connected"}});
  out.counter("privox_sip_tcp_reopened_total", "", static_cast<double>(s.server.tcp_open_failures),
              {{"outcome", "failed"}});
  out.counter("privox_sip_tcp_reopened_total", "", static_cast<double>(s.server.tls_pin_mismatches),
              {{"outcome", "certificate_changed"}});
  out.counter("privox_sip_tcp_reopened_total", "", static_cast<double>(s.server.tls_unpinned),
              {{"outcome", "no_certificate"}});
  out.counter("privox_sip_tls_handshakes_total", "SIP over TLS handshakes, by outcome (resumed: a session resumed)",
              static_cast<double>(s.server.tls_handshakes - s.server.tls_resumed), {{"outcome", "new"}});
  out.counter("privox_sip_tls_handshakes_total", "", static_cast<double>(s.server.tls_resumed), {{"outcome", "resumed"}});
  out.counter("privox_sip_tls_handshakes_total", "", static_cast<double>(s.server.tls_handshake_failures),
              {{"outcome", "failed"}});
  out.gauge("privox_sip_tcp_connections", "SIP connections open (TCP, TLS and the softphones' WebSockets)",
            static_cast<double>(s.tcp_connections));
  out.counter("privox_sip_stun_keepalives_total", "STUN Binding requests (SIP Outbound keep-alives) answered",
              static_cast<double>(s.server.stun_answered));
  out.gauge("privox_sip_transactions_working", "SIP transactions working (what the overload limit counts)",
            static_cast<double>(s.transactions_working));
  out.counter("privox_sip_overload_503_total", "SIP requests shed with 503 past the transaction limit",
              static_cast<double>(s.transactions.overloaded));
  out.counter("privox_sip_transaction_timeouts_total", "SIP transactions that timed out",
              static_cast<double>(s.transactions.timeouts));
  out.counter("privox_sip_retransmissions_total", "SIP retransmissions, by direction",
              static_cast<double>(s.transactions.retransmissions_sent), {{"direction", "sent"}});
  out.counter("privox_sip_retransmissions_total", "", static_cast<double>(s.transactions.retransmissions_absorbed),
              {{"direction", "absorbed"}});
  out.gauge("privox_sip_bindings", "Registered contacts held, by whether they are live",
            static_cast<double>(s.live_bindings), {{"state", "live"}});
  out.gauge("privox_sip_bindings", "", static_cast<double>(s.bindings - s.live_bindings), {{"state", "expired"}});
  out.gauge("privox_sip_calls_up", "Answered calls on this node (dialogs)", static_cast<double>(s.dialogs));
  std::vector<double> delay_bounds;
  delay_bounds.reserve(sip::Proxy::DelayHistogram::kBoundsUs.size());
  for (const int64_t b : sip::Proxy::DelayHistogram::kBoundsUs) delay_bounds.push_back(seconds(b));
  out.histogram("privox_sip_post_dial_delay_seconds", "From a new call's INVITE to the first ringing or final answer",
                delay_bounds, std::vector<uint64_t>(s.post_dial_delay.calls.begin(), s.post_dial_delay.calls.end()),
                seconds(s.post_dial_delay.sum_us));
  out.gauge("privox_sip_calls_tracked", "Calls the proxy holds state for: setting up, up, or just ended",
            static_cast<double>(s.calls));

  out.gauge("privox_node_clock_offset_seconds",
            "The store's clock minus this node's, as last measured (every 10 s; 0 on SQLite)",
            seconds(s.clock_offset_us));
  const store::AppendWriter::Stats& w = s.writer;
  out.gauge("privox_writer_queue_rows", "Rows waiting in the batched writer (traffic records, bindings, bans)",
            static_cast<double>(w.queued));
  out.counter("privox_writer_rows_total", "Rows the batched writer finished, by outcome",
              static_cast<double>(w.rows_committed), {{"outcome", "committed"}});
  out.counter("privox_writer_rows_total", "", static_cast<double>(w.rows_failed), {{"outcome", "failed"}});
  out.counter("privox_writer_batches_total", "Batches the writer committed", static_cast<double>(w.batches_committed));
  std::vector<double> bounds;
  bounds.reserve(store::AppendWriter::Stats::kLatencyBoundsUs.size());
  for (const int64_t b : store::AppendWriter::Stats::kLatencyBoundsUs) bounds.push_back(seconds(b));
  out.histogram("privox_writer_append_to_durable_seconds", "Time from a row's append to the commit that made it durable",
                bounds, std::vector<uint64_t>(w.latency_rows.begin(), w.latency_rows.end()), seconds(w.latency_sum_us));
  out.counter("privox_traffic_records_dropped_total", "Traffic records the writer refused or that could not be sealed",
              static_cast<double>(s.traffic_dropped));

  if (s.voicemail) {
    // The endpoint's own totals: every session it ended, menus whose caller was handed on included.
    const media::EndpointTotals& m = s.media_totals;
    out.counter("privox_media_sessions_total", "Media endpoint sessions ended (voicemail, menus, conferences)",
                static_cast<double>(m.sessions));
    out.counter("privox_media_refused_total", "RTP datagrams the media endpoint refused (another sender, or not RTP)",
                static_cast<double>(m.refused));
    out.counter("privox_media_packets_total", "RTP packets of ended media endpoint sessions, by direction",
                static_cast<double>(m.packets_in), {{"direction", "in"}});
    out.counter("privox_media_packets_total", "", static_cast<double>(m.packets_out), {{"direction", "out"}});
    out.counter("privox_media_late_or_lost_total", "Callers' RTP frames the media endpoint concealed (late or lost)",
                static_cast<double>(m.late_or_lost));
    out.counter("privox_media_sent_late_total", "RTP frames the media endpoint sent more than 20 ms after they were due",
                static_cast<double>(m.sent_late));
    out.counter("privox_media_unsent_total", "RTP frames the media endpoint's socket refused to send",
                static_cast<double>(m.unsent));
    out.counter("privox_voicemail_recorded_total", "Voicemail messages recorded",
                static_cast<double>(s.voicemail_totals.recorded));
  }
  if (s.voicemail_store) {
    const voicemail::StoreSink::Stats& v = *s.voicemail_store;
    const char* help = "Voicemail messages the store sink finished, by outcome";
    out.counter("privox_voicemail_stored_total", help, static_cast<double>(v.stored), {{"outcome", "stored"}});
    out.counter("privox_voicemail_stored_total", "", static_cast<double>(v.box_full), {{"outcome", "box_full"}});
    out.counter("privox_voicemail_stored_total", "", static_cast<double>(v.erased), {{"outcome", "erased"}});
    out.counter("privox_voicemail_stored_total", "", static_cast<double>(v.failed), {{"outcome", "failed"}});
    out.counter("privox_voicemail_stored_total", "", static_cast<double>(v.dropped), {{"outcome", "dropped"}});
  }
  if (s.relay) add_relay_samples(out, *s.relay);
}


// Samples kept to be replayed: the store-wide reads run at most every kStoreWideEvery, however often
// Prometheus scrapes (every node reads the same rows, and a scrape must cost the node next to nothing).
class RecordingSampler final : public metrics::Sampler {
 public:
  void counter(std::string_view name, std::string_view help, double value,
               std::initializer_list<metrics::Label> labels) override {
    add(false, name, help, value, labels);
  }
  void gauge(std::string_view name, std::string_view help, double value,
             std::initializer_list<metrics::Label> labels) override {
    add(true, name, help, value, labels);
  }
  void histogram(std::string_view, std::string_view, const std::vector<double>&, const std::vector<uint64_t>&, double,
                 std::initializer_list<metrics::Label>) override {
    assert(false && "the store-wide part records no histogram");
  }
  void replay(metrics::Sampler& out) const {
    for (const Sample& s : samples_) {
      const auto emit = [&](std::initializer_list<metrics::Label> labels) {
        if (s.gauge) out.gauge(s.name, s.help, s.value, labels);
        else out.counter(s.name, s.help, s.value, labels);
      };
      const auto& l = s.labels;
      if (l.empty()) emit({});
      else if (l.size() == 1) emit({{l[0].first, l[0].second}});
      else emit({{l[0].first, l[0].second}, {l[1].first, l[1].second}});
    }
  }
  void clear() { samples_.clear(); }

 private:
  struct Sample {
    bool gauge;
    std::string name, help;
    double value;
    std::vector<std::pair<std::string, std::string>> labels;  // two at most
  };
  void add(bool gauge, std::string_view name, std::string_view help, double value,
           std::initializer_list<metrics::Label> labels) {
    assert(labels.size() <= 2);
    Sample s{gauge, std::string(name), std::string(help), value, {}};
    for (const metrics::Label& l : labels) s.labels.emplace_back(l.name, l.value);
    samples_.push_back(std::move(s));
  }
  std::vector<Sample> samples_;
};

constexpr auto kStoreWideEvery = std::chrono::seconds(15);

// The store-wide reads: the campaigns' deliveries and the rights queue.
void sample_store_wide(metrics::Sampler& out, const NodeMetricsParts& parts) {
  // Campaign deliveries, store-wide, by channel and status (email failures are the SMTP relay's).
  auto campaigns = notify::Campaigns(parts.store, parts.keys, parts.clock).list();
  out.gauge("privox_campaigns_read_ok", "Whether this scrape could read the campaigns", campaigns.ok() ? 1 : 0);
  if (campaigns.ok()) {
    std::array<std::array<int64_t, 3>, 2> by{};  // [email, sms][sent, failed, sending]
    for (const notify::Campaign& c : *campaigns) {
      auto& row = by[c.channel == notify::Channel::sms ? 1 : 0];
      row[0] += c.sent;
      row[1] += c.failed;
      row[2] += c.sending;
    }
    constexpr std::array<std::string_view, 2> kChannels = {"email", "sms"};
    constexpr std::array<std::string_view, 3> kStatuses = {"sent", "failed", "sending"};
    for (size_t ch = 0; ch < kChannels.size(); ++ch)
      for (size_t st = 0; st < kStatuses.size(); ++st)
        out.gauge("privox_campaign_deliveries", "Marketing campaign deliveries, store-wide, by channel and status",
                  static_cast<double>(by[ch][st]), {{"channel", kChannels[ch]}, {"status", kStatuses[st]}});
  }

  // The rights queue: open requests by state, and how many are near or past their deadline.
  auto open = rights::Requests(parts.store, parts.keys, parts.clock).list();
  out.gauge("privox_rights_queue_read_ok", "Whether this scrape could read the rights requests' queue",
            open.ok() ? 1 : 0);
  if (open.ok()) {
    const int64_t now = parts.clock.now_us();
    std::array<int64_t, 6> by_state{};
    int64_t near = 0, overdue = 0;
    for (const rights::Request& r : *open) {
      ++by_state[static_cast<size_t>(r.state)];
      if (r.overdue(now)) ++overdue;
      else if (r.due_at_us - now < kRightsNearUs) ++near;
    }
    for (const rights::RequestState st : {rights::RequestState::received, rights::RequestState::awaiting_identity,
                                          rights::RequestState::awaiting_fee, rights::RequestState::in_progress})
      out.gauge("privox_rights_requests_open", "Open rights requests, by state",
                static_cast<double>(by_state[static_cast<size_t>(st)]), {{"state", rights::to_string(st)}});
    out.gauge("privox_rights_requests_deadline", "Open rights requests near (within 7 days) or past their deadline",
              static_cast<double>(near), {{"when", "near"}});
    out.gauge("privox_rights_requests_deadline", "", static_cast<double>(overdue), {{"when", "overdue"}});
  } else {
    log::warn("metrics", "rights_queue.unreadable", {{"error", log::error_code(open.error())}});
  }
}

}  // namespace

void count_http_requests(metrics::Registry& registry, http::Router& router, std::string_view server) {
  metrics::Counters counters =
      registry.counters("privox_http_requests_total", "HTTP requests by server, method, route template and status");
  router.set_observer([counters, server](http::bhttp::verb method, std::string_view route, unsigned status) mutable {
    const std::string code = std::to_string(status);
    counters.add({{"server", server}, {"method", method_label(method)}, {"route", route}, {"status", code}});
  });
}

void add_node_metrics(metrics::Registry& registry, const NodeMetricsParts& parts) {
  // Shared by the source's copies (a std::function is copyable); the registry holds the one in use.
  struct StoreWide {
    std::mutex mutex;
    std::chrono::steady_clock::time_point read_at;
    bool read = false;
    RecordingSampler samples;
  };
  auto store_wide = std::make_shared<StoreWide>();
  registry.add_source([parts, store_wide](metrics::Sampler& out) {
    std::lock_guard lock(store_wide->mutex);
    const auto now = std::chrono::steady_clock::now();
    if (!store_wide->read || now - store_wide->read_at >= kStoreWideEvery) {
      store_wide->samples.clear();
      sample_store_wide(store_wide->samples, parts);
      store_wide->read = true;
      store_wide->read_at = now;
    }
    store_wide->samples.replay(out);
  });
  registry.add_source([parts](metrics::Sampler& out) {
    out.gauge("privox_up", "1 while the node serves", 1);
    const std::optional<sip::SipSnapshot> sip = sip_snapshot(parts.io, parts.sip);
    out.gauge("privox_sip_snapshot_ok", "Whether the SIP worker answered this scrape in time", sip ? 1 : 0);
    if (sip) sample_sip(out, *sip);

    const http::ServerCounters h = parts.portal.counters();
    out.gauge("privox_http_connections", "Portal HTTP connections open", static_cast<double>(h.open));
    out.counter("privox_http_connections_refused_total", "Portal HTTP connections refused or displaced, by reason",
                static_cast<double>(h.refused_per_client), {{"reason", "per_client"}});
    out.counter("privox_http_connections_refused_total", "", static_cast<double>(h.refused_full), {{"reason", "full"}});
    out.counter("privox_http_connections_refused_total", "", static_cast<double>(h.displaced), {{"reason", "displaced"}});

    const store::StoreCounters& trouble = store::counters();
    out.counter("privox_store_transaction_retries_total", "Store transactions retried after the store was unavailable",
                static_cast<double>(trouble.retries.load(std::memory_order_relaxed)));
    out.counter("privox_store_unavailable_total", "Store transactions given up: the store stayed unavailable",
                static_cast<double>(trouble.unavailable.load(std::memory_order_relaxed)));
    out.counter("privox_store_connections_opened_total", "PostgreSQL connections opened (pool misses and reconnects)",
                static_cast<double>(trouble.connections_opened.load(std::memory_order_relaxed)));
    out.counter("privox_store_connections_lost_total", "PostgreSQL links found broken",
                static_cast<double>(trouble.connections_lost.load(std::memory_order_relaxed)));
    out.counter("privox_store_failovers_total",
                "New PostgreSQL links that reached another host of the store URL than the link before",
                static_cast<double>(trouble.failovers.load(std::memory_order_relaxed)));

    // Every message handed to the SMTP relay by this process: links, rights, notices, campaigns.
    const notify::MailCounters& mail = notify::mail_counters();
    out.counter("privox_smtp_sends_total", "Messages handed to the SMTP relay, by result",
                static_cast<double>(mail.sent.load(std::memory_order_relaxed)), {{"result", "sent"}});
    out.counter("privox_smtp_sends_total", "", static_cast<double>(mail.refused.load(std::memory_order_relaxed)),
                {{"result", "refused"}});
    out.counter("privox_smtp_sends_total", "", static_cast<double>(mail.unreachable.load(std::memory_order_relaxed)),
                {{"result", "unreachable"}});

    out.counter("privox_retention_rounds_total", "Retention rounds, by outcome",
                static_cast<double>(parts.retention.completed_rounds()), {{"outcome", "completed"}});
    out.counter("privox_retention_rounds_total", "", static_cast<double>(parts.retention.failed_rounds()),
                {{"outcome", "failed"}});
    out.counter("privox_retention_rounds_total", "", static_cast<double>(parts.retention.skipped_rounds()),
                {{"outcome", "skipped"}});
    out.counter("privox_retention_round_seconds_total", "Time spent in retention rounds this node ran",
                seconds(parts.retention.rounds_us()));
    out.gauge("privox_retention_last_round_seconds", "How long the last retention round this node ran took",
              seconds(parts.retention.last_round_us()));

    if (parts.relay_state) {
      const auto state = static_cast<sip::RelayState>(parts.relay_state->load(std::memory_order_relaxed));
      for (const sip::RelayState st : {sip::RelayState::unknown, sip::RelayState::up, sip::RelayState::down})
        out.gauge("privox_media_relay_state", "The media relay (rtpengine): 1 on its current state",
                  st == state ? 1 : 0, {{"state", sip::to_string(st)}});
    }

  });
}

http::Router metrics_router(const metrics::Registry& registry) {
  http::Router router;
  router.add(http::bhttp::verb::get, "/metrics", [&registry](const http::Exchange&) {
    http::Response res{http::bhttp::status::ok, 11};
    res.set(http::bhttp::field::content_type, std::string(metrics::kContentType));
    res.set(http::bhttp::field::cache_control, "no-store");
    res.body() = registry.scrape();
    return res;
  });
  return router;
}

}  // namespace privox::cli
