#include "notify/campaigns.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <map>
#include <set>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "consent/member_view.h"
#include "notify/unsubscribe_token.h"
#include "consent/consent.h"
#include "privacy/audit_record.h"
#include "store/settings.h"

namespace privox::notify {
namespace {

using store::Session;
using store::TxMode;

// A carrier answers a MESSAGE within timer F (32 s); the wait allows for that and a little more.
constexpr auto kSmsOutcomeWait = std::chrono::seconds(40);
constexpr std::string_view kSmsFooter = "\nReply STOP to opt out.";

consent::ConsentPurpose purpose_for(Channel c) {
  return c == Channel::email ? consent::ConsentPurpose::marketing_email : consent::ConsentPurpose::marketing_sms;
}

Status check_copy(Channel channel, const std::string& subject, const std::string& body) {
  if (subject.empty()) return invalid("subject", "a campaign needs a subject");
  if (subject.size() > kMaxSubject || subject.find_first_of("\r\n") != std::string::npos)
    return invalid("subject", fmt::format("must be one line of at most {} bytes", kMaxSubject));
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return invalid("body", "a campaign needs a body");
  if (body.find('\0') != std::string::npos) return invalid("body", "must be text (it holds a NUL byte)");
  const size_t limit = channel == Channel::email ? kMaxEmailBody : kMaxSmsBody;
  if (body.size() > limit)
    return invalid("body", fmt::format("is {} bytes; an {} campaign allows at most {}", body.size(),
                                       to_string(channel), limit));
  return {};
}

Campaign campaign_from(const store::Row& r) {
  Campaign c;
  c.id = r.text(0);
  c.channel = *parse_channel(r.text(1));
  c.subject = r.text(2);
  c.body = r.text(3);
  c.created_at_us = r.i64(4);
  c.send_requested_at_us = r.is_null(5) ? 0 : r.i64(5);
  c.sent_at_us = r.is_null(6) ? 0 : r.i64(6);
  return c;
}

constexpr std::string_view kCampaignColumns =
    "id, channel, subject, body, created_at_us, send_requested_at_us, sent_at_us";

Status add_counts(Session& s, Campaign& c) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT status, count(*) FROM campaign_deliveries WHERE campaign_id = ? "
                                          "GROUP BY status",
                                          {c.id}));
  for (const store::Row& r : rows) {
    if (r.text(0) == "sent") c.sent = r.i64(1);
    if (r.text(0) == "failed") c.failed = r.i64(1);
    if (r.text(0) == "sending") c.sending = r.i64(1);
  }
  return {};
}

}  // namespace

std::string_view to_string(Channel c) { return c == Channel::email ? "email" : "sms"; }

std::optional<Channel> parse_channel(std::string_view text) {
  if (text == "email") return Channel::email;
  if (text == "sms") return Channel::sms;
  return std::nullopt;
}

std::string unsubscribe_url(std::string_view portal_url, std::string_view token) {
  while (!portal_url.empty() && portal_url.back() == '/') portal_url.remove_suffix(1);
  return fmt::format("{}/unsubscribe?token={}", portal_url, token);
}

std::string email_text(const std::string& body, const std::string& url) {
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return fmt::format("{}\n\n-- \nYou get this because you agreed to marketing email from us.\n"
                     "To stop it, open this link (one click, no login):\n{}\n",
                     text, url);
}

Result<std::string> Campaigns::create(Channel channel, const std::string& subject, const std::string& body,
                                      const std::string& actor) {
  PRIVOX_TRY(check_copy(channel, subject, body));
  const int64_t now = clock_.now_us();
  const std::string id = new_id(now);
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("INSERT INTO campaigns (id, channel, subject, body, created_at_us) VALUES (?, ?, ?, ?, ?)",
                      {id, std::string(to_string(channel)), subject, body, now}));
    PRIVOX_TRY(audit_.append(s, {actor, "campaign.create", "", "marketing",
                                 {{"campaign_id", id}, {"channel", to_string(channel)}}}));
    return {};
  }));
  return id;
}

Result<Campaign> Campaigns::get(const std::string& id) {
  Campaign out;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::read, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows,
                  s.query(fmt::format("SELECT {} FROM campaigns WHERE id = ?", kCampaignColumns), {id}));
    if (rows.empty())
      return Error{ErrorCode::not_found, "id", fmt::format("no campaign has id '{}'; `privox campaign list`", id)};
    out = campaign_from(rows[0]);
    return add_counts(s, out);
  }));
  return out;
}

Result<std::vector<Campaign>> Campaigns::list() {
  std::vector<Campaign> out;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::read, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows,
                  s.query(fmt::format("SELECT {} FROM campaigns ORDER BY created_at_us DESC, id DESC", kCampaignColumns)));
    for (const store::Row& r : rows) {
      out.push_back(campaign_from(r));
      PRIVOX_TRY(add_counts(s, out.back()));
    }
    return {};
  }));
  return out;
}

