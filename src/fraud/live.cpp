// The fraud rules' own thread (live.h).
#include "fraud/live.h"

#include "common/log.h"
#include "store/settings.h"

namespace privox::fraud {

Result<LiveOptions> live_options_from_settings(store::Store& store) {
  LiveOptions options;
  PRIVOX_ASSIGN(const int64_t scan_s, store::Settings(store).integer("fraud.scan_interval_s"));
  options.scan_us = scan_s * 1'000'000;
  return options;
}

LiveRules::LiveRules(store::Store& store, const privacy::Keyring& keys, const Clock& clock, LiveOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      audit_(keys, clock),
      scanner_(store, keys, clock),
      worker_({.name = "privox-fraud"}) {
  // Trips come from the SIP worker: they are queued, never written there.
  guard_ = std::make_unique<LineGuard>(LiveLimits{}, [this](Trip trip) {
    worker_.post([this, trip = std::move(trip)] {
      opened_trip(trip);
      refresh();
      scan_and_mail(false);
    });
  });
}

// The global limits and each overriding company's own, read together (fraud/overrides.h).
Status LiveRules::load_limits() {
  PRIVOX_ASSIGN(const Values global, fraud_values(store_));
  CompanyValues overrides;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(overrides, company_overrides(s));
    return {};
  }));
  CompanyLiveLimits companies;
  for (const auto& [company, own] : overrides) companies.emplace(company, live_limits_from(with_overrides(global, own)));
  guard_->set_limits(live_limits_from(global), std::move(companies));
  return {};
}

Status LiveRules::start() {
  PRIVOX_TRY(load_limits());
  Blocks blocks;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(blocks, blocked_lines(s));
    return {};
  }));
  guard_->replace_blocks(std::move(blocks), clock_.now_us());
  last_scan_us_ = clock_.now_us();
  worker_.start(run_tasks, [this] { round(); }, options_.refresh_us, options_.refresh_us);
  started_ = true;
  return {};
}

void LiveRules::stop() {
  if (started_.exchange(false)) worker_.stop();
}

void LiveRules::opened_trip(const Trip& trip) {
  const Status s = store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    PRIVOX_ASSIGN(const std::optional<Alert> alert, open_alert(tx, audit_, trip.alert, trip.at_us, "fraud:proxy"));
    if (alert)
      log::warn("fraud", "alert.opened",
                {{"alert", log::Id(alert->id)}, {"rule", log::Code(to_string(alert->rule))},
                 {"action", log::Code(to_string(alert->action))}});
    return {};
  });
  if (!s.ok()) log::error("fraud", "alert.open_failed", {{"error", log::error_code(s.error())}});
}

void LiveRules::refresh() {
  if (Status s = load_limits(); !s.ok()) log::warn("fraud", "limits.read_failed", {{"error", log::error_code(s.error())}});
  const int64_t read_at = clock_.now_us();
  Blocks blocks;
  const Status s = store::with_transaction(store_, store::TxMode::read, [&](store::Session& tx) -> Status {
    PRIVOX_ASSIGN(blocks, blocked_lines(tx));
    return {};
  });
  if (!s.ok()) return log::warn("fraud", "blocks.read_failed", {{"error", log::error_code(s.error())}});
  guard_->replace_blocks(std::move(blocks), read_at);
}

void LiveRules::round() {
  refresh();
  const int64_t now = clock_.now_us();
  if (now - last_scan_us_ < options_.scan_us) return;
  last_scan_us_ = now;
  scan_and_mail(true);
}

// One node at a time scans and mails (the store's job lock), so two nodes neither read the same
// traffic twice nor send one alert twice; a node without the lock leaves it to the one with it.
void LiveRules::scan_and_mail(bool scan) {
  auto lock = store_.try_lock_job("fraud_rules");
  if (!lock.ok()) return log::warn("fraud", "lock.failed", {{"error", log::error_code(lock.error())}});
  if (!*lock) return;
  if (scan) {
    auto opened = scanner_.run();
    if (!opened.ok()) log::warn("fraud", "scan.failed", {{"error", log::error_code(opened.error())}});
    else if (!opened->empty()) log::warn("fraud", "scan.alerts", {{"opened", static_cast<int64_t>(opened->size())}});
    if (opened.ok() && !opened->empty()) refresh();
  }
  // Alerts whose email failed are tried again at the scan's pace, not every refresh.
  if (mail_sweep_) mail_sweep_();
}

}  // namespace privox::fraud
