#include "wallet/wallet.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "rating/deck.h"

namespace privox::wallet {
namespace {

constexpr size_t kMaxNote = 200;
constexpr int64_t kMaxBalance = std::numeric_limits<int64_t>::max() / 4;
constexpr int64_t kDayUs = 86'400'000'000;

bool is_currency(std::string_view c) {
  return c.size() == 3 && std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
}

LedgerEntry entry_of(const store::Row& r) {
  return {r.text(0), r.text(1), r.i64(2), r.i64(3), r.text(4), r.text_or(5, ""), r.text(6), r.text(7), r.i64(8)};
}

constexpr std::string_view kLedgerColumns =
    "id, kind, amount_micros, balance_after_micros, currency, traffic_record_id, note, actor, at_us";

// The company's wallet row (made empty if it has none), locked for the rest of the transaction on
// PostgreSQL by the update that follows in each caller.
constexpr const char* kAccountColumns =
    "company_id, currency, balance_micros, daily_cap_micros, spent_day_us, spent_day_micros";

// A wallet_accounts row (kAccountColumns), with today's spend as of `now_us`.
Wallet wallet_from(const store::Row& r, int64_t now_us) {
  Wallet w{r.text(0), r.text(1), r.i64(2), std::nullopt, 0};
  if (!r.is_null(3)) w.daily_cap_micros = r.i64(3);
  if (r.i64(4) == day_start_us(now_us)) w.spent_today_micros = r.i64(5);
  return w;
}

Result<Wallet> open_account(store::Session& s, const std::string& company_id, int64_t now_us) {
  PRIVOX_TRY(
      s.exec("INSERT INTO wallet_accounts (company_id, updated_at_us) VALUES (?, ?) "
             "ON CONFLICT (company_id) DO NOTHING",
             {company_id, now_us}));
  // A no-op update takes the row's lock first, so two changes of one wallet serialise.
  PRIVOX_TRY(s.exec("UPDATE wallet_accounts SET updated_at_us = updated_at_us WHERE company_id = ?", {company_id}));
  PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("SELECT {} FROM wallet_accounts WHERE company_id = ?",
                                                      kAccountColumns),
                                          {company_id}));
  return wallet_from(rows[0], now_us);
}

