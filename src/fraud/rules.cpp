// The fraud rules over traffic records (rules.h).
#include "fraud/rules.h"

#include <algorithm>
#include <map>
#include <set>

#include "accounts/accounts.h"
#include "numbers/e164.h"
#include "traffic/cdr.h"

namespace privox::fraud {
namespace {

constexpr int64_t kScanDayUs = 86'400'000'000;
constexpr int64_t kBaselineDays = 30;
constexpr int64_t kScanMinuteUs = 60'000'000;

int64_t scan_day_start(int64_t us) { return us - (((us % kScanDayUs) + kScanDayUs) % kScanDayUs); }

// The company whose international cost today is far above its own baseline, with the line that
// spent most today.
void spend_rule(const ScanPolicy& policy, const Baseline& baseline, const std::vector<ScanRecord>& records,
                int64_t now_us, std::vector<NewAlert>& out) {
  const int64_t today = scan_day_start(now_us);
  std::map<std::string, int64_t> today_cost;
  std::map<std::string, std::map<std::string, int64_t>> by_line;
  for (const ScanRecord& r : records) {
    if (!r.international || !r.answered || r.started_at_us < today) continue;
    today_cost[r.company_id] += r.cost_micros;
    by_line[r.company_id][r.line_id] += r.cost_micros;
  }
  for (const auto& [company, cost] : today_cost) {
    const ScanLimits& limits = policy.limits_of(company);
    const auto past = baseline.past_cost_micros.find(company);
    const int64_t average = past == baseline.past_cost_micros.end() ? 0 : past->second / kBaselineDays;
    if (cost <= limits.spend_floor_micros || cost <= average * limits.spend_multiple) continue;
    const auto& lines = by_line[company];
    const auto top = std::max_element(lines.begin(), lines.end(),
                                      [](const auto& a, const auto& b) { return a.second < b.second; });
    out.push_back({company, top->first, Rule::international_spend, limits.spend_action,
                   {{"today_micros", cost}, {"daily_average_micros", average}, {"multiple", limits.spend_multiple}}});
  }
}

// Whether a call at `at_us` is out of the company's hours: its own business hours where it set
// them (holidays closed), else fraud.hours.start..end.
bool off_hours(const ScanPolicy& policy, const std::string& company, const accounts::TimeZone& zone, int64_t at_us) {
  if (const auto own = policy.hours.find(company); own != policy.hours.end() && own->second.week)
    return !accounts::is_open(*own->second.week, own->second.holidays, zone, at_us);
  const ScanLimits& limits = policy.limits_of(company);
  const int64_t hour = zone.local_hour(at_us);
  return hour < limits.hours_start || hour >= limits.hours_end;
}

// Today and the hours are the company's own, in its time zone.
void hours_rule(const ScanPolicy& policy, const std::vector<ScanRecord>& records, int64_t now_us,
                std::vector<NewAlert>& out) {
  std::map<std::pair<std::string, std::string>, int64_t> calls;  // (company, line)
  std::map<std::string, int64_t> local_today;                     // company -> its local midnight
  for (const ScanRecord& r : records) {
    if (!r.international) continue;
    const accounts::TimeZone& zone = policy.zone_of(r.company_id);
    auto [today, fresh] = local_today.try_emplace(r.company_id, 0);
    if (fresh) today->second = zone.local_day_start(now_us);
    if (r.started_at_us < today->second) continue;
    if (off_hours(policy, r.company_id, zone, r.started_at_us)) ++calls[{r.company_id, r.line_id}];
  }
  for (const auto& [key, n] : calls) {
    const ScanLimits& limits = policy.limits_of(key.first);
    if (n < limits.hours_min_calls) continue;
    if (policy.hours.contains(key.first))
      out.push_back({key.first, key.second, Rule::off_hours, limits.hours_action, {{"calls", n}, {"business_hours", 1}}});
    else
      out.push_back({key.first, key.second, Rule::off_hours, limits.hours_action,
                     {{"calls", n}, {"hours_start", limits.hours_start}, {"hours_end", limits.hours_end}}});
  }
}

void short_calls_rule(const ScanPolicy& policy, const std::vector<ScanRecord>& records, int64_t now_us,
                      std::vector<NewAlert>& out) {
  struct Seen {
    int64_t calls = 0;
    std::set<std::string> destinations;
  };
  std::map<std::pair<std::string, std::string>, Seen> seen;
  for (const ScanRecord& r : records) {
    const ScanLimits& limits = policy.limits_of(r.company_id);
    if (r.started_at_us < now_us - limits.short_window_minutes * kScanMinuteUs || r.destination.empty()) continue;
    if (r.answered && r.duration_ms >= limits.short_max_seconds * 1000) continue;
    Seen& s = seen[{r.company_id, r.line_id}];
    ++s.calls;
    s.destinations.insert(r.destination);
  }
  for (const auto& [key, s] : seen) {
    const ScanLimits& limits = policy.limits_of(key.first);
    const auto distinct = static_cast<int64_t>(s.destinations.size());
    if (distinct >= limits.short_min_destinations)
      out.push_back({key.first, key.second, Rule::short_calls, limits.short_action,
                     {{"short_calls", s.calls}, {"destinations", distinct}, {"window_minutes", limits.short_window_minutes}}});
  }
}

Action value_action(const Values& values, std::string_view key, Action fallback) {
  const auto it = values.find(key);
  return it == values.end() ? fallback : parse_action(it->second).value_or(fallback);
}

// How far back a minute's scan reads: the earliest of today's UTC start, each company's local
// midnight and the longest call-back window.
int64_t scan_since(const ScanPolicy& policy, int64_t now_us) {
  int64_t window = policy.global.short_window_minutes;
  for (const auto& [company, limits] : policy.limits) window = std::max(window, limits.short_window_minutes);
  int64_t since = std::min(scan_day_start(now_us), now_us - window * kScanMinuteUs);
  for (const auto& [company, zone] : policy.zones) since = std::min(since, zone.local_day_start(now_us));
  return since;
}

}  // namespace

ScanLimits scan_limits_from(const Values& values) {
  ScanLimits l;
  l.spend_multiple = value_integer(values, "fraud.spend.multiple", l.spend_multiple);
  l.spend_floor_micros = value_integer(values, "fraud.spend.floor_micros", l.spend_floor_micros);
  l.spend_action = value_action(values, "fraud.spend.action", l.spend_action);
  l.hours_start = value_integer(values, "fraud.hours.start", l.hours_start);
  l.hours_end = value_integer(values, "fraud.hours.end", l.hours_end);
  l.hours_min_calls = value_integer(values, "fraud.hours.min_calls", l.hours_min_calls);
  l.hours_action = value_action(values, "fraud.hours.action", l.hours_action);
  l.short_max_seconds = value_integer(values, "fraud.short_calls.max_seconds", l.short_max_seconds);
  l.short_min_destinations = value_integer(values, "fraud.short_calls.min_destinations", l.short_min_destinations);
  l.short_window_minutes = value_integer(values, "fraud.short_calls.window_minutes", l.short_window_minutes);
  l.short_action = value_action(values, "fraud.short_calls.action", l.short_action);
  return l;
}

Result<ScanLimits> scan_limits_from_settings(store::Store& store) {
  PRIVOX_ASSIGN(const Values values, fraud_values(store));
  return scan_limits_from(values);
}

const ScanLimits& ScanPolicy::limits_of(const std::string& company) const {
  const auto it = limits.find(company);
  return it == limits.end() ? global : it->second;
}

const accounts::TimeZone& ScanPolicy::zone_of(const std::string& company) const {
  static const accounts::TimeZone kUtc = accounts::TimeZone::utc();
  const auto it = zones.find(company);
  return it == zones.end() ? kUtc : it->second;
}

Baseline baseline_of(const std::vector<ScanRecord>& records, int64_t day_us) {
  Baseline out;
  out.day_us = day_us;
  const int64_t since = day_us - kBaselineDays * kScanDayUs;
  for (const ScanRecord& r : records)
    if (r.international && r.answered && r.started_at_us >= since && r.started_at_us < day_us)
      out.past_cost_micros[r.company_id] += r.cost_micros;
  return out;
}

std::vector<NewAlert> evaluate(const ScanPolicy& policy, const Baseline& baseline,
                               const std::vector<ScanRecord>& records, int64_t now_us) {
  std::vector<NewAlert> out;
  spend_rule(policy, baseline, records, now_us, out);
  hours_rule(policy, records, now_us, out);
  short_calls_rule(policy, records, now_us, out);
  return out;
}

std::vector<NewAlert> evaluate(const ScanLimits& limits, const std::vector<ScanRecord>& records, int64_t now_us) {
  return evaluate(ScanPolicy{limits, {}, {}, {}}, baseline_of(records, scan_day_start(now_us)), records, now_us);
}

namespace {

// The policy in force: the global settings, each company's overrides and its time zone.
Result<ScanPolicy> read_policy(store::Store& store, std::map<std::string, std::string>& countries) {
  PRIVOX_ASSIGN(const Values global, fraud_values(store));
  ScanPolicy policy{scan_limits_from(global), {}, {}, {}};
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::vector<accounts::Company> companies, accounts::list_companies(s));
    for (const accounts::Company& c : companies) {
      countries[c.id] = c.country;
      if (c.time_zone == "UTC") continue;
      // A zone the ICU data no longer knows (it was checked when set) is judged in UTC.
      if (auto zone = accounts::TimeZone::find(c.time_zone); zone.ok()) policy.zones.emplace(c.id, *std::move(zone));
    }
    PRIVOX_ASSIGN(policy.hours, accounts::companies_with_hours(s));
    PRIVOX_ASSIGN(const CompanyValues overrides, company_overrides(s));
    for (const auto& [company, own] : overrides) policy.limits[company] = scan_limits_from(with_overrides(global, own));
    return {};
  }));
  return policy;
}

}  // namespace

