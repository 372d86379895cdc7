#include "billing/top_up_charges.h"

#include "accounts/accounts.h"
#include "billing/charges.h"
#include "common/log.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::billing {
namespace {

// A top-up begun before schema 25 is sent with its office manager's current card: read under
// billing and audited, as the portal reads it. "" when she has none on file (or was erased).
Result<std::string> current_card_of(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                    const wallet::TopUp& t, const std::string& actor) {
  std::string token;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    auto fields = accounts::open_member_fields(s, keys, t.actor, {accounts::member_field("payment_token")});
    if (!fields.ok() && (fields.error().code == ErrorCode::erased || fields.error().code == ErrorCode::not_found))
      return {};
    if (!fields.ok()) return fields.error();
    if (!fields->count("payment_token")) return {};
    token = (*fields)["payment_token"];
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "member.read_payment_token", t.actor, "billing",
                               {{"for", "wallet_top_up"}, {"top_up", t.id}}}));
    return {};
  }));
  return token;
}

// Asks the provider with `card`, the token chosen for this top-up, and records the answer.
Result<wallet::TopUp> charge_with(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                  PaymentProvider& provider, const wallet::TopUp& t, const std::string& card,
                                  const std::string& actor) {
  if (card.empty())
    return wallet::end_top_up(store, keys, clock, t.id, "failed", "no card is on file to charge", actor);
  auto charged = provider.charge({card, minor_units(t.amount_micros, t.currency), t.currency, wallet::provider_key(t)});
  if (charged.ok() && !charged->declined)
    return wallet::credit_top_up(store, keys, clock, t.id, charged->id, actor);
  if (charged.ok())
    return wallet::end_top_up(store, keys, clock, t.id, "declined", charged->decline_message, actor);
  if (charged.error().code == ErrorCode::unavailable) {
    log::warn("billing", "wallet.top_up_unanswered", {{"top_up", log::Id(t.id)}});
    return t;  // still pending: asked again with the same key and card
  }
  return wallet::end_top_up(store, keys, clock, t.id, "failed", charged.error().message, actor);
}

}  // namespace

Result<wallet::TopUp> settle_top_up(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                    PaymentProvider& provider, const wallet::TopUp& t,
                                    const std::string& current_card, const std::string& actor) {
  PRIVOX_ASSIGN(const std::string held, wallet::sent_card_token(store, keys, t.id));
  return charge_with(store, keys, clock, provider, t, held.empty() ? current_card : held, actor);
}

Result<TopUpRun> settle_stale_top_ups(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                      PaymentProvider& provider, const std::string& actor, size_t limit,
                                      const std::atomic<bool>* stop) {
  PRIVOX_ASSIGN(const std::vector<wallet::TopUp> stale,
                wallet::all_pending_top_ups(store, clock.now_us() - kStalePendingTopUpUs, limit));
  TopUpRun run;
  for (const wallet::TopUp& t : stale) {
    if (stop && stop->load()) break;
    ++run.asked;
    Result<wallet::TopUp> settled = [&]() -> Result<wallet::TopUp> {
      // The card is read once: the one the top-up was first sent with, else the current one.
      PRIVOX_ASSIGN(const std::string held, wallet::sent_card_token(store, keys, t.id));
      if (!held.empty()) return charge_with(store, keys, clock, provider, t, held, actor);
      PRIVOX_ASSIGN(const std::string current, current_card_of(store, keys, clock, t, actor));
      return charge_with(store, keys, clock, provider, t, current, actor);
    }();
    if (!settled.ok()) {
      ++run.errors;
      log::warn("billing", "wallet.top_up_retry_failed",
                {{"top_up", log::Id(t.id)}, {"error", log::error_code(settled.error())}});
      continue;
    }
    if (settled->state == "succeeded") ++run.succeeded;
    else if (settled->state == "declined") ++run.declined;
    else if (settled->state == "failed") ++run.failed;
    else ++run.pending;
  }
  return run;
}

}  // namespace privox::billing