// Moves the balance by `amount` and writes its ledger row and audit entry, all in `s`.
Result<LedgerEntry> record_change(store::Session& s, const privacy::Keyring& keys, const Clock& clock, const Wallet& w,
                                  std::string_view kind, int64_t amount, const std::string& traffic_record_id,
                                  const std::string& note, const std::string& actor, std::string_view action) {
  const int64_t now = clock.now_us();
  if ((amount > 0 && w.balance_micros > kMaxBalance - amount) ||
      (amount < 0 && w.balance_micros < -kMaxBalance - amount))
    return invalid("amount", "the balance would leave the range a wallet can hold");
  LedgerEntry e{new_id(now), std::string(kind), amount, w.balance_micros + amount,
                w.currency,  traffic_record_id, note,   actor,
                now};
  // A call's cost adds to the day's spend (w's is today's as open_account read it in this transaction).
  const int64_t spent = kind == "call" ? w.spent_today_micros - amount : w.spent_today_micros;
  PRIVOX_TRY(s.exec("UPDATE wallet_accounts SET currency = ?, balance_micros = ?, spent_day_us = ?, "
                    "spent_day_micros = ?, updated_at_us = ? WHERE company_id = ?",
                    {e.currency, e.balance_after_micros, day_start_us(now), spent, now, w.company_id}));
  PRIVOX_ASSIGN(store::Rows last,
                s.query("SELECT coalesce(max(seq), 0) FROM wallet_ledger WHERE company_id = ?", {w.company_id}));
  PRIVOX_TRY(s.exec(
      fmt::format("INSERT INTO wallet_ledger (company_id, seq, {}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  kLedgerColumns),
      {w.company_id, last[0].i64(0) + 1, e.id, e.kind, e.amount_micros, e.balance_after_micros, e.currency,
       traffic_record_id.empty() ? store::null_value() : store::Value{traffic_record_id}, e.note, e.actor, e.at_us}));
  // company_id, not a subject: a wallet is a business's, and its audit names no person.
  nlohmann::json detail = {
      {"company", w.company_id}, {"amount_micros", amount}, {"currency", e.currency}, {"entry", e.id}};
  if (!traffic_record_id.empty()) detail["traffic_record"] = traffic_record_id;
  PRIVOX_TRY(privacy::AuditChain(keys, clock).append(s, {actor, std::string(action), "", "billing", detail}));
  return e;
}


// The records among `debits` that already have a ledger row (a debit retried after its commit's
// answer was lost, or posted twice).
Result<std::unordered_set<std::string>> already_debited(store::Session& s, const std::vector<Debit>& debits) {
  constexpr size_t kChunk = 200;  // well under SQLite's and libpq's limits on parameters
  std::unordered_set<std::string> done;
  for (size_t from = 0; from < debits.size(); from += kChunk) {
    const size_t n = std::min(kChunk, debits.size() - from);
    std::vector<store::Value> ids;
    ids.reserve(n);
    for (size_t i = from; i < from + n; ++i) ids.emplace_back(debits[i].traffic_record_id);
    std::string marks = "?";
    for (size_t i = 1; i < n; ++i) marks += ", ?";
    PRIVOX_ASSIGN(store::Rows rows,
                  s.query(fmt::format("SELECT traffic_record_id FROM wallet_ledger WHERE traffic_record_id IN ({})",
                                      marks),
                          ids));
    for (const store::Row& r : rows) done.insert(r.text(0));
  }
  return done;
}

// Debits `calls` (the wallet's currency, positive costs) from `w` in `s`: a ledger row each, then
// one balance update and one audit entry for them all.
Status record_calls(store::Session& s, const privacy::Keyring& keys, const Clock& clock, const Wallet& w,
                    const std::vector<const Debit*>& calls, const std::string& actor) {
  const int64_t now = clock.now_us();
  PRIVOX_ASSIGN(store::Rows last,
                s.query("SELECT coalesce(max(seq), 0) FROM wallet_ledger WHERE company_id = ?", {w.company_id}));
  const int64_t first_seq = last[0].i64(0) + 1;
  int64_t balance = w.balance_micros, total = 0;
  for (size_t i = 0; i < calls.size(); ++i) {
    const Debit& d = *calls[i];
    balance -= d.cost_micros;
    total += d.cost_micros;
    PRIVOX_TRY(s.exec(
        fmt::format("INSERT INTO wallet_ledger (company_id, seq, {}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    kLedgerColumns),
        {w.company_id, first_seq + static_cast<int64_t>(i), new_id(now), "call", -d.cost_micros, balance, w.currency,
         d.traffic_record_id, "", actor, now}));
  }
  PRIVOX_TRY(s.exec("UPDATE wallet_accounts SET balance_micros = ?, spent_day_us = ?, spent_day_micros = ?, "
                    "updated_at_us = ? WHERE company_id = ?",
                    {balance, day_start_us(now), w.spent_today_micros + total, now, w.company_id}));
  // company_id, not a subject: a wallet is a business's, and its audit names no person.
  const nlohmann::json detail = {{"company", w.company_id},
                                 {"amount_micros", -total},
                                 {"currency", w.currency},
                                 {"calls", calls.size()},
                                 {"ledger_seq_from", first_seq},
                                 {"ledger_seq_to", first_seq + static_cast<int64_t>(calls.size()) - 1}};
  PRIVOX_TRY(privacy::AuditChain(keys, clock).append(s, {actor, "wallet.debit", "", "billing", detail}));
  return {};
}

}  // namespace

int64_t day_start_us(int64_t us) { return us - (((us % kDayUs) + kDayUs) % kDayUs); }

std::string amount_text(int64_t micros) {
  const bool negative = micros < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  std::string fraction = fmt::format("{:06}", magnitude % 1'000'000);
  while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
  return fmt::format("{}{}.{}", negative ? "-" : "", magnitude / 1'000'000, fraction);
}

std::optional<int64_t> parse_signed_amount(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty() || text.front() == '-' || text.front() == '+') return std::nullopt;
  const std::optional<int64_t> magnitude = rating::parse_amount_micros(text);
  if (!magnitude) return std::nullopt;
  return negative ? -*magnitude : *magnitude;
}

nlohmann::json to_json(const Wallet& w) {
  nlohmann::json j = {{"company_id", w.company_id},
                      {"currency", w.currency},
                      {"balance", amount_text(w.balance_micros)},
                      {"balance_micros", w.balance_micros},
                      {"spent_today", amount_text(w.spent_today_micros)},
                      {"spent_today_micros", w.spent_today_micros},
                      {"daily_cap", nullptr},
                      {"daily_cap_micros", nullptr}};
  if (w.daily_cap_micros) {
    j["daily_cap"] = amount_text(*w.daily_cap_micros);
    j["daily_cap_micros"] = *w.daily_cap_micros;
  }
  return j;
}

