// `privox retention run`, `privox member close`, `privox survey create|respond|results` and
// `privox stats calls`: the retention jobs and the k-anonymous aggregates.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "analytics/surveys.h"
#include "analytics/traffic_stats.h"
#include "cli/verbs.h"
#include "retention/closures.h"
#include "retention/retention.h"
#include "store/settings.h"
#include "traffic/cdr.h"

namespace privox::cli {
namespace {

struct RetentionRunOptions {
  std::string job = "all";
  std::string now;
  size_t batch_rows = 5000;
  int64_t max_batches = 0;
  bool json = false;
};

nlohmann::json report_json(const retention::JobReport& r) {
  return {{"job", retention::to_string(r.job)}, {"run", r.run_id},         {"as_of", format_utc(r.as_of_us)},
          {"resumed", r.resumed},               {"finished", r.finished},  {"batches", r.batches},
          {"changed", r.changed},               {"held_subjects", r.held_subjects}};
}

int run_retention(const DataDir& where, const RetentionRunOptions& o) {
  std::vector<retention::Job> jobs;
  if (o.job == "all") jobs.assign(std::begin(retention::kAllJobs), std::end(retention::kAllJobs));
  else jobs.push_back(*retention::parse_job(o.job));  // CLI11 checked the name
  retention::RunOptions options;
  if (!o.now.empty()) {
    const auto now = parse_time(o.now);
    if (!now) return fail(invalid("now", "'" + o.now + "' is not a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or epoch seconds)"));
    options.as_of_us = *now;
  }
  options.batch_rows = o.batch_rows;
  options.max_batches = o.max_batches;
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto lock = (*env)->store->try_lock_job(retention::kJobLockName);
  if (!lock.ok()) return fail(lock.error());
  if (!*lock)
    return fail(make_error(ErrorCode::conflict, "another retention run (a serve node or the CLI) is in progress; "
                                                "try again when it has finished"));
  retention::RetentionJobs runner(*(*env)->store, (*env)->keys, (*env)->clock);
  nlohmann::json out = nlohmann::json::array();
  for (retention::Job job : jobs) {
    auto report = runner.run(job, options, cli_actor());
    if (!report.ok()) return fail(report.error());
    out.push_back(report_json(*report));
    if (!o.json)
      std::cout << fmt::format("{}: {} changed in {} batches{}{}{}\n", retention::to_string(job), report->changed,
                               report->batches, report->resumed ? ", resumed an interrupted run" : "",
                               report->finished ? "" : ", stopped before the end (run again to continue)",
                               report->held_subjects.empty()
                                   ? ""
                                   : fmt::format("; skipped (under legal hold, or erasure refused): {}",
                                                 fmt::join(report->held_subjects, " ")));
  }
  if (o.json) std::cout << out.dump(2) << "\n";
  return 0;
}

int run_member_close(const DataDir& where, const std::string& member) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto closure = retention::close_account(*(*env)->store, (*env)->keys, (*env)->clock, member, cli_actor());
  if (!closure.ok()) return fail(closure.error());
  store::Settings settings(*(*env)->store);
  auto grace = settings.integer("retention.closed_account_grace_days");
  if (!grace.ok()) return fail(grace.error());
  const int64_t erase_from = closure->closed_at_us + *grace * 86'400'000'000;
  std::cout << fmt::format("{} {} closed on {}; their data is erased by the retention job from {}{}\n",
                           closure->already_closed ? "was already" : "account", closure->member_id,
                           format_utc(closure->closed_at_us), format_utc(erase_from),
                           closure->erased_at_us ? fmt::format(" (erased on {})", format_utc(closure->erased_at_us)) : "");
  return 0;
}

struct CompanyCloseOptions {
  std::string id;
  std::optional<int64_t> notice_days;
};

int run_company_close(const DataDir& where, const CompanyCloseOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  retention::CompanyClosures closures(*(*env)->store, (*env)->keys, (*env)->clock);
  auto closure = closures.schedule(o.id, cli_actor(), o.notice_days);
  if (!closure.ok()) {
    Error e = closure.error();
    if (e.field == "company") e.field = "id";
    return fail(e);
  }
  std::cout << fmt::format("company {} is closing: its lines go on {} (the company_closures retention job), then its "
                           "members' accounts close and their data is erased after the grace period\n",
                           closure->company_id, format_utc(closure->service_ends_at_us));
  return 0;
}

int run_company_reopen(const DataDir& where, const std::string& id) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  retention::CompanyClosures closures(*(*env)->store, (*env)->keys, (*env)->clock);
  if (Status s = closures.cancel(id, cli_actor()); !s.ok()) {
    Error e = s.error();
    if (e.field == "company") e.field = "id";
    return fail(e);
  }
  std::cout << fmt::format("company {} is no longer closing\n", id);
  return 0;
}

