#pragma once
// Everything SIP in one `privox serve` process, assembled in the order messages flow: the network
// server, the transaction layer, the proxy with its registrar and authenticator, the in-memory
// directory, the location service and the traffic sink, with bindings and traffic records
// written through the node's single batched writer. start() loads the directory, restores
// bindings and closes calls a crash left open (R1) before the first packet is read.
//
// The worker thread never touches the store once it serves: the directory's loader thread
// (sip/directory_loader.h) posts provisioning changes and bans made or lifted anywhere to it, and
// the writer thread seals and writes what it appends (bindings, records, its own bans), posting
// back when each batch is durable.
//
// Thread-safety: constructed, started and stopped on the io_context's thread, which runs it all;
// send_message() may be called from any thread.

#include <utility>  // before Asio, see http/server.h

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/message_channel.h"
#include "media/endpoint.h"
#include "privacy/keyring.h"
#include "sip/digest.h"
#include "sip/proxy.h"
#include "sip/rtpengine.h"
#include "sip/server.h"
#include "sip/source_guard.h"
#include "sip/transaction.h"
#include "store/append_writer.h"
#include "rating/store.h"
#include "store/store.h"
#include "voicemail/store.h"

namespace privox::sip {

// privox's own answering for voicemail (proxy.h's VoicemailDesk): the media endpoint's sockets, the
// prompts, and the limits serve reads from the voicemail.* settings.
struct VoicemailOptions {
  media::EndpointConfig endpoint;
  std::string sounds = "/usr/share/asterisk/sounds/en_US_f_Allison";  // Debian's asterisk-core-sounds-en-wav
  int64_t ring_time_us = 25'000'000;
  int64_t max_message_ms = 180'000;
  int64_t silence_ms = 10'000;
  int64_t min_message_ms = 1'000;
  bool unsolicited_mwi = false;
};

struct SipOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5060;
  std::string node_id;  // names this node's open calls; stable across restarts
  // sip.node_silent_seconds: another node silent this long has its calls ended by this one.
  int64_t node_silent_us = 15'000'000;
  // sip.max_clock_skew_ms: beyond it from the store's clock, this node logs node.clock_skewed.
  int64_t max_clock_skew_us = 1'000'000;
  int64_t ring_timeout_us = 60'000'000;
  int max_forward_hops = 5;  // sip.max_forward_hops (ProxyConfig)
  size_t max_conferees = 10;  // conference.max_participants (Proxy::set_conference)
  int outbound_keepalive_s = 25;  // sip.outbound_keepalive_seconds (RegistrarConfig::flow_timer_s)
  std::string music_on_hold;  // sip.music_on_hold_file, when readable (ProxyConfig)
  // Where the directory loader writes companies' own music on hold for rtpengine (callflow/music.h,
  // DirectoryLoaderOptions::music_dir); serve: <data dir>/music. Empty: none.
  std::string music_dir;
  TransactionLimits limits;
  // What 401 and 407 challenge with, in order. Both algorithms are always accepted.
  std::vector<DigestAlgorithm> challenge_algorithms = {DigestAlgorithm::md5};
  // Per-source defences (sip/source_guard.h; serve reads them from the settings) and TCP's bounds.
  GuardLimits guard;
  TcpLimits tcp;
  // SIP over TLS (sip/tls.h) on tls_host:tls_port as well, with these contexts; empty: none.
  TlsContexts tls;
  std::string tls_host = "127.0.0.1";
  uint16_t tls_port = 5061;
  // rtpengine's ng control address and how to talk to it; absent: media flows between the phones
  // directly.
  std::optional<RtpengineOptions> media_relay;
  // Absent: a call nobody takes fails (480, 486, 408) as a plain proxy's would.
  std::optional<VoicemailOptions> voicemail;
};

// What the service has counted and holds now, copied on the worker thread for the metrics
// (cli/metrics.cpp): the parts' own counters, read rather than counted twice.
struct SipSnapshot {
  ServerStats server;
  size_t tcp_connections = 0;
  TransactionLayer::Stats transactions;
  size_t transactions_working = 0;  // what the overload limit counts
  GuardStats guard;
  size_t guard_sources = 0;
  size_t bindings = 0;       // held, expired ones not yet dropped included
  size_t live_bindings = 0;  // not expired
  size_t calls = 0;          // calls being set up or up
  size_t dialogs = 0;        // answered calls
  Proxy::DelayHistogram post_dial_delay;
  store::AppendWriter::Stats writer;
  int64_t clock_offset_us = 0;  // the store's clock minus this machine's, as last measured
  uint64_t traffic_dropped = 0;  // records the writer refused or that could not be sealed
  bool voicemail = false;
  Proxy::VoicemailTotals voicemail_totals;
  media::EndpointTotals media_totals;  // every ended session, menus handed on included
  std::optional<voicemail::StoreSink::Stats> voicemail_store;
  std::optional<RtpengineClient::Stats> relay;  // with a media relay
};

class SipService final : public ChannelAcceptor {
 public:
  // `store` is read at start, and by the directory's loader thread; `writer_store` is the
  // writer's own connection to the same store.
  SipService(boost::asio::io_context& io, store::Store& store, std::unique_ptr<store::Store> writer_store,
             const privacy::Keyring& keys, const Clock& clock, SipOptions options);
  ~SipService() override;

  // A softphone's WebSocket from the portal (cli/serve.cpp joins them): SIP over it as RFC 7118
  // says, its requests authenticated only as `identity`'s line with `identity`'s password. Any
  // thread; carried out on the worker's. A channel that arrives before start() or after stop() is
  // closed.
  void adopt(std::shared_ptr<MessageChannel> channel, ChannelIdentity identity) override;

  Status start();
  // Stops reading, then makes every queued record and binding durable.
  void stop();
  uint16_t port() const;
  uint16_t tls_port() const;  // 0 without TLS
  // A renewed certificate for the TLS connections accepted or opened from now on (serve's SIGHUP).
  void reload_tls(TlsContexts contexts);

  // Before start(): MESSAGEs from a trusted trunk to the inbox's number go to it, not routed.
  void set_sms_inbox(SmsInbox* inbox);
  // Before start(): answered outbound calls are priced from `rates` as they end, and calls to
  // destinations their company does not allow are refused (rating/); it must outlive the service.
  void set_rates(const rating::RateBook* rates);
  // Before start(), after set_rates(): international rated calls draw on their company's wallet
  // (wallet/book.h): refused at set-up when it cannot pay, debited as they end. Must outlive it.
  void set_wallet(wallet::WalletBook* wallet);
  // Before start(): the live fraud rules count each line's calls and refuse those of a suspended
  // or throttled line (fraud/guard.h); it must outlive the service.
  void set_fraud_guard(fraud::LineGuard* guard);
  // Sends a MESSAGE through the carrier trunk (Proxy::send_message) from any thread; `done` runs
  // on the SIP worker thread with the final status, 503 when the service is stopped.
  void send_message(OutboundMessage message, std::function<void(int status)> done);
  // Waits until every voicemail deposited so far is stored (tests, shutdown).
  Status flush_voicemail();
  // On the worker thread only (post to the io_context from elsewhere).
  SipSnapshot snapshot() const;
  // A new limit on working transactions (SipOptions::limits), on the worker thread only.
  void set_max_transactions(size_t max_in_flight);

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace privox::sip
