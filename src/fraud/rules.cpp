// The fraud rules over traffic records (rules.h).
#include "fraud/rules.h"

#include <algorithm>
#include <map>
#include <set>

#include "accounts/accounts.h"
#include "numbers/e164.h"
#include "store/settings.h"
#include "traffic/cdr.h"

namespace privox::fraud {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;
constexpr int64_t kBaselineDays = 30;
constexpr int64_t kHourUs = 3'600'000'000;

int64_t day_start(int64_t us) { return us - (((us % kDayUs) + kDayUs) % kDayUs); }

// The company whose international cost today is far above its own baseline, with the line that
// spent most today.
void spend_rule(const ScanLimits& limits, const std::vector<ScanRecord>& records, int64_t now_us,
                std::vector<NewAlert>& out) {
  const int64_t today = day_start(now_us), since = today - kBaselineDays * kDayUs;
  std::map<std::string, int64_t> today_cost, past_cost;
  std::map<std::string, std::map<std::string, int64_t>> by_line;
  for (const ScanRecord& r : records) {
    if (!r.international || !r.answered || r.started_at_us < since) continue;
    if (r.started_at_us >= today) {
      today_cost[r.company_id] += r.cost_micros;
      by_line[r.company_id][r.line_id] += r.cost_micros;
    } else {
      past_cost[r.company_id] += r.cost_micros;
    }
  }
  for (const auto& [company, cost] : today_cost) {
    const int64_t baseline = past_cost[company] / kBaselineDays;
    if (cost <= limits.spend_floor_micros || cost <= baseline * limits.spend_multiple) continue;
    const auto& lines = by_line[company];
    const auto top = std::max_element(lines.begin(), lines.end(),
                                      [](const auto& a, const auto& b) { return a.second < b.second; });
    out.push_back({company, top->first, Rule::international_spend, limits.spend_action,
                   {{"today_micros", cost}, {"daily_average_micros", baseline}, {"multiple", limits.spend_multiple}}});
  }
}

bool in_hours(const ScanLimits& limits, int64_t at_us) {
  const int64_t hour = (at_us - day_start(at_us)) / kHourUs;
  return hour >= limits.hours_start && hour < limits.hours_end;
}

void hours_rule(const ScanLimits& limits, const std::vector<ScanRecord>& records, int64_t now_us,
                std::vector<NewAlert>& out) {
  const int64_t today = day_start(now_us);
  std::map<std::pair<std::string, std::string>, int64_t> calls;  // (company, line)
  for (const ScanRecord& r : records)
    if (r.international && r.started_at_us >= today && !in_hours(limits, r.started_at_us))
      ++calls[{r.company_id, r.line_id}];
  for (const auto& [key, n] : calls)
    if (n >= limits.hours_min_calls)
      out.push_back({key.first, key.second, Rule::off_hours, limits.hours_action,
                     {{"calls", n}, {"hours_start", limits.hours_start}, {"hours_end", limits.hours_end}}});
}

void short_calls_rule(const ScanLimits& limits, const std::vector<ScanRecord>& records, int64_t now_us,
                      std::vector<NewAlert>& out) {
  const int64_t since = now_us - limits.short_window_minutes * 60'000'000;
  struct Seen {
    int64_t calls = 0;
    std::set<std::string> destinations;
  };
  std::map<std::pair<std::string, std::string>, Seen> seen;
  for (const ScanRecord& r : records) {
    if (r.started_at_us < since || r.destination.empty()) continue;
    if (r.answered && r.duration_ms >= limits.short_max_seconds * 1000) continue;
    Seen& s = seen[{r.company_id, r.line_id}];
    ++s.calls;
    s.destinations.insert(r.destination);
  }
  for (const auto& [key, s] : seen) {
    const auto distinct = static_cast<int64_t>(s.destinations.size());
    if (distinct >= limits.short_min_destinations)
      out.push_back({key.first, key.second, Rule::short_calls, limits.short_action,
                     {{"short_calls", s.calls}, {"destinations", distinct}, {"window_minutes", limits.short_window_minutes}}});
  }
}

Result<Action> action_setting(const store::Settings& settings, std::string_view key) {
  PRIVOX_ASSIGN(const std::string text, settings.text(key));
  return parse_action(text).value_or(Action::alert);
}

}  // namespace

Result<ScanLimits> scan_limits_from_settings(store::Store& store) {
  const store::Settings settings(store);
  ScanLimits l;
  PRIVOX_ASSIGN(l.spend_multiple, settings.integer("fraud.spend.multiple"));
  PRIVOX_ASSIGN(l.spend_floor_micros, settings.integer("fraud.spend.floor_micros"));
  PRIVOX_ASSIGN(l.spend_action, action_setting(settings, "fraud.spend.action"));
  PRIVOX_ASSIGN(l.hours_start, settings.integer("fraud.hours.start"));
  PRIVOX_ASSIGN(l.hours_end, settings.integer("fraud.hours.end"));
  PRIVOX_ASSIGN(l.hours_min_calls, settings.integer("fraud.hours.min_calls"));
  PRIVOX_ASSIGN(l.hours_action, action_setting(settings, "fraud.hours.action"));
  PRIVOX_ASSIGN(l.short_max_seconds, settings.integer("fraud.short_calls.max_seconds"));
  PRIVOX_ASSIGN(l.short_min_destinations, settings.integer("fraud.short_calls.min_destinations"));
  PRIVOX_ASSIGN(l.short_window_minutes, settings.integer("fraud.short_calls.window_minutes"));
  PRIVOX_ASSIGN(l.short_action, action_setting(settings, "fraud.short_calls.action"));
  return l;
}

std::vector<NewAlert> evaluate(const ScanLimits& limits, const std::vector<ScanRecord>& records, int64_t now_us) {
  std::vector<NewAlert> out;
  spend_rule(limits, records, now_us, out);
  hours_rule(limits, records, now_us, out);
  short_calls_rule(limits, records, now_us, out);
  return out;
}

Result<std::vector<Alert>> Scanner::run() {
  PRIVOX_ASSIGN(const ScanLimits limits, scan_limits_from_settings(store_));
  const int64_t now = clock_.now_us();
  std::map<std::string, std::string> countries;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::vector<accounts::Company> companies, accounts::list_companies(s));
    for (const accounts::Company& c : companies) countries[c.id] = c.country;
    return {};
  }));
  traffic::CdrQuery query;
  query.purpose = privacy::Purpose::fraud;
  query.since_us = day_start(now) - kBaselineDays * kDayUs;
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
  std::vector<Alert> opened;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    opened.clear();
    for (const NewAlert& finding : evaluate(limits, records, now)) {
      PRIVOX_ASSIGN(std::optional<Alert> alert, open_alert(tx, audit_, finding, now, "fraud:scanner"));
      if (alert) opened.push_back(std::move(*alert));
    }
    return {};
  }));
  return opened;
}

}  // namespace privox::fraud
