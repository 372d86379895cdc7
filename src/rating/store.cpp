#include "rating/store.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "common/log.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::rating {
namespace {

constexpr size_t kMaxDeckName = 100;
const std::vector<std::string> kRateColumns = {
    "prefix",           "valid_from_us",    "deck_id",          "description", "price_per_minute_micros",
    "connection_fee_micros", "first_increment_s", "next_increment_s", "currency"};

bool is_prefix(std::string_view p) {
  return !p.empty() && p.size() <= 15 && p.front() != '0' &&
         std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A rate of the deck already priced from the same date by a stored deck: the import is refused.
Status check_not_priced(store::Session& s, const std::vector<Rate>& rates) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT prefix, valid_from_us FROM rates"));
  std::set<std::pair<std::string, int64_t>> stored;
  for (const store::Row& r : rows) stored.emplace(r.text(0), r.i64(1));
  for (const Rate& rate : rates)
    if (stored.contains({rate.prefix, rate.valid_from_us}))
      return invalid("deck", fmt::format("line {}: prefix {} is already priced from {} by another deck; a new price "
                                         "needs a later valid_from",
                                         rate.line, rate.prefix, format_date(utc_date(rate.valid_from_us))));
  return {};
}

}  // namespace

Result<DeckInfo> import_deck(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                             const std::string& name, std::string_view csv, const std::string& actor) {
  if (name.empty() || name.size() > kMaxDeckName)
    return invalid("name", fmt::format("a deck's name is 1 to {} characters", kMaxDeckName));
  PRIVOX_ASSIGN(const std::vector<Rate> rates, parse_deck_csv(csv));
  DeckInfo deck{new_id(clock.now_us()), name, static_cast<int64_t>(rates.size()), clock.now_us(), actor};
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(check_not_priced(s, rates));
    PRIVOX_TRY(s.exec("INSERT INTO rate_decks (id, name, rates, imported_at_us, imported_by) VALUES (?, ?, ?, ?, ?)",
                      {deck.id, deck.name, deck.rates, deck.imported_at_us, deck.imported_by}));
    std::vector<store::Params> rows;
    rows.reserve(rates.size());
    for (const Rate& r : rates)
      rows.push_back({r.prefix, r.valid_from_us, deck.id, r.description, r.price_per_minute_micros,
                      r.connection_fee_micros, int64_t{r.first_increment_s}, int64_t{r.next_increment_s}, r.currency});
    PRIVOX_TRY(s.insert_rows("rates", kRateColumns, rows));
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "rating.deck_import", deck.id, "billing", {{"rates", deck.rates}, {"name", name}}}));
    return {};
  }));
  return deck;
}

Result<std::vector<DeckInfo>> list_decks(store::Store& store) {
  std::vector<DeckInfo> out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT id, name, rates, imported_at_us, imported_by FROM rate_decks "
                                            "ORDER BY imported_at_us, id"));
    for (const store::Row& r : rows) out.push_back({r.text(0), r.text(1), r.i64(2), r.i64(3), r.text(4)});
    return {};
  }));
  return out;
}

Status set_plan(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const std::string& company_id,
                const std::vector<std::string>& included, const std::string& actor) {
  std::string joined;
  for (std::string p : included) {
    if (!p.empty() && p.front() == '+') p.erase(0, 1);
    if (!is_prefix(p)) return invalid("included", fmt::format("\"{}\" is not 1 to 15 digits of an E.164 prefix", p));
    joined += joined.empty() ? p : "," + p;
  }
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::find_company(s, company_id));
    PRIVOX_TRY(s.exec("INSERT INTO rating_plans (company_id, included_prefixes, updated_at_us) VALUES (?, ?, ?) "
                      "ON CONFLICT (company_id) DO UPDATE SET included_prefixes = excluded.included_prefixes, "
                      "updated_at_us = excluded.updated_at_us",
                      {company_id, joined, clock.now_us()}));
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "rating.plan_set", company_id, "billing", {{"included", joined}}}));
    return {};
  });
}