Result<std::vector<Alert>> Scanner::run() {
  const int64_t now = clock_.now_us();
  std::map<std::string, std::string> countries;
  PRIVOX_ASSIGN(const ScanPolicy policy, read_policy(store_, countries));
  const bool rebuild = baseline_.day_us != scan_day_start(now);
  traffic::CdrQuery query;
  query.purpose = privacy::Purpose::fraud;
  query.since_us = rebuild ? std::min(scan_since(policy, now), scan_day_start(now) - kBaselineDays * kScanDayUs)
                           : scan_since(policy, now);
  query.direction = "outbound";
  query.kind = "voice";
  query.limit = 10'000'000;
  PRIVOX_ASSIGN(const std::vector<traffic::CdrRow> rows, traffic::list_records(store_, keys_, clock_, query, "fraud:scanner"));
  std::vector<ScanRecord> records;
  records.reserve(rows.size());
  for (const traffic::CdrRow& r : rows) {
    ScanRecord s{r.company_id, r.subject_id, r.destination.value_or(""), r.started_at_us, false,
                 r.outcome == "answered", r.duration_ms, r.cost_micros.value_or(0)};
    if (!s.destination.empty() && s.destination.front() == '+')
      s.international = numbers::destination_of(s.destination).region != countries[r.company_id];
    records.push_back(std::move(s));
  }
  if (rebuild) baseline_ = baseline_of(records, scan_day_start(now));
  std::vector<Alert> opened;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    opened.clear();
    for (const NewAlert& finding : evaluate(policy, baseline_, records, now)) {
      PRIVOX_ASSIGN(std::optional<Alert> alert, open_alert(tx, audit_, finding, now, "fraud:scanner"));
      if (alert) opened.push_back(std::move(*alert));
    }
    return {};
  }));
  return opened;
}

}  // namespace privox::fraud
