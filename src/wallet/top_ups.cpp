#include "wallet/top_ups.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "wallet/wallet.h"

namespace privox::wallet {
namespace {

constexpr size_t kMaxClientKey = 100;
constexpr const char* kTopUpColumns =
    "id, company_id, client_key, amount_micros, currency, state, provider_reference, message, ledger_entry_id, "
    "actor, created_at_us, at_us";

TopUp top_up_of_row(const store::Row& r) {
  return {r.text(0), r.text(1), r.text(2),        r.i64(3),  r.text(4), r.text(5),
          r.text(6), r.text(7), r.text_or(8, ""), r.text(9), r.i64(10), r.i64(11)};
}

bool is_client_key(std::string_view key) {
  return !key.empty() && key.size() <= kMaxClientKey && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == ':';
  });
}

Result<std::optional<TopUp>> find_top_up(store::Session& s, std::string_view where, const store::Params& params) {
  PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("SELECT {} FROM wallet_top_ups WHERE {}", kTopUpColumns, where),
                                          params));
  if (rows.empty()) return std::optional<TopUp>();
  return std::optional<TopUp>(top_up_of_row(rows[0]));
}

// The sealed token opens only for its own top-up.
std::string token_purpose(const std::string& top_up_id) { return "top-up-token:" + top_up_id; }

Result<TopUp> top_up_by_id(store::Session& s, const std::string& id) {
  PRIVOX_ASSIGN(const std::optional<TopUp> t, find_top_up(s, "id = ?", {id}));
  if (!t) return Error{ErrorCode::not_found, "id", "no top-up has this id"};
  return *t;
}

// The top-ups a WHERE clause (with its ORDER BY and LIMIT) selects, in one read transaction.
Result<std::vector<TopUp>> top_ups_where(store::Store& store, std::string_view where, const store::Params& params) {
  std::vector<TopUp> out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows,
                  s.query(fmt::format("SELECT {} FROM wallet_top_ups WHERE {}", kTopUpColumns, where), params));
    out.reserve(rows.size());
    for (const store::Row& r : rows) out.push_back(top_up_of_row(r));
    return {};
  }));
  return out;
}

// Ids, states and amounts only: a top-up is the company's money, and its actor is named as actor.
Status audit_top_up(store::Session& s, const privacy::Keyring& keys, const Clock& clock, const std::string& actor,
                    const std::string& action, const TopUp& t) {
  PRIVOX_TRY(privacy::AuditChain(keys, clock)
                 .append(s, {actor, action, "", "billing",
                             {{"company", t.company_id},
                              {"top_up", t.id},
                              {"state", t.state},
                              {"amount_micros", t.amount_micros},
                              {"currency", t.currency}}}));
  return {};
}

}  // namespace

Result<TopUpLimits> top_up_limits(const store::Settings& settings) {
  PRIVOX_ASSIGN(const int64_t min, settings.integer("wallet.top_up_min_micros"));
  PRIVOX_ASSIGN(const int64_t max, settings.integer("wallet.top_up_max_micros"));
  return TopUpLimits{min, max};
}

std::string provider_key(const TopUp& top_up) { return "wallet-top-up-" + top_up.id; }

Result<BegunTopUp> begin_top_up(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                const TopUpLimits& limits, const std::string& company_id,
                                const std::string& client_key, int64_t amount_micros, const std::string& currency,
                                const std::string& card_token, const std::string& actor) {
  if (!is_client_key(client_key))
    return invalid("Idempotency-Key", fmt::format("is 1 to {} letters, digits, '-', '_', '.' or ':', new for each top-up",
                                                  kMaxClientKey));
  if (amount_micros < limits.min_micros || amount_micros > limits.max_micros)
    return invalid("amount", fmt::format("a top-up is from {} to {} {}", amount_text(limits.min_micros),
                                         amount_text(limits.max_micros), currency));
  if (currency.size() != 3) return invalid("currency", "an ISO 4217 code such as GBP");
  BegunTopUp out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::find_company(s, company_id));
    const int64_t now = clock.now_us();
    const TopUp fresh{new_id(now), company_id, client_key, amount_micros, currency, "pending", "", "", "", actor,
                      now,         now};
    // Two submits racing with one key: one row wins, the other reads it.
    PRIVOX_ASSIGN(const int64_t inserted,
                  s.exec(fmt::format("INSERT INTO wallet_top_ups ({}, card_token_sealed) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                     "ON CONFLICT (company_id, client_key) DO NOTHING",
                                     kTopUpColumns),
                         {fresh.id, company_id, client_key, amount_micros, currency, "pending", "", "",
                          store::null_value(), actor, now, now,
                          card_token.empty() ? store::null_value()
                                             : store::Value{keys.seal_secret(token_purpose(fresh.id), card_token)}}));
    if (inserted == 1) {
      out = {fresh, true};
      return audit_top_up(s, keys, clock, actor, "wallet.top_up_requested", fresh);
    }
    PRIVOX_ASSIGN(const std::optional<TopUp> earlier,
                  find_top_up(s, "company_id = ? AND client_key = ?", {company_id, client_key}));
    if (!earlier) return make_error(ErrorCode::internal, "a top-up's key was taken but its row is gone");
    if (earlier->amount_micros != amount_micros || earlier->currency != currency)
      return Error{ErrorCode::conflict, "Idempotency-Key",
                   fmt::format("was used for a top-up of {} {}; use a new key for a new top-up",
                               amount_text(earlier->amount_micros), earlier->currency)};
    out = {*earlier, false};
    return {};
  }));
  return out;
}