void add_company_close_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  CLI::App* company = app.get_subcommand("company");
  auto o = std::make_shared<CompanyCloseOptions>();
  auto* close = company->add_subcommand("close", "End a company's phone service after the notice period "
                                                 "(retention.company_closure_notice_days)");
  add_data_dir(close, where);
  close->add_option("--id", o->id, "company id")->required();
  close->add_option("--notice-days", o->notice_days, "days until the service ends, instead of the setting")
      ->check(CLI::Range(int64_t{0}, int64_t{365}));
  verbs.add(close, [&where, o] { return run_company_close(where, *o); });
  auto* reopen = company->add_subcommand("cancel-close", "Call off a company's closure before its service ends");
  add_data_dir(reopen, where);
  reopen->add_option("--id", o->id, "company id")->required();
  verbs.add(reopen, [&where, o] { return run_company_reopen(where, o->id); });
}

struct SurveyOptions {
  std::string id, title, member;
  std::vector<std::string> questions, choices, answers;
};

std::vector<std::string> split_choices(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

int run_survey_create(const DataDir& where, const SurveyOptions& o) {
  if (o.questions.size() != o.choices.size())
    return fail(invalid("choices", fmt::format("give one --choices for each --question ({} questions, {} choices)",
                                               o.questions.size(), o.choices.size())));
  std::vector<analytics::SurveyQuestion> questions;
  for (size_t i = 0; i < o.questions.size(); ++i) questions.push_back({o.questions[i], split_choices(o.choices[i])});
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  analytics::Surveys surveys(*(*env)->store, (*env)->keys, (*env)->clock);
  auto id = surveys.create(o.title, questions, cli_actor());
  if (!id.ok()) return fail(id.error());
  std::cout << *id << "\n";
  return 0;
}

int run_survey_respond(const DataDir& where, const SurveyOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  analytics::Surveys surveys(*(*env)->store, (*env)->keys, (*env)->clock);
  if (Status s = surveys.respond(o.id, o.member, o.answers, cli_actor()); !s.ok()) return fail(s.error());
  std::cout << "recorded\n";
  return 0;
}

int run_survey_results(const DataDir& where, const SurveyOptions& o) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  analytics::Surveys surveys(*(*env)->store, (*env)->keys, (*env)->clock);
  auto results = surveys.results(o.id, cli_actor());
  if (!results.ok()) return fail(results.error());
  std::cout << results->dump(2) << "\n";
  return 0;
}

struct StatsOptions {
  std::string by = "company", since, until;
};

int run_stats_calls(const DataDir& where, const StatsOptions& o) {
  analytics::TrafficStatsQuery query;
  query.by = o.by == "day" ? analytics::GroupBy::day
             : o.by == "direction" ? analytics::GroupBy::direction
                                   : analytics::GroupBy::company;
  for (const auto& [flag, text, slot] : {std::tuple{"since", &o.since, &query.since_us},
                                         std::tuple{"until", &o.until, &query.until_us}}) {
    if (text->empty()) continue;
    const auto at = parse_time(*text);
    if (!at) return fail(invalid(flag, "'" + *text + "' is not a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or epoch seconds)"));
    *slot = *at;
  }
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  auto stats = analytics::traffic_stats(*(*env)->store, (*env)->keys, (*env)->clock, query, cli_actor());
  if (!stats.ok()) return fail(stats.error());
  std::cout << stats->dump(2) << "\n";
  return 0;
}

