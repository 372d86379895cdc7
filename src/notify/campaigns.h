#pragma once
// Marketing campaigns (P11): the operator writes one message, privox sends it to exactly the
// members whose consent for the channel (marketing_email or marketing_sms, consent/consent.h)
// holds when it is sent and who are not erased. Each recipient's address or number is read through
// accounts/ for purpose marketing (audited) and never stored with the campaign. Every send is
// idempotent and resumable: a delivery row is claimed before a message goes out, so a re-run, a
// second node or a restart after a crash sends only to those not yet sent to (failed ones are
// tried again; one left 'sending' by a crash is tried again after kStaleClaimUs).
//
// Email goes out through a Mailer (notify/mailer.h) at once, each message with a one-click
// unsubscribe (RFC 8058: List-Unsubscribe and List-Unsubscribe-Post headers and the link in the
// body, to {portal.public_url}/unsubscribe?token=...). SMS needs the SIP trunk, which only
// `privox serve` has: request_send() marks an SMS campaign for sending and serve's SmsCampaignRunner
// sends it, each message inviting a STOP reply.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "notify/mailer.h"
#include "notify/sms.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::notify {

enum class Channel { email, sms };
std::string_view to_string(Channel c);
std::optional<Channel> parse_channel(std::string_view text);

inline constexpr int64_t kStaleClaimUs = 15LL * 60 * 1'000'000;
inline constexpr size_t kMaxSubject = 200;
inline constexpr size_t kMaxEmailBody = 100'000;
inline constexpr size_t kMaxSmsBody = 900;  // a MESSAGE over UDP stays well under 1300 bytes (RFC 3428)

struct Campaign {
  std::string id;
  Channel channel = Channel::email;
  std::string subject;
  std::string body;
  int64_t created_at_us = 0;
  int64_t send_requested_at_us = 0;  // 0: never
  int64_t sent_at_us = 0;            // 0: no run has finished
  int64_t sent = 0, failed = 0, sending = 0;  // deliveries by status
};

struct SendReport {
  int64_t recipients = 0;    // members whose consent holds now
  int64_t sent = 0;          // sent by this run
  int64_t failed = 0;        // refused by the relay or carrier in this run
  int64_t already_sent = 0;  // skipped: an earlier run sent to them
};

class Campaigns {
 public:
  Campaigns(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock), audit_(keys, clock) {}

  // Stores a new campaign and returns its id. `invalid_argument` naming "subject" (empty, not one
  // line, longer than kMaxSubject) or "body" (empty, too long for the channel, not UTF-8).
  Result<std::string> create(Channel channel, const std::string& subject, const std::string& body,
                             const std::string& actor);
  // `not_found` naming "id" for an unknown campaign.
  Result<Campaign> get(const std::string& id);
  // Newest first.
  Result<std::vector<Campaign>> list();

  // Sends an email campaign now, one message per recipient not yet sent to. `invalid_argument`
  // on "id" for an SMS campaign. A message the relay refuses is marked failed (a re-run retries
  // it); when nothing could be sent and something failed, the run returns that error (typically
  // `unavailable`: the relay cannot be reached).
  Result<SendReport> send_email(const std::string& id, Mailer& mailer, const std::string& actor);

  // Sends an SMS campaign through `gateway`, waiting for each message's outcome. For the
  // serving node's runner; `invalid_argument` on "id" for an email campaign.
  Result<SendReport> send_sms(const std::string& id, SmsGateway& gateway, const std::string& sender_number,
                              const std::string& actor);

  // Marks an SMS campaign for sending by the serving nodes (again, to retry failures).
  Status request_send(const std::string& id, const std::string& actor);
  // SMS campaigns marked for sending whose run has not finished, oldest first.
  Result<std::vector<std::string>> pending_sms();

 private:
  struct Recipient {
    std::string member_id;
    std::string company_id;
  };
  Result<std::vector<Recipient>> audience(Channel channel);
  Result<bool> claim(const Campaign& campaign, const std::string& member_id, bool* already_sent);
  Status settle(const std::string& campaign_id, const std::string& member_id, bool sent, int64_t failure_code);
  Status finish_run(const Campaign& campaign, const SendReport& report, const std::string& actor);
  Result<std::string> contact(const std::string& member_id, const char* field, const std::string& actor);

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

// The text of one marketing email: the campaign's body and the unsubscribe link.
std::string email_text(const std::string& body, const std::string& unsubscribe_url);
// {portal.public_url}/unsubscribe?token=T
std::string unsubscribe_url(std::string_view portal_url, std::string_view token);

}  // namespace privox::notify
