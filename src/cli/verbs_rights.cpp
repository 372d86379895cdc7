// `privox request ...`: the operator's side of rights requests (rights/requests.h): open, the
// queue, the identity check, the fee, extensions, refusals, the access export and completion.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "accounts/accounts.h"
#include "cli/verbs.h"
#include "notify/mailer.h"
#include "privacy/datamap.h"
#include "rights/requests.h"

namespace privox::cli {
namespace {

struct RequestOptions {
  std::string id, member, kind, code, waive, paid, reason, out, received;
  std::vector<std::string> set;
  int months = 0;
  bool json = false, all = false;
};

// Errors about a correction name a member field; on the command line that is --set.
int fail_request(Error e, const accounts::FieldValues& corrections = {}) {
  if (!e.field.empty() && (corrections.contains(e.field) || (!corrections.empty() && accounts::member_field(e.field)))) {
    e.message = fmt::format("{}: {}", e.field, e.message);
    e.field = "set";
  } else if (e.field == "legal_hold") {
    e.message = "legal hold: " + e.message;
    e.field.clear();
  }
  return fail(e);
}

// Runs `body` with an open environment, turning its errors into the CLI's.
template <typename Body>
int with_requests(const DataDir& where, Body body) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  rights::Requests requests(*(*env)->store, (*env)->keys, (*env)->clock);
  return body(**env, requests);
}

Result<std::unique_ptr<notify::Mailer>> mailer(Environment& env) { return notify::mailer_from_settings(*env.store); }

void print(const rights::Request& r, const Environment& env) { std::cout << r.to_json(env.clock.now_us()).dump(2) << "\n"; }

int run_open(const DataDir& where, const RequestOptions& o) {
  const auto kind = rights::parse_request_kind(o.kind);
  if (!kind) return fail(invalid("kind", fmt::format("'{}' is not a kind; use access, rectify or erase", o.kind)));
  rights::NewRequest input{o.member, *kind, {}, "cli", std::nullopt};
  if (!o.received.empty()) {
    input.received_at_us = parse_time(o.received);
    if (!input.received_at_us)
      return fail(invalid("received", fmt::format("'{}' is not a date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ)", o.received)));
  }
  for (const std::string& pair : o.set) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail(invalid("set", fmt::format("'{}' is not FIELD=VALUE", pair)));
    input.corrections[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return with_requests(where, [&](Environment& env, rights::Requests& requests) {
    auto r = requests.open(input, cli_actor());
    if (!r.ok()) {
      Error e = r.error();
      if (e.field == "received_at") e.field = "received";
      return fail_request(e, input.corrections);
    }
    std::cout << r->id << "\n";
    std::cerr << fmt::format("request {} ({}) received; due {}\n", r->id, rights::to_string(r->kind),
                             format_date(utc_date(r->due_at_us)));
    (void)env;
    return 0;
  });
}

int run_list(const DataDir& where, const RequestOptions& o) {
  return with_requests(where, [&](Environment& env, rights::Requests& requests) {
    auto queue = requests.list({o.all, ""});
    if (!queue.ok()) return fail(queue.error());
    const int64_t now = env.clock.now_us();
    if (o.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const rights::Request& r : *queue) out.push_back(r.to_json(now));
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    std::cout << fmt::format("{:<36}  {:<7}  {:<17}  {:<10}  {:<7}  {}\n", "ID", "KIND", "STATE", "DUE", "OVERDUE",
                             "MEMBER");
    for (const rights::Request& r : *queue)
      std::cout << fmt::format("{:<36}  {:<7}  {:<17}  {:<10}  {:<7}  {}\n", r.id, rights::to_string(r.kind),
                               rights::to_string(r.state), format_date(utc_date(r.due_at_us)),
                               r.overdue(now) ? "yes" : "", r.member_id);
    return 0;
  });
}

// Verbs that take --id and print the request as it stands afterwards.
template <typename Step>
int run_step(const DataDir& where, Step step) {
  return with_requests(where, [&](Environment& env, rights::Requests& requests) {
    Result<rights::Request> r = step(env, requests);
    if (!r.ok()) return fail_request(r.error());
    print(*r, env);
    return 0;
  });
}

// The status mail a change owes the member (rights/requests.h), as the portal sends it. The change
// stands without it: a relay that is down is reported on stderr, with the request's id only.
void mail_status(Environment& env, rights::Requests& requests, const rights::Request& r, rights::StatusMail which) {
  auto m = mailer(env);
  const Status sent = m.ok() ? requests.mail_status(r, which, **m, cli_actor()) : Status(m.error());
  if (!sent.ok())
    std::cerr << fmt::format("warning: the member was not emailed about request {}: {}\n", r.id, sent.error().describe());
}

// The mails a verified identity or a settled fee owes: verified, then the fee if one is now due.
Result<rights::Request> mail_changes(Environment& env, rights::Requests& requests, Result<rights::Request> r,
                                     std::initializer_list<rights::StatusMail> which) {
  if (!r.ok()) return r;
  for (rights::StatusMail mail : which) {
    if (mail == rights::StatusMail::fee_due && r->state != rights::RequestState::awaiting_fee) continue;
    mail_status(env, requests, *r, mail);
  }
  return r;
}

int run_fee(const DataDir& where, const RequestOptions& o) {
  if (o.waive.empty() == o.paid.empty())
    return fail(invalid(o.waive.empty() ? "waive" : "paid", "give exactly one of --waive REASON or --paid REFERENCE"));
  return run_step(where, [&](Environment& env, rights::Requests& requests) {
    if (!o.waive.empty()) return requests.waive_fee(o.id, o.waive, cli_actor());
    return mail_changes(env, requests, requests.record_payment(o.id, o.paid, cli_actor()), {rights::StatusMail::paid});
  });
}

// Steps that email the member.
template <typename Step>
int run_mailing_step(const DataDir& where, Step step) {
  return run_step(where, [&](Environment& env, rights::Requests& requests) -> Result<rights::Request> {
    PRIVOX_ASSIGN(std::unique_ptr<notify::Mailer> m, mailer(env));
    return step(requests, *m);
  });
}

int run_export(const DataDir& where, const RequestOptions& o) {
  return with_requests(where, [&](Environment&, rights::Requests& requests) {
    auto summary = requests.export_access(o.id, o.out, cli_actor());
    if (!summary.ok()) return fail_request(summary.error());
    std::cout << nlohmann::json{{"request_id", summary->request_id}, {"out", o.out}, {"files", summary->files},
                                {"traffic_records", summary->traffic_records}, {"bytes", summary->bytes}}
                     .dump(2)
              << "\n";
    return 0;
  });
}

CLI::App* verb(CLI::App* group, DataDir& where, const char* name, const char* help, std::string* id) {
  auto* v = group->add_subcommand(name, help);
  add_data_dir(v, where);
  if (id) v->add_option("--id", *id, "the request's id")->required();
  return v;
}

}  // namespace

void add_rights_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* group = app.add_subcommand("request", "Rights requests: access, rectification, erasure (P13)")
                    ->require_subcommand(1);
  auto o = std::make_shared<RequestOptions>();