Status set_destinations(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                        const std::string& company_id, const RateTable::Destinations& rules, const std::string& actor) {
  std::string joined;
  for (const std::string& c : rules.countries) {
    const bool code = c.size() == 2 && std::isupper(static_cast<unsigned char>(c[0])) &&
                      std::isupper(static_cast<unsigned char>(c[1]));
    if (c != "*" && !code)
      return invalid("countries", fmt::format("\"{}\" is not an ISO 3166 country code such as FR (or * for any)", c));
    joined += joined.empty() ? c : "," + c;
  }
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::find_company(s, company_id));
    PRIVOX_TRY(s.exec("INSERT INTO rating_plans (company_id, allowed_countries, allow_premium, allow_high_risk, "
                      "updated_at_us) VALUES (?, ?, ?, ?, ?) ON CONFLICT (company_id) DO UPDATE SET "
                      "allowed_countries = excluded.allowed_countries, allow_premium = excluded.allow_premium, "
                      "allow_high_risk = excluded.allow_high_risk, updated_at_us = excluded.updated_at_us",
                      {company_id, joined, int64_t{rules.premium ? 1 : 0}, int64_t{rules.high_risk ? 1 : 0},
                       clock.now_us()}));
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "rating.destinations_set", company_id, "fraud",
                               {{"countries", joined}, {"premium", rules.premium}, {"high_risk", rules.high_risk}}}));
    return {};
  });
}

Result<RateTable::Destinations> destinations_of(store::Store& store, const std::string& company_id) {
  RateTable::Destinations out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT allowed_countries, allow_premium, allow_high_risk FROM rating_plans "
                                            "WHERE company_id = ?",
                                            {company_id}));
    if (!rows.empty()) out = {split_prefixes(rows[0].text(0)), rows[0].i64(1) != 0, rows[0].i64(2) != 0};
    return {};
  }));
  return out;
}

Result<std::vector<std::string>> plan_of(store::Store& store, const std::string& company_id) {
  std::vector<std::string> out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows,
                  s.query("SELECT included_prefixes FROM rating_plans WHERE company_id = ?", {company_id}));
    if (!rows.empty()) out = split_prefixes(rows[0].text(0));
    return {};
  }));
  return out;
}

Status add_high_risk(store::Store& store, const privacy::Keyring& keys, const Clock& clock, std::string prefix,
                     const std::string& description, const std::string& actor) {
  if (!prefix.empty() && prefix.front() == '+') prefix.erase(0, 1);
  if (!is_prefix(prefix)) return invalid("prefix", fmt::format("\"{}\" is not 1 to 15 digits of an E.164 prefix", prefix));
  if (description.empty() || description.size() > kMaxDeckName)
    return invalid("description", fmt::format("a description is 1 to {} characters", kMaxDeckName));
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows listed,
                  s.query("SELECT 1 FROM rating_high_risk_prefixes WHERE prefix = ?", {prefix}));
    if (!listed.empty()) return Error{ErrorCode::conflict, "prefix", fmt::format("{} is already listed", prefix)};
    PRIVOX_TRY(s.exec("INSERT INTO rating_high_risk_prefixes (prefix, description, added_at_us, added_by) "
                      "VALUES (?, ?, ?, ?)",
                      {prefix, description, clock.now_us(), actor}));
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "rating.high_risk_add", prefix, "fraud", {{"description", description}}}));
    return {};
  });
}

Status remove_high_risk(store::Store& store, const privacy::Keyring& keys, const Clock& clock, std::string prefix,
                        const std::string& actor) {
  if (!prefix.empty() && prefix.front() == '+') prefix.erase(0, 1);
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows listed,
                  s.query("SELECT 1 FROM rating_high_risk_prefixes WHERE prefix = ?", {prefix}));
    if (listed.empty()) return Error{ErrorCode::not_found, "prefix", fmt::format("{} is not listed", prefix)};
    PRIVOX_TRY(s.exec("DELETE FROM rating_high_risk_prefixes WHERE prefix = ?", {prefix}));
    PRIVOX_TRY(privacy::AuditChain(keys, clock).append(s, {actor, "rating.high_risk_remove", prefix, "fraud", {}}));
    return {};
  });
}

