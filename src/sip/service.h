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
#include "privacy/keyring.h"
#include "sip/digest.h"
#include "sip/proxy.h"
#include "sip/rtpengine.h"
#include "sip/server.h"
#include "sip/source_guard.h"
#include "sip/transaction.h"
#include "store/store.h"

namespace privox::sip {

struct SipOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5060;
  std::string node_id;  // names this node's open calls; stable across restarts
  int64_t ring_timeout_us = 60'000'000;
  TransactionLimits limits;
  // What 401 and 407 challenge with, in order. Both algorithms are always accepted.
  std::vector<DigestAlgorithm> challenge_algorithms = {DigestAlgorithm::md5};
  // Per-source defences (sip/source_guard.h; serve reads them from the settings) and TCP's bounds.
  GuardLimits guard;
  TcpLimits tcp;
  // rtpengine's ng control address and how to talk to it; absent: media flows between the phones
  // directly.
  std::optional<RtpengineOptions> media_relay;
};

class SipService {
 public:
  // `store` is read at start, and by the directory's loader thread; `writer_store` is the
  // writer's own connection to the same store.
  SipService(boost::asio::io_context& io, store::Store& store, std::unique_ptr<store::Store> writer_store,
             const privacy::Keyring& keys, const Clock& clock, SipOptions options);
  ~SipService();

  Status start();
  // Stops reading, then makes every queued record and binding durable.
  void stop();
  uint16_t port() const;

  // Before start(): MESSAGEs from a trusted trunk to the inbox's number go to it, not routed.
  void set_sms_inbox(SmsInbox* inbox);
  // Sends a MESSAGE through the carrier trunk (Proxy::send_message) from any thread; `done` runs
  // on the SIP worker thread with the final status, 503 when the service is stopped.
  void send_message(OutboundMessage message, std::function<void(int status)> done);

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace privox::sip