Result<std::vector<Campaigns::Recipient>> Campaigns::audience(Channel channel) {
  const consent::ConsentLedger ledger(store_, keys_, clock_);
  PRIVOX_ASSIGN(const std::vector<std::string> consenting, ledger.subjects_holding(purpose_for(channel)));
  const std::set<std::string> wanted(consenting.begin(), consenting.end());
  std::vector<Recipient> out;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::read, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(std::vector<accounts::MemberRow> members, accounts::active_members(s));
    for (const accounts::MemberRow& m : members)
      if (wanted.count(m.id)) out.push_back({m.id, m.company_id});
    return {};
  }));
  return out;
}

// Claims the delivery to `member_id` for this run. False with *already_sent when an earlier run
// sent it, false alone when consent no longer holds or another run is sending it now.
Result<bool> Campaigns::claim(const Campaign& campaign, const std::string& member_id, bool* already_sent) {
  const std::string& campaign_id = campaign.id;
  *already_sent = false;
  bool claimed = false;
  const consent::ConsentLedger ledger(store_, keys_, clock_);
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    claimed = false;
    *already_sent = false;
    // Consent is checked again here, in the claiming transaction: a withdrawal since the audience
    // was read wins.
    PRIVOX_ASSIGN(const bool holds, ledger.holds(s, member_id, purpose_for(campaign.channel)));
    if (!holds) return {};
    const int64_t now = clock_.now_us();
    PRIVOX_ASSIGN(const int64_t inserted,
                  s.exec("INSERT INTO campaign_deliveries (campaign_id, subject_id, status, updated_at_us) "
                         "VALUES (?, ?, 'sending', ?) ON CONFLICT DO NOTHING",
                         {campaign_id, member_id, now}));
    if (inserted == 1) {
      claimed = true;
      return {};
    }
    PRIVOX_ASSIGN(const int64_t retried,
                  s.exec("UPDATE campaign_deliveries SET status = 'sending', failure_code = NULL, updated_at_us = ? "
                         "WHERE campaign_id = ? AND subject_id = ? AND (status = 'failed' OR "
                         "(status = 'sending' AND updated_at_us < ?))",
                         {now, campaign_id, member_id, now - kStaleClaimUs}));
    claimed = retried == 1;
    if (!claimed) {
      PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT status FROM campaign_deliveries WHERE campaign_id = ? AND "
                                              "subject_id = ?",
                                              {campaign_id, member_id}));
      *already_sent = !rows.empty() && rows[0].text(0) == "sent";
    }
    return {};
  }));
  return claimed;
}

Status Campaigns::settle(const std::string& campaign_id, const std::string& member_id, bool sent,
                         int64_t failure_code) {
  return store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("UPDATE campaign_deliveries SET status = ?, failure_code = ?, updated_at_us = ? "
                      "WHERE campaign_id = ? AND subject_id = ?",
                      {std::string(sent ? "sent" : "failed"),
                       failure_code > 0 ? store::Value(failure_code) : store::null_value(), clock_.now_us(),
                       campaign_id, member_id}));
    return {};
  });
}

Status Campaigns::finish_run(const Campaign& campaign, const SendReport& report, const std::string& actor) {
  return store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("UPDATE campaigns SET sent_at_us = ? WHERE id = ?", {clock_.now_us(), campaign.id}));
    PRIVOX_TRY(audit_.append(s, {actor, "campaign.send", "", "marketing",
                                 {{"campaign_id", campaign.id},
                                  {"channel", to_string(campaign.channel)},
                                  {"recipients", report.recipients},
                                  {"sent", report.sent},
                                  {"failed", report.failed},
                                  {"already_sent", report.already_sent}}}));
    return {};
  });
}

// The member's email or phone, read for purpose marketing (an audited member.show).
Result<std::string> Campaigns::contact(const std::string& member_id, const char* field, const std::string& actor) {
  PRIVOX_ASSIGN(const nlohmann::json shown,
                consent::show_member(store_, keys_, clock_, member_id, privacy::Purpose::marketing, actor));
  const auto fields = shown.find("fields");
  if (fields == shown.end() || !fields->contains(field))
    return make_error(ErrorCode::not_found, fmt::format("member {} has no {} to send to", member_id, field));
  return (*fields)[field].get<std::string>();
}

