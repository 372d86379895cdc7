#pragma once
// What serve runs of the fraud rules off the SIP worker: a thread that opens the alerts the
// proxy's LineGuard trips (each audited), re-reads the blocked lines and the live limits (global
// and each company's overrides, fraud/overrides.h) every `refresh_us` (and at once after a local
// trip), runs the Scanner every `scan_us`, and then hands
// unmailed alerts to the mail sweep (filled by serve with the portal's, which knows the office
// managers; fraud/ sits below it). Scanning and mailing run on one node at a time (the store's job
// lock "fraud_rules"); every node counts, trips and refreshes for its own calls.
//
// Thread-safety: start() and stop() from the owning thread; guard() from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/clock.h"
#include "common/worker.h"
#include "fraud/guard.h"
#include "fraud/rules.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::fraud {

struct LiveOptions {
  int64_t refresh_us = 2'000'000;
  int64_t scan_us = 60'000'000;
};
// serve's options: the scan interval from fraud.scan_interval_s (a shorter one lets an end-to-end
// test see the scanner's alerts within seconds), the refresh at its default.
Result<LiveOptions> live_options_from_settings(store::Store& store);

class LiveRules {
 public:
  LiveRules(store::Store& store, const privacy::Keyring& keys, const Clock& clock, LiveOptions options = {});
  ~LiveRules() { stop(); }
  LiveRules(const LiveRules&) = delete;
  LiveRules& operator=(const LiveRules&) = delete;

  // Reads the limits and the blocked lines once (so a line suspended before a restart is refused
  // from the first call), then starts the thread. Errors are store errors.
  Status start();
  void stop();
  // Before start(): runs on this thread after each local trip and each scan, to send the alerts
  // not yet mailed.
  void set_mail_sweep(std::function<void()> sweep) { mail_sweep_ = std::move(sweep); }

  LineGuard& guard() { return *guard_; }

 private:
  Status load_limits();
  void opened_trip(const Trip& trip);
  void refresh();
  void round();
  void scan_and_mail(bool scan);

  store::Store& store_;
  const Clock& clock_;
  const LiveOptions options_;
  privacy::AuditChain audit_;
  Scanner scanner_;
  std::unique_ptr<LineGuard> guard_;
  std::function<void()> mail_sweep_;
  int64_t last_scan_us_ = 0;  // worker thread only
  Worker<Task> worker_;
  std::atomic<bool> started_{false};
};

}  // namespace privox::fraud