nlohmann::json to_json(const LedgerEntry& e) {
  return {{"id", e.id},
          {"kind", e.kind},
          {"amount", amount_text(e.amount_micros)},
          {"amount_micros", e.amount_micros},
          {"balance_after", amount_text(e.balance_after_micros)},
          {"balance_after_micros", e.balance_after_micros},
          {"currency", e.currency},
          {"traffic_record_id", e.traffic_record_id.empty() ? nlohmann::json() : nlohmann::json(e.traffic_record_id)},
          {"note", e.note},
          {"actor", e.actor},
          {"at", format_utc(e.at_us)}};
}

Result<LedgerEntry> top_up(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                           const std::string& company_id, int64_t amount_micros, const std::string& currency,
                           const std::string& actor) {
  if (amount_micros <= 0) return invalid("amount", "a top-up is a positive amount such as 25.00");
  if (!currency.empty() && !is_currency(currency))
    return invalid("currency", fmt::format("\"{}\" is not an ISO 4217 code such as GBP", currency));
  LedgerEntry out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(out, top_up(s, keys, clock, company_id, amount_micros, currency, actor));
    return {};
  }));
  return out;
}

Result<LedgerEntry> top_up(store::Session& s, const privacy::Keyring& keys, const Clock& clock,
                           const std::string& company_id, int64_t amount_micros, const std::string& currency,
                           const std::string& actor) {
  if (amount_micros <= 0) return invalid("amount", "a top-up is a positive amount such as 25.00");
  if (!currency.empty() && !is_currency(currency))
    return invalid("currency", fmt::format("\"{}\" is not an ISO 4217 code such as GBP", currency));
  PRIVOX_TRY(accounts::find_company(s, company_id));
  PRIVOX_ASSIGN(Wallet w, open_account(s, company_id, clock.now_us()));
  if (w.currency.empty() && currency.empty())
    return invalid("currency", "the wallet has no currency yet: give one with its first top-up (such as GBP)");
  if (!w.currency.empty() && !currency.empty() && currency != w.currency)
    return invalid("currency", fmt::format("the wallet is in {}, not {}", w.currency, currency));
  if (w.currency.empty()) w.currency = currency;
  return record_change(s, keys, clock, w, "top_up", amount_micros, "", "", actor, "wallet.top_up");
}

Result<LedgerEntry> adjust(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                           const std::string& company_id, int64_t amount_micros, const std::string& note,
                           const std::string& actor) {
  if (amount_micros == 0) return invalid("amount", "an adjustment is a non-zero amount such as -2.50 or 1.00");
  if (note.empty() || note.size() > kMaxNote)
    return invalid("note", fmt::format("an adjustment's reason is 1 to {} characters", kMaxNote));
  LedgerEntry out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::find_company(s, company_id));
    PRIVOX_ASSIGN(const Wallet w, open_account(s, company_id, clock.now_us()));
    if (w.currency.empty()) return invalid("currency", "the wallet has no currency yet: top it up first");
    PRIVOX_ASSIGN(out, record_change(s, keys, clock, w, "adjustment", amount_micros, "", note, actor, "wallet.adjust"));
    return {};
  }));
  return out;
}

Status set_cap(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const std::string& company_id,
               std::optional<int64_t> cap_micros, const std::string& actor) {
  if (cap_micros && *cap_micros < 0) return invalid("cap", "a daily cap is zero or more (or none)");
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::find_company(s, company_id));
    PRIVOX_TRY(open_account(s, company_id, clock.now_us()));
    PRIVOX_TRY(s.exec("UPDATE wallet_accounts SET daily_cap_micros = ?, updated_at_us = ? WHERE company_id = ?",
                      {cap_micros ? store::Value{*cap_micros} : store::null_value(), clock.now_us(), company_id}));
    nlohmann::json detail = {{"company", company_id}, {"cap_micros", nullptr}};
    if (cap_micros) detail["cap_micros"] = *cap_micros;
    PRIVOX_TRY(privacy::AuditChain(keys, clock).append(s, {actor, "wallet.cap_set", "", "billing", detail}));
    return {};
  });
}