  auto* open = verb(group, where, "open", "Record a rights request; prints its id", nullptr);
  open->add_option("--member", o->member, "the member who asks")->required();
  open->add_option("--kind", o->kind, "access, rectify or erase")->required();
  open->add_option("--set", o->set, "rectify: FIELD=VALUE, a corrected member field (repeatable)");
  open->add_option("--received", o->received,
                   "when the request arrived, if earlier than now (a letter or email entered later): YYYY-MM-DD or "
                   "YYYY-MM-DDTHH:MM:SSZ; its month runs from then");
  verbs.add(open, [&where, o] { return run_open(where, *o); });

  auto* list = verb(group, where, "list", "The queue: open requests with due dates, overdue first", nullptr);
  list->add_flag("--json", o->json, "machine-readable output");
  list->add_flag("--all", o->all, "completed and refused requests too");
  verbs.add(list, [&where, o] { return run_list(where, *o); });

  auto* show = verb(group, where, "show", "Show one request", &o->id);
  verbs.add(show, [&where, o] {
    return run_step(where, [&](Environment&, rights::Requests& r) { return r.get(o->id); });
  });

  auto* send = verb(group, where, "send-code", "Email a one-time identity code to the member's address on file",
                    &o->id);
  verbs.add(send, [&where, o] {
    return run_mailing_step(where, [&](rights::Requests& r, notify::Mailer& m) {
      return r.send_code(o->id, m, cli_actor());
    });
  });

  auto* verify = verb(group, where, "verify", "Check the identity code the member gives", &o->id);
  verify->add_option("--code", o->code, "the code from the member's email")->required();
  verbs.add(verify, [&where, o] {
    return run_step(where, [&](Environment& env, rights::Requests& r) {
      return mail_changes(env, r, r.verify_code(o->id, o->code, cli_actor()),
                          {rights::StatusMail::verified, rights::StatusMail::fee_due});
    });
  });

  auto* fee = verb(group, where, "fee", "Waive an access request's fee or record its payment", &o->id);
  fee->add_option("--waive", o->waive, "waive the fee, for this reason");
  fee->add_option("--paid", o->paid, "the fee was paid: the payment's reference");
  verbs.add(fee, [&where, o] { return run_fee(where, *o); });

  auto* extend = verb(group, where, "extend", "Extend the deadline (at most two months in all); emails the member",
                      &o->id);
  extend->add_option("--months", o->months, "1 or 2")->required();
  extend->add_option("--reason", o->reason, "why more time is needed (sent to the member)")->required();
  verbs.add(extend, [&where, o] {
    return run_mailing_step(where, [&](rights::Requests& r, notify::Mailer& m) {
      return r.extend(o->id, o->months, o->reason, m, cli_actor());
    });
  });

  auto* refuse = verb(group, where, "refuse", "Refuse a request; emails the reasons to the member", &o->id);
  refuse->add_option("--reason", o->reason, "why (sent to the member)")->required();
  verbs.add(refuse, [&where, o] {
    return run_mailing_step(where, [&](rights::Requests& r, notify::Mailer& m) {
      return r.refuse(o->id, o->reason, m, cli_actor());
    });
  });

  auto* exp = verb(group, where, "export", "Write an access request's copy of the member's data (ZIP)", &o->id);
  exp->add_option("--out", o->out, "the ZIP file to write (mode 0600)")->required();
  verbs.add(exp, [&where, o] { return run_export(where, *o); });

  auto* complete = verb(group, where, "complete",
                        "Complete a request in progress: rectify and erase are carried out; access needs its export",
                        &o->id);
  verbs.add(complete, [&where, o] {
    return run_step(where, [&](Environment& env, rights::Requests& r) -> Result<rights::Request> {
      Result<rights::Request> done = r.complete(o->id, cli_actor());
      // A rectification is reported to the member; an erasure took her address with it, and an
      // access request's copy reaches her the way staff send it.
      if (!done.ok() || done->kind != rights::RequestKind::rectify) return done;
      return mail_changes(env, r, std::move(done), {rights::StatusMail::completed});
    });
  });
}

}  // namespace privox::cli