Result<SendReport> Campaigns::send_email(const std::string& id, Mailer& mailer, const std::string& actor) {
  PRIVOX_ASSIGN(const Campaign campaign, get(id));
  if (campaign.channel != Channel::email)
    return invalid("id", fmt::format("campaign {} is an SMS campaign; `privox serve` sends it", id));
  PRIVOX_ASSIGN(const std::string portal_url, store::Settings(store_).text("portal.public_url"));
  PRIVOX_ASSIGN(const std::vector<Recipient> recipients, audience(Channel::email));
  SendReport report;
  report.recipients = static_cast<int64_t>(recipients.size());
  std::optional<Error> last_error;
  for (const Recipient& r : recipients) {
    bool already_sent = false;
    PRIVOX_ASSIGN(const bool claimed, claim(campaign, r.member_id, &already_sent));
    if (already_sent) ++report.already_sent;
    if (!claimed) continue;
    const std::string url =
        unsubscribe_url(portal_url, make_unsubscribe_token(keys_, r.member_id, consent::ConsentPurpose::marketing_email));
    Result<std::string> to = contact(r.member_id, "email", actor);
    Status sent = to.ok() ? mailer.send(Email{*to, campaign.subject, email_text(campaign.body, url),
                                              {{"List-Unsubscribe", "<" + url + ">"},
                                               {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}}})
                          : Status(to.error());
    PRIVOX_TRY(settle(id, r.member_id, sent.ok(), 0));
    if (sent.ok()) {
      ++report.sent;
    } else {
      ++report.failed;
      last_error = sent.error();
    }
  }
  PRIVOX_TRY(finish_run(campaign, report, actor));
  // Nothing went out and something failed: most likely the relay itself, which the caller must hear.
  if (report.sent == 0 && last_error) return *last_error;
  return report;
}

Result<SendReport> Campaigns::send_sms(const std::string& id, SmsGateway& gateway, const std::string& sender_number,
                                       const std::string& actor) {
  PRIVOX_ASSIGN(const Campaign campaign, get(id));
  if (campaign.channel != Channel::sms)
    return invalid("id", fmt::format("campaign {} is an email campaign; `privox campaign send` sends it", id));
  if (sender_number.empty())
    return invalid("sms.sender_number", "is not set; `privox settings set sms.sender_number +E164`");
  PRIVOX_ASSIGN(const std::vector<Recipient> recipients, audience(Channel::sms));
  SendReport report;
  report.recipients = static_cast<int64_t>(recipients.size());
  for (const Recipient& r : recipients) {
    bool already_sent = false;
    PRIVOX_ASSIGN(const bool claimed, claim(campaign, r.member_id, &already_sent));
    if (already_sent) ++report.already_sent;
    if (!claimed) continue;
    int status = 0;
    Result<std::string> to = contact(r.member_id, "phone", actor);
    if (to.ok()) {
      Sms sms{sender_number, *to, campaign.body + std::string(kSmsFooter), r.company_id, ""};
      // The record goes under the member's line when they have one: traffic records belong to lines.
      PRIVOX_TRY(store::with_transaction(store_, TxMode::read, [&](Session& s) -> Status {
        PRIVOX_ASSIGN(std::vector<std::string> lines, accounts::lines_of_member(s, r.member_id));
        if (!lines.empty()) sms.record_subject_id = lines.front();
        return {};
      }));
      auto outcome = std::make_shared<std::promise<int>>();
      std::future<int> result = outcome->get_future();
      gateway.send(std::move(sms), [outcome](int final_status) { outcome->set_value(final_status); });
      status = result.wait_for(kSmsOutcomeWait) == std::future_status::ready ? result.get() : 408;
    }
    const bool sent = status >= 200 && status < 300;
    PRIVOX_TRY(settle(id, r.member_id, sent, status));
    ++(sent ? report.sent : report.failed);
  }
  PRIVOX_TRY(finish_run(campaign, report, actor));
  return report;
}

Status Campaigns::request_send(const std::string& id, const std::string& actor) {
  PRIVOX_ASSIGN(const Campaign campaign, get(id));
  if (campaign.channel != Channel::sms)
    return invalid("id", fmt::format("campaign {} is an email campaign; it is sent at once, not queued", id));
  PRIVOX_ASSIGN(const std::string sender, store::Settings(store_).text("sms.sender_number"));
  if (sender.empty()) return invalid("sms.sender_number", "is not set; `privox settings set sms.sender_number +E164`");
  return store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("UPDATE campaigns SET send_requested_at_us = ?, sent_at_us = NULL WHERE id = ?",
                      {clock_.now_us(), id}));
    PRIVOX_TRY(audit_.append(s, {actor, "campaign.request_send", "", "marketing", {{"campaign_id", id}}}));
    return {};
  });
}

Result<std::vector<std::string>> Campaigns::pending_sms() {
  std::vector<std::string> out;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::read, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT id FROM campaigns WHERE channel = 'sms' AND send_requested_at_us "
                                            "IS NOT NULL AND sent_at_us IS NULL ORDER BY send_requested_at_us, id"));
    for (const store::Row& r : rows) out.push_back(r.text(0));
    return {};
  }));
  return out;
}

}  // namespace privox::notify
