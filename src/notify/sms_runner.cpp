#include "notify/sms_runner.h"


#include <chrono>

#include "common/log.h"
#include "notify/campaigns.h"

namespace privox::notify {
namespace {

constexpr auto kPollEvery = std::chrono::seconds(1);
constexpr std::string_view kCampaignActor = "serve:sms-campaigns";

}  // namespace

SmsCampaignRunner::SmsCampaignRunner(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                     SmsGateway& gateway, std::string sender_number)
    : store_(store),
      keys_(keys),
      clock_(clock),
      gateway_(gateway),
      sender_number_(std::move(sender_number)),
      worker_({.name = "privox-sms-runs"}) {}

SmsCampaignRunner::~SmsCampaignRunner() { stop(); }

void SmsCampaignRunner::start() {
  const auto pass = [this] {
    if (Result<int> ran = run_once(); !ran.ok()) log::error("notify", "sms_campaigns.failed", {{"error", log::error_code(ran.error())}});
  };
  worker_.start(run_tasks, pass, 0, std::chrono::duration_cast<std::chrono::microseconds>(kPollEvery).count());
}

void SmsCampaignRunner::stop() { worker_.stop(); }

Result<int> SmsCampaignRunner::run_once() {
  PRIVOX_ASSIGN(const std::unique_ptr<store::JobLock> lock, store_.try_lock_job("sms-campaigns"));
  if (!lock) return 0;  // another node is sending
  Campaigns campaigns(store_, keys_, clock_);
  PRIVOX_ASSIGN(const std::vector<std::string> pending, campaigns.pending_sms());
  for (const std::string& id : pending) {
    PRIVOX_ASSIGN(const SendReport report, campaigns.send_sms(id, gateway_, sender_number_, std::string(kCampaignActor)));
    log::info("notify", "sms_campaign.sent",
              {{"campaign", log::Id(id)}, {"recipients", report.recipients}, {"sent", report.sent},
               {"failed", report.failed}, {"sent_before", report.already_sent}});
  }
  return static_cast<int>(pending.size());
}

}  // namespace privox::notify
