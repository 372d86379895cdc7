#pragma once
// Sends the SMS campaigns that `privox campaign send` marked for sending, from inside
// `privox serve` (only a serving node has the SIP trunk). Once a second it looks for such
// campaigns; the job lock "sms-campaigns" keeps it to one node at a time, and the delivery claims
// (notify/campaigns.h) keep any message from going out twice.
//
// Thread-safety: start() and stop() from the owning thread; the work runs on a thread of its own.

#include <functional>
#include <string>

#include "common/clock.h"
#include "common/worker.h"
#include "notify/sms.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::notify {

class SmsCampaignRunner {
 public:
  SmsCampaignRunner(store::Store& store, const privacy::Keyring& keys, const Clock& clock, SmsGateway& gateway,
                    std::string sender_number);
  ~SmsCampaignRunner();

  void start();
  // Lets the campaign being sent finish its current message, then returns.
  void stop();
  // One pass over the pending campaigns on the caller's thread; returns how many it ran.
  Result<int> run_once();

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  SmsGateway& gateway_;
  const std::string sender_number_;

  // Nothing is posted to it: its tick is the once-a-second pass. Last, so that it stops first.
  Worker<Task> worker_;
};

}  // namespace privox::notify
