#include "traffic/rerate.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "traffic/cdr.h"

namespace privox::traffic {
namespace {

constexpr int64_t kMaxPeriodUs = 366LL * 86'400'000'000;

struct NewCost {
  std::string id, subject_id;
  std::optional<int64_t> cost;
  std::string currency, deck;
};

}  // namespace

Result<RerateReport> rerate(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                            const rating::RateTable& table, int64_t since_us, int64_t until_us,
                            const std::string& company_id, const std::string& actor) {
  if (until_us <= since_us || until_us - since_us > kMaxPeriodUs)
    return invalid("period", "re-rating needs an end after its start, and at most 366 days");
  CdrQuery query;
  query.purpose = privacy::Purpose::billing;
  query.since_us = since_us;
  query.until_us = until_us;
  query.company_id = company_id;
  query.direction = "outbound";
  query.kind = "voice";
  query.limit = 10'000'000;
  PRIVOX_ASSIGN(const std::vector<CdrRow> rows, list_records(store, keys, clock, query, actor));
  RerateReport report;
  std::vector<NewCost> costs;
  for (const CdrRow& r : rows) {
    if (r.outcome != "answered" || !r.destination) continue;
    ++report.records;
    const rating::Priced p = table.price(r.company_id, *r.destination, r.started_at_us, r.duration_ms);
    NewCost c{r.id, r.subject_id, std::nullopt, {}, {}};
    if (p.rate) {
      c.cost = p.cost_micros;
      c.currency = p.rate->currency;
      c.deck = std::string(p.deck_id);
    } else if (p.included) {
      c.cost = 0;
    } else {
      ++report.unrated;
    }
    report.total_micros += c.cost.value_or(0);
    if (c.cost != r.cost_micros || c.currency != r.cost_currency) ++report.changed;
    costs.push_back(std::move(c));
  }
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    for (const NewCost& c : costs) {
      PRIVOX_TRY(s.exec("UPDATE traffic_records SET cost_micros = ?, cost_currency = ?, rate_deck_id = ? "
                        "WHERE id = ? AND subject_id = ?",
                        {c.cost ? store::Value{*c.cost} : store::null_value(),
                         c.currency.empty() ? store::null_value() : store::Value{c.currency},
                         c.deck.empty() ? store::null_value() : store::Value{c.deck}, c.id, c.subject_id}));
    }
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "traffic.rerate", company_id, "billing",
                               {{"since", format_utc(since_us)},
                                {"until", format_utc(until_us)},
                                {"records", report.records},
                                {"changed", report.changed},
                                {"unrated", report.unrated}}}));
    return {};
  }));
  return report;
}

}  // namespace privox::traffic