Result<std::vector<HighRiskPrefix>> list_high_risk(store::Store& store) {
  std::vector<HighRiskPrefix> out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT prefix, description, added_at_us, added_by "
                                            "FROM rating_high_risk_prefixes ORDER BY prefix"));
    for (const store::Row& r : rows) out.push_back({r.text(0), r.text(1), r.i64(2), r.text(3)});
    return {};
  }));
  return out;
}

std::vector<std::string> split_prefixes(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(std::move(part));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<std::shared_ptr<const RateTable>> load_table(store::Session& s) {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query("SELECT deck_id, prefix, description, price_per_minute_micros, connection_fee_micros, "
                        "first_increment_s, next_increment_s, currency, valid_from_us FROM rates ORDER BY deck_id"));
  std::vector<RateTable::Deck> decks;
  for (const store::Row& r : rows) {
    if (decks.empty() || decks.back().id != r.text(0)) decks.push_back({r.text(0), {}});
    decks.back().rates.push_back(Rate{r.text(1), r.text(2), r.i64(3), r.i64(4), static_cast<int32_t>(r.i64(5)),
                                      static_cast<int32_t>(r.i64(6)), r.text(7), r.i64(8), 0});
  }
  PRIVOX_ASSIGN(store::Rows plan_rows, s.query("SELECT company_id, included_prefixes, allowed_countries, "
                                               "allow_premium, allow_high_risk FROM rating_plans"));
  std::unordered_map<std::string, std::vector<std::string>> plans;
  std::unordered_map<std::string, RateTable::Destinations> destinations;
  for (const store::Row& r : plan_rows) {
    if (!r.text(1).empty()) plans[r.text(0)] = split_prefixes(r.text(1));
    destinations[r.text(0)] = {split_prefixes(r.text(2)), r.i64(3) != 0, r.i64(4) != 0};
  }
  PRIVOX_ASSIGN(store::Rows risky, s.query("SELECT prefix FROM rating_high_risk_prefixes"));
  std::vector<std::string> high_risk;
  for (const store::Row& r : risky) high_risk.push_back(r.text(0));
  return RateTable::build(std::move(decks), plans, std::move(destinations), high_risk);
}

Result<bool> BookKeeper::reload_if_changed() {
  bool changed = false;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    // Decks only ever arrive (each with a new id); plans are few and short, so they are compared
    // whole: a change in the same microsecond as the last still shows.
    PRIVOX_ASSIGN(store::Rows decks, s.query("SELECT count(*), coalesce(max(id), '') FROM rate_decks"));
    PRIVOX_ASSIGN(store::Rows plans, s.query("SELECT company_id, included_prefixes, allowed_countries, allow_premium, "
                                             "allow_high_risk FROM rating_plans ORDER BY company_id"));
    PRIVOX_ASSIGN(store::Rows risky, s.query("SELECT prefix FROM rating_high_risk_prefixes ORDER BY prefix"));
    std::string version = fmt::format("{}/{}", decks[0].i64(0), decks[0].text(1));
    for (const store::Row& p : plans)
      version += fmt::format("|{};{};{};{};{}", p.text(0), p.text(1), p.text(2), p.i64(3), p.i64(4));
    for (const store::Row& r : risky) version += "!" + r.text(0);
    if (version == seen_) return {};
    PRIVOX_ASSIGN(std::shared_ptr<const RateTable> table, load_table(s));
    book_.replace(std::move(table));
    seen_ = version;
    changed = true;
    return {};
  }));
  return changed;
}

Status BookKeeper::start() {
  PRIVOX_ASSIGN(const bool loaded, reload_if_changed());
  (void)loaded;
  log::info("rating", "book.loaded", {{"rates", book_.table()->rates()}});
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::microseconds(interval_us_), [this] { return stopping_; })) {
      lock.unlock();
      const auto reloaded = reload_if_changed();
      if (!reloaded.ok()) log::warn("rating", "book.reload_failed", {{"error", log::error_code(reloaded.error())}});
      else if (*reloaded) log::info("rating", "book.reloaded", {{"rates", book_.table()->rates()}});
      lock.lock();
    }
  });
  return {};
}

void BookKeeper::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace privox::rating
