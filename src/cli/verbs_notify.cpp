// `privox campaign create|send|list` and `privox mail test`: marketing campaigns (P11) and the
// mail relay check. An email campaign is sent by `campaign send` itself, through the relay of
// setting mail.smtp_url; an SMS campaign needs the SIP trunk, so `campaign send` marks it and the
// running `privox serve` sends it (notify/sms_runner.h).

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/verbs.h"
#include "common/clock.h"
#include "notify/campaigns.h"
#include "notify/mailer.h"

namespace privox::cli {
namespace {

struct CampaignOptions {
  std::string channel;
  std::string subject;
  std::string body_file;
  std::string id;
  std::string format = "text";
  std::string to;
};

std::string time_or_dash(int64_t us) { return us ? format_utc(us) : "-"; }

int run_create(const DataDir& where, const CampaignOptions& o) {
  std::ifstream in(o.body_file, std::ios::binary);
  if (!in) return fail(invalid("body-file", fmt::format("cannot read '{}'", o.body_file)));
  const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  notify::Campaigns campaigns(*(*env)->store, (*env)->keys, (*env)->clock);
  auto id = campaigns.create(*notify::parse_channel(o.channel), o.subject, body, cli_actor());
  if (!id.ok()) return fail(id.error());
  std::cout << *id << "\n";
  return 0;
}

int run_send(const DataDir& where, const CampaignOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  notify::Campaigns campaigns(*(*env)->store, (*env)->keys, (*env)->clock);
  auto campaign = campaigns.get(o.id);
  if (!campaign.ok()) return fail(campaign.error());
  if (campaign->channel == notify::Channel::sms) {
    if (Status s = campaigns.request_send(o.id, cli_actor()); !s.ok()) return fail(s.error());
    std::cout << "campaign " << o.id << " queued: the running `privox serve` sends it over the SIP trunk\n";
    return 0;
  }
  auto mailer = notify::mailer_from_settings(*(*env)->store);
  if (!mailer.ok()) return fail(mailer.error());
  auto report = campaigns.send_email(o.id, **mailer, cli_actor());
  if (!report.ok()) return fail(report.error());
  std::cout << fmt::format("campaign {}: {} recipients, {} sent now, {} failed, {} sent before\n", o.id,
                           report->recipients, report->sent, report->failed, report->already_sent);
  return report->failed > 0 ? 1 : 0;
}

int run_list(const DataDir& where, const CampaignOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  notify::Campaigns campaigns(*(*env)->store, (*env)->keys, (*env)->clock);
  auto all = campaigns.list();
  if (!all.ok()) return fail(all.error());
  if (o.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const notify::Campaign& c : *all)
      out.push_back({{"id", c.id}, {"channel", notify::to_string(c.channel)}, {"subject", c.subject},
                     {"created_at", format_utc(c.created_at_us)},
                     {"send_requested_at", c.send_requested_at_us ? nlohmann::json(format_utc(c.send_requested_at_us)) : nullptr},
                     {"sent_at", c.sent_at_us ? nlohmann::json(format_utc(c.sent_at_us)) : nullptr},
                     {"deliveries", {{"sent", c.sent}, {"failed", c.failed}, {"sending", c.sending}}}});
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "id\tchannel\tcreated\tsent_at\tsent\tfailed\tsubject\n";
  for (const notify::Campaign& c : *all)
    std::cout << fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\n", c.id, notify::to_string(c.channel),
                             format_utc(c.created_at_us), time_or_dash(c.sent_at_us), c.sent, c.failed, c.subject);
  return 0;
}

int run_mail_test(const DataDir& where, const CampaignOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto mailer = notify::mailer_from_settings(*(*env)->store);
  if (!mailer.ok()) return fail(mailer.error());
  const Status sent = (*mailer)->send(
      {o.to, "privox mail test", "This message checks that privox can send email through its relay.\n", {}});
  if (!sent.ok()) return fail(sent.error());
  std::cout << "the relay accepted a test message to " << o.to << "\n";
  return 0;
}

}  // namespace

void add_notify_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto o = std::make_shared<CampaignOptions>();
  auto* campaign = app.add_subcommand("campaign", "Marketing campaigns, sent only to members who consented")
                       ->require_subcommand(1);
  auto* create = campaign->add_subcommand("create", "Write a campaign; prints its id");
  add_data_dir(create, where);
  create->add_option("--channel", o->channel, "email or sms")->required()->check(CLI::IsMember({"email", "sms"}));
  create->add_option("--subject", o->subject, "the email's subject (for SMS: a name for the campaign)")->required();
  create->add_option("--body-file", o->body_file, "file holding the message text (UTF-8)")->required();
  verbs.add(create, [&where, o] { return run_create(where, *o); });

  auto* send = campaign->add_subcommand(
      "send", "Send an email campaign now to consenting members not yet sent to; queue an SMS campaign for serve");
  add_data_dir(send, where);
  send->add_option("--id", o->id, "the campaign's id")->required();
  verbs.add(send, [&where, o] { return run_send(where, *o); });

  auto* list = campaign->add_subcommand("list", "List campaigns, newest first, with their delivery counts");
  add_data_dir(list, where);
  list->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  verbs.add(list, [&where, o] { return run_list(where, *o); });

  auto* mail = app.add_subcommand("mail", "Email")->require_subcommand(1);
  auto* test = mail->add_subcommand("test", "Send a test message through the relay of setting mail.smtp_url");
  add_data_dir(test, where);
  test->add_option("--to", o->to, "the address to send it to")->required();
  verbs.add(test, [&where, o] { return run_mail_test(where, *o); });
}

}  // namespace privox::cli
