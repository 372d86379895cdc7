// The live fraud rules: counting and blocking on the call set-up path.
#include "fraud/guard.h"

#include <fmt/format.h>


namespace privox::fraud {
namespace {

constexpr int64_t kMinuteUs = 60'000'000;
// A rule that fired on a line fires again (another alert) only this long after.
constexpr int64_t kRetripUs = 10 * kMinuteUs;
// A line blocked by a local trip whose alert no read of the store has shown within this long
// (the write failed) is let go.
constexpr int64_t kPendingUs = kMinuteUs;

void forget_older(std::deque<int64_t>& started, int64_t now_us) {
  while (!started.empty() && started.front() <= now_us - kMinuteUs) started.pop_front();
}

Trip trip_of(const std::string& line, const std::string& company, Rule rule, Action action, int64_t seen,
             int64_t limit, int64_t now_us) {
  return {{company, line, rule, action, {{"seen", seen}, {"limit", limit}}}, now_us};
}

}  // namespace

LiveLimits live_limits_from(const Values& values) {
  LiveLimits l;
  l.line_per_minute = value_integer(values, "fraud.velocity.line_calls_per_minute", l.line_per_minute);
  l.company_per_minute = value_integer(values, "fraud.velocity.company_calls_per_minute", l.company_per_minute);
  l.line_concurrent = value_integer(values, "fraud.velocity.line_concurrent_calls", l.line_concurrent);
  l.company_concurrent = value_integer(values, "fraud.velocity.company_concurrent_calls", l.company_concurrent);
  if (auto it = values.find("fraud.velocity.action"); it != values.end())
    l.velocity_action = parse_action(it->second).value_or(Action::suspend);
  l.throttled_per_minute = value_integer(values, "fraud.throttle.calls_per_minute", l.throttled_per_minute);
  l.max_sources = value_integer(values, "fraud.sources.max_addresses", l.max_sources);
  if (auto it = values.find("fraud.sources.action"); it != values.end())
    l.sources_action = parse_action(it->second).value_or(Action::alert);
  return l;
}

Result<LiveLimits> live_limits_from_settings(store::Store& store) {
  PRIVOX_ASSIGN(const Values values, fraud_values(store));
  return live_limits_from(values);
}

std::optional<Refusal> LineGuard::admit(const std::string& line, const std::string& company, size_t sources,
                                        int64_t now_us) {
  std::optional<Trip> trip;
  std::optional<Refusal> refusal;
  {
    MutexLock lock(mu_);
    Counts& own = lines_[line];
    Counts& all = companies_[company];
    own.company = company;
    forget_older(own.started, now_us);
    forget_older(all.started, now_us);
    const LiveLimits& limits = limits_of(company);
    if (auto no = blocked(line, limits, own, now_us)) return no;
    trip = check(line, company, limits, own, all, sources, now_us);
    if (trip) refusal = take_action(*trip, limits, own);
    if (!refusal) {
      own.started.push_back(now_us);
      all.started.push_back(now_us);
    }
  }
  if (trip) trips_(std::move(*trip));
  return refusal;
}

// One look-up, none while no company overrides anything.
const LiveLimits& LineGuard::limits_of(const std::string& company) const {
  if (company_limits_.empty()) return limits_;
  const auto it = company_limits_.find(company);
  return it == company_limits_.end() ? limits_ : it->second;
}

std::optional<Refusal> LineGuard::blocked(const std::string& line, const LiveLimits& limits, Counts& counts,
                                          int64_t now_us) {
  bool suspended = blocks_.suspended.contains(line);
  bool throttled = blocks_.throttled.contains(line);
  if (const auto p = pending_.find(line); p != pending_.end()) {
    if (p->second.at_us < now_us - kPendingUs) {
      pending_.erase(p);
    } else {
      suspended = suspended || p->second.action == Action::suspend;
      throttled = throttled || p->second.action == Action::throttle;
    }
  }
  if (suspended) return Refusal{403, "line suspended for suspected fraud", 0};
  if (throttled && std::ssize(counts.started) >= limits.throttled_per_minute)
    return Refusal{503, "calls from this line are limited for suspected fraud", 60};
  return std::nullopt;
}

std::optional<Trip> LineGuard::check(const std::string& line, const std::string& company, const LiveLimits& limits,
                                     Counts& own, Counts& all, size_t sources, int64_t now_us) {
  const int64_t per_line = std::ssize(own.started) + 1, per_company = std::ssize(all.started) + 1;
  std::optional<Trip> found;
  if (per_line > limits.line_per_minute)
    found = trip_of(line, company, Rule::line_velocity, limits.velocity_action, per_line, limits.line_per_minute, now_us);
  else if (per_company > limits.company_per_minute)
    found = trip_of(line, company, Rule::company_velocity, limits.velocity_action, per_company,
                    limits.company_per_minute, now_us);
  else if (own.in_progress + 1 > limits.line_concurrent)
    found = trip_of(line, company, Rule::line_concurrency, limits.velocity_action, own.in_progress + 1,
                    limits.line_concurrent, now_us);
  else if (all.in_progress + 1 > limits.company_concurrent)
    found = trip_of(line, company, Rule::company_concurrency, limits.velocity_action, all.in_progress + 1,
                    limits.company_concurrent, now_us);
  else if (std::cmp_greater(sources, limits.max_sources))
    found = trip_of(line, company, Rule::many_sources, limits.sources_action, static_cast<int64_t>(sources),
                    limits.max_sources, now_us);
  if (!found) return std::nullopt;
  const std::string key = fmt::format("{}/{}", line, to_string(found->alert.rule));
  const auto last = tripped_.find(key);
  if (last != tripped_.end() && last->second > now_us - kRetripUs) return std::nullopt;
  tripped_[key] = now_us;
  return found;
}

std::optional<Refusal> LineGuard::take_action(const Trip& trip, const LiveLimits& limits, Counts& own) {
  const std::string& line = trip.alert.line_id;
  switch (trip.alert.action) {
    case Action::alert: return std::nullopt;
    case Action::suspend:
      pending_[line] = {Action::suspend, trip.at_us};
      return Refusal{403, "line suspended for suspected fraud", 0};
    case Action::throttle:
      pending_.try_emplace(line, Pending{Action::throttle, trip.at_us});
      if (std::ssize(own.started) >= limits.throttled_per_minute)
        return Refusal{503, "calls from this line are limited for suspected fraud", 60};
      return std::nullopt;
  }
  return std::nullopt;
}

void LineGuard::answered(const traffic::CallRecord& record) {
  if (record.direction == traffic::Direction::inbound || record.subject_id.empty()) return;
  MutexLock lock(mu_);
  if (!open_.try_emplace(record.id, Open{record.subject_id, record.company_id}).second) return;
  ++lines_[record.subject_id].in_progress;
  ++companies_[record.company_id].in_progress;
}

void LineGuard::ended(const std::string& record_id) {
  MutexLock lock(mu_);
  const auto it = open_.find(record_id);
  if (it == open_.end()) return;
  if (auto l = lines_.find(it->second.line); l != lines_.end() && l->second.in_progress > 0) --l->second.in_progress;
  if (auto c = companies_.find(it->second.company); c != companies_.end() && c->second.in_progress > 0)
    --c->second.in_progress;
  open_.erase(it);
}

void LineGuard::replace_blocks(Blocks blocks, int64_t now_us) {
  MutexLock lock(mu_);
  for (auto p = pending_.begin(); p != pending_.end();) {
    const bool seen = blocks.suspended.contains(p->first) || blocks.throttled.contains(p->first);
    if (seen || p->second.at_us < now_us - kPendingUs) p = pending_.erase(p);
    else ++p;
  }
  for (const std::string& line : blocks_.suspended) release(line, blocks);
  for (const std::string& line : blocks_.throttled) release(line, blocks);
  blocks_ = std::move(blocks);
}

// A line no longer blocked (lifted) starts afresh: the burst that blocked it is forgotten.
void LineGuard::release(const std::string& line, const Blocks& fresh) {
  if (fresh.suspended.contains(line) || fresh.throttled.contains(line) || pending_.contains(line)) return;
  if (auto l = lines_.find(line); l != lines_.end()) {
    l->second.started.clear();
    if (auto c = companies_.find(l->second.company); c != companies_.end()) c->second.started.clear();
  }
  const std::string prefix = line + "/";
  for (auto t = tripped_.begin(); t != tripped_.end();) {
    if (t->first.starts_with(prefix)) t = tripped_.erase(t);
    else ++t;
  }
}

void LineGuard::set_limits(const LiveLimits& limits, CompanyLiveLimits companies) {
  MutexLock lock(mu_);
  limits_ = limits;
  company_limits_ = std::move(companies);
}

bool LineGuard::suspended(const std::string& line) const {
  MutexLock lock(mu_);
  return blocks_.suspended.contains(line) ||
         (pending_.contains(line) && pending_.at(line).action == Action::suspend);
}

bool LineGuard::throttled(const std::string& line) const {
  MutexLock lock(mu_);
  return blocks_.throttled.contains(line) ||
         (pending_.contains(line) && pending_.at(line).action == Action::throttle);
}

size_t LineGuard::in_progress(const std::string& line) const {
  MutexLock lock(mu_);
  const auto it = lines_.find(line);
  return it == lines_.end() ? 0 : static_cast<size_t>(it->second.in_progress);
}

}  // namespace privox::fraud