Result<TopUp> credit_top_up(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                            const std::string& id, const std::string& provider_reference, const std::string& actor) {
  TopUp out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    // Only the call that moves it out of pending credits: a second one finds it succeeded.
    PRIVOX_ASSIGN(const int64_t moved,
                  s.exec("UPDATE wallet_top_ups SET state = 'succeeded', provider_reference = ?, at_us = ?, "
                         "card_token_sealed = NULL WHERE id = ? AND state = 'pending'",
                         {provider_reference, clock.now_us(), id}));
    PRIVOX_ASSIGN(out, top_up_by_id(s, id));
    if (moved == 0) {
      if (out.state == "succeeded") return {};
      return Error{ErrorCode::conflict, "id", fmt::format("the top-up was {}: nothing is credited", out.state)};
    }
    PRIVOX_ASSIGN(const LedgerEntry entry,
                  top_up(s, keys, clock, out.company_id, out.amount_micros, out.currency, out.actor));
    PRIVOX_TRY(s.exec("UPDATE wallet_top_ups SET ledger_entry_id = ? WHERE id = ?", {entry.id, id}));
    out.ledger_entry_id = entry.id;
    return audit_top_up(s, keys, clock, actor, "wallet.top_up_charged", out);
  }));
  return out;
}

Result<TopUp> end_top_up(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const std::string& id,
                         const std::string& state, const std::string& message, const std::string& actor) {
  if (state != "declined" && state != "failed") return invalid("state", "a top-up ends declined or failed");
  TopUp out;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const int64_t moved,
                  s.exec("UPDATE wallet_top_ups SET state = ?, message = ?, at_us = ?, card_token_sealed = NULL "
                         "WHERE id = ? AND state = 'pending'",
                         {state, message, clock.now_us(), id}));
    PRIVOX_ASSIGN(out, top_up_by_id(s, id));
    if (moved == 0) return {};
    return audit_top_up(s, keys, clock, actor, "wallet.top_up_" + state, out);
  }));
  return out;
}

Result<std::vector<TopUp>> pending_top_ups(store::Store& store, const std::string& company_id, int64_t begun_by_us) {
  return top_ups_where(store, "company_id = ? AND state = 'pending' AND created_at_us <= ? ORDER BY created_at_us, id",
                       {company_id, begun_by_us});
}

Result<std::vector<TopUp>> all_pending_top_ups(store::Store& store, int64_t begun_by_us, size_t limit) {
  return top_ups_where(store, "state = 'pending' AND created_at_us <= ? ORDER BY created_at_us, id LIMIT ?",
                       {begun_by_us, static_cast<int64_t>(limit)});
}

Result<std::string> sent_card_token(store::Store& store, const privacy::Keyring& keys, const std::string& id) {
  std::string token;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT card_token_sealed FROM wallet_top_ups WHERE id = ?", {id}));
    if (rows.empty()) return Error{ErrorCode::not_found, "id", "no top-up has this id"};
    if (rows[0].is_null(0)) return {};
    PRIVOX_ASSIGN(token, keys.open_secret(token_purpose(id), rows[0].blob(0)));
    return {};
  }));
  return token;
}

nlohmann::json to_json(const TopUp& t) {
  return {{"id", t.id},
          {"state", t.state},
          {"amount", amount_text(t.amount_micros)},
          {"amount_micros", t.amount_micros},
          {"currency", t.currency},
          {"reference", t.provider_reference},
          {"message", t.message},
          {"ledger_entry_id", t.ledger_entry_id.empty() ? nlohmann::json() : nlohmann::json(t.ledger_entry_id)},
          {"created_at", format_utc(t.created_at_us)},
          {"at", format_utc(t.at_us)}};
}

}  // namespace privox::wallet
