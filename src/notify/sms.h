#pragma once
// SMS out of privox and STOP replies into it (P11). An SmsGateway hands one text message to the
// carrier; sip_sms_gateway() does it as a SIP MESSAGE (RFC 3428) through the carrier trunk. A
// StopHandler receives the MESSAGEs that the trunk addresses to privox's own SMS number
// (setting sms.sender_number): a reply of STOP or one of its synonyms from a member's phone
// withdraws that member's marketing_sms consent at once (method sms_reply, channel sms) and is
// confirmed with exactly one SMS back.
//
// Thread-safety: SmsGateway::send may be called from any thread. A StopHandler takes messages on
// the SIP worker thread and does its store work on a thread of its own, so the worker never waits
// on the store; start() and stop() are called from the thread that owns it.

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "common/clock.h"
#include "common/result.h"
#include "common/worker.h"
#include "privacy/keyring.h"
#include "sip/proxy.h"
#include "store/store.h"

namespace privox::sip {
class SipService;
}

namespace privox::notify {

struct Sms {
  std::string from;  // E.164: the operator's sender number
  std::string to;    // E.164
  std::string body;  // UTF-8
  // The traffic record's owner: the line (extension) it is recorded under, and its company; both
  // empty to keep no traffic record (a message with no line of its own, e.g. a STOP confirmation).
  std::string record_company_id;
  std::string record_subject_id;
};

class SmsGateway {
 public:
  virtual ~SmsGateway() = default;
  // Sends one message; `done` is called exactly once, on some other thread, with the carrier's
  // final SIP status: 2xx accepted, 408 when no answer came, 503 when there is no trunk.
  virtual void send(Sms sms, std::function<void(int status)> done) = 0;
};

// Sends through `sip`'s carrier trunk (the first trunk provisioned).
std::unique_ptr<SmsGateway> sip_sms_gateway(sip::SipService& sip);

// True for STOP, STOP ALL, UNSUBSCRIBE, END, QUIT or CANCEL, ignoring surrounding white space
// and case.
bool is_stop_request(std::string_view body);

// The confirmation sent back for a STOP.
inline constexpr std::string_view kStopConfirmation =
    "You are unsubscribed: you will get no more marketing SMS from us. Service messages continue.";

class StopHandler final : public sip::SmsInbox {
 public:
  // `sender_number` is setting sms.sender_number, read once when serve starts.
  StopHandler(store::Store& store, const privacy::Keyring& keys, const Clock& clock, SmsGateway& gateway,
              std::string sender_number);
  ~StopHandler() override;

  void start();
  // Finishes the messages already queued, then returns. Idempotent.
  void stop();

  std::string_view own_number() const override { return sender_number_; }
  // Queues the message for the handler's thread and returns at once.
  void on_sms(std::string from_number, std::string body) override;

  // Does the work of one message on the caller's thread: for a STOP from a member's phone, the
  // withdrawal of every member with that number and one confirmation. Returns how many members
  // withdrew (0 for other bodies or unknown numbers). For tests and the handler's thread.
  Result<int> handle(const std::string& from_number, const std::string& body);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  SmsGateway& gateway_;
  const std::string sender_number_;

  // The STOPs waiting for the store, as (from number, body); last, so that it stops first.
  Worker<std::pair<std::string, std::string>> worker_;
};

}  // namespace privox::notify