void add_retention_run(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* retention = app.add_subcommand("retention", "Retention jobs: anonymise old traffic, limit call logs, "
                                                    "delete old voicemail, erase closed accounts")
                        ->require_subcommand(1);
  auto o = std::make_shared<RetentionRunOptions>();
  auto* run = retention->add_subcommand("run", "Run retention jobs now (audited; resumes an interrupted run)");
  add_data_dir(run, where);
  run->add_option("--job", o->job, "which job")
      ->check(CLI::IsMember({"traffic", "call_log", "voicemail", "company_closures", "closed_accounts", "invoices", "all"}))
      ->capture_default_str();
  run->add_option("--now", o->now, "measure periods from this time (UTC) instead of now, for tests and catch-up");
  run->add_option("--batch-rows", o->batch_rows, "records or members per transaction")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  run->add_option("--max-batches", o->max_batches, "stop after this many batches; the next run continues")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  run->add_flag("--json", o->json, "machine-readable report");
  verbs.add(run, [&where, o] { return run_retention(where, *o); });

  auto* member = app.get_subcommand("member");
  auto member_id = std::make_shared<std::string>();
  auto* close = member->add_subcommand("close", "Close a member's account; their data is erased after the grace "
                                                "period (retention.closed_account_grace_days)");
  add_data_dir(close, where);
  close->add_option("--id", *member_id, "member id")->required();
  verbs.add(close, [&where, member_id] { return run_member_close(where, *member_id); });
}

void add_survey_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* survey = app.add_subcommand("survey", "Surveys of members; results only as cells of at least k people")
                     ->require_subcommand(1);
  auto o = std::make_shared<SurveyOptions>();
  auto* create = survey->add_subcommand("create", "Create a multiple-choice survey; prints its id");
  add_data_dir(create, where);
  create->add_option("--title", o->title, "the survey's title")->required();
  create->add_option("--question", o->questions, "a question (repeat for more)")->required();
  create->add_option("--choices", o->choices, "the question's answers, comma-separated (one --choices per --question)")
      ->required();
  verbs.add(create, [&where, o] { return run_survey_create(where, *o); });

  auto* respond = survey->add_subcommand("respond", "Record a member's answers (one --answer per question, in order)");
  add_data_dir(respond, where);
  respond->add_option("--id", o->id, "survey id")->required();
  respond->add_option("--member", o->member, "the responding member's id")->required();
  respond->add_option("--answer", o->answers, "the chosen answer (repeat per question)")->required();
  verbs.add(respond, [&where, o] { return run_survey_respond(where, *o); });

  auto* results = survey->add_subcommand("results", "Print the results as k-anonymous cells (JSON)");
  add_data_dir(results, where);
  results->add_option("--id", o->id, "survey id")->required();
  verbs.add(results, [&where, o] { return run_survey_results(where, *o); });
}

void add_stats_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* stats = app.add_subcommand("stats", "k-anonymous statistics")->require_subcommand(1);
  auto o = std::make_shared<StatsOptions>();
  auto* calls = stats->add_subcommand("calls", "Calls and messages per cell; cells under k lines are suppressed (JSON)");
  add_data_dir(calls, where);
  calls->add_option("--by", o->by, "how to group")
      ->check(CLI::IsMember({"company", "direction", "day"}))
      ->capture_default_str();
  calls->add_option("--since", o->since, "only calls started at or after this time (UTC)");
  calls->add_option("--until", o->until, "only calls started before this time (UTC)");
  verbs.add(calls, [&where, o] { return run_stats_calls(where, *o); });
}

}  // namespace

void add_retention_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  add_retention_run(app, where, verbs);
  add_company_close_verbs(app, where, verbs);
  add_survey_verbs(app, where, verbs);
  add_stats_verbs(app, where, verbs);
}

}  // namespace privox::cli