Result<std::unordered_set<std::string>> prepaid_calls(store::Session& s, const std::string& company_id,
                                                      int64_t since_us) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT traffic_record_id FROM wallet_ledger WHERE company_id = ? "
                                          "AND kind = 'call' AND at_us >= ?",
                                          {company_id, since_us}));
  std::unordered_set<std::string> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.insert(r.text(0));
  return out;
}

Result<std::vector<Wallet>> all_wallets(store::Session& s, int64_t now_us) {
  PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("SELECT {} FROM wallet_accounts", kAccountColumns)));
  std::vector<Wallet> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(wallet_from(r, now_us));
  return out;
}

Result<Wallet> wallet_of(store::Store& store, const Clock& clock, const std::string& company_id) {
  Wallet out{company_id, "", 0, std::nullopt, 0};
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::find_company(s, company_id));
    PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("SELECT {} FROM wallet_accounts WHERE company_id = ?",
                                                        kAccountColumns),
                                            {company_id}));
    if (!rows.empty()) out = wallet_from(rows[0], clock.now_us());
    return {};
  }));
  return out;
}

Result<std::vector<LedgerEntry>> ledger_of(store::Store& store, const std::string& company_id, size_t limit) {
  std::vector<LedgerEntry> out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows,
                  s.query(fmt::format("SELECT {} FROM wallet_ledger WHERE company_id = ? ORDER BY seq DESC "
                                      "LIMIT ?",
                                      kLedgerColumns),
                          {company_id, static_cast<int64_t>(limit)}));
    out.reserve(rows.size());
    for (const store::Row& r : rows) out.push_back(entry_of(r));
    return {};
  }));
  return out;
}

Result<std::vector<DebitOutcome>> debit_calls(store::Session& s, const privacy::Keyring& keys, const Clock& clock,
                                              const std::vector<Debit>& debits, const std::string& actor) {
  std::vector<DebitOutcome> outcomes(debits.size(), DebitOutcome::debited);
  PRIVOX_ASSIGN(const std::unordered_set<std::string> done, already_debited(s, debits));
  // Each company's calls, in the batch's order; a record twice in one batch is debited once.
  std::map<std::string, std::vector<size_t>> by_company;
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < debits.size(); ++i) {
    const Debit& d = debits[i];
    if (d.cost_micros <= 0)
      outcomes[i] = DebitOutcome::not_positive;
    else if (done.contains(d.traffic_record_id) || !seen.insert(d.traffic_record_id).second)
      outcomes[i] = DebitOutcome::already_debited;
    else
      by_company[d.company_id].push_back(i);
  }
  for (auto& [company, indices] : by_company) {
    PRIVOX_ASSIGN(const Wallet w, open_account(s, company, clock.now_us()));
    std::vector<const Debit*> payable;
    int64_t balance = w.balance_micros;
    for (size_t i : indices) {
      if (debits[i].currency != w.currency) {
        outcomes[i] = DebitOutcome::other_currency;
      } else if (balance < -kMaxBalance + debits[i].cost_micros) {
        outcomes[i] = DebitOutcome::out_of_range;  // skipped, so that it never blocks the batch
      } else {
        balance -= debits[i].cost_micros;
        payable.push_back(&debits[i]);
      }
    }
    if (!payable.empty()) PRIVOX_TRY(record_calls(s, keys, clock, w, payable, actor));
  }
  return outcomes;
}

Result<bool> debit_call(store::Session& s, const privacy::Keyring& keys, const Clock& clock, const Debit& debit,
                        const std::string& actor) {
  if (debit.cost_micros <= 0) return invalid("amount", "a call's debit is a positive cost");
  PRIVOX_ASSIGN(const std::vector<DebitOutcome> outcome, debit_calls(s, keys, clock, {debit}, actor));
  if (outcome[0] == DebitOutcome::other_currency) {
    PRIVOX_ASSIGN(const Wallet w, open_account(s, debit.company_id, clock.now_us()));
    return invalid("currency", fmt::format("the call is priced in {}, the wallet is in {}", debit.currency,
                                           w.currency.empty() ? "no currency yet" : w.currency));
  }
  if (outcome[0] == DebitOutcome::out_of_range)
    return invalid("amount", "the balance would leave the range a wallet can hold");
  return outcome[0] == DebitOutcome::debited;
}

Result<bool> debit_call(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Debit& debit,
                        const std::string& actor) {
  bool debited = false;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(debited, debit_call(s, keys, clock, debit, actor));
    return {};
  }));
  return debited;
}

}  // namespace privox::wallet
