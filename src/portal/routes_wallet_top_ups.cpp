// An office manager tops up the company's international balance with the card on file (issue 17).
// The top-up is recorded as pending with the client's Idempotency-Key and the card it is sent with
// before the provider is asked (wallet/top_ups.h), and the provider is sent a key of its own per
// top-up (billing/top_up_charges.h), so a double submit or a retry after a lost answer charges once
// and credits once; billing's job asks again for those left pending. The company is the session's.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "billing/charges.h"
#include "billing/top_up_charges.h"
#include "common/log.h"
#include "portal/routes.h"
#include "privacy/audit_record.h"
#include "store/settings.h"
#include "wallet/top_ups.h"
#include "wallet/wallet.h"

namespace privox::portal::routes {
namespace {

// The caller's own card token, read for purpose billing (audited, ids only); empty when none.
Result<std::string> top_up_card(Portal::Impl& p, const std::string& member_id) {
  std::string token;
  PRIVOX_TRY(store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(accounts::FieldValues fields,
                  accounts::open_member_fields(s, p.keys, member_id, {accounts::member_field("payment_token")}));
    if (!fields.count("payment_token")) return {};
    token = fields["payment_token"];
    PRIVOX_TRY(p.audit.append(s, {member_id, "member.read_payment_token", member_id, "billing",
                                  {{"for", "wallet_top_up"}}}));
    return {};
  }));
  return token;
}

// "25", "25.5", "25.00": a positive amount with at most `digits` decimals, as micros.
std::optional<int64_t> top_up_amount(std::string_view text, int digits) {
  const size_t dot = text.find('.');
  if (dot != std::string_view::npos && text.size() - dot - 1 > static_cast<size_t>(digits)) return std::nullopt;
  if (text.empty() || text.front() == '-' || text.front() == '+') return std::nullopt;
  const std::optional<int64_t> micros = wallet::parse_signed_amount(text);
  if (!micros || *micros <= 0) return std::nullopt;
  return micros;
}

// The currency a top-up is in: the wallet's, or for a wallet's first, the operator's billing currency.
Result<std::string> top_up_currency(Portal::Impl& p, const std::string& company_id) {
  PRIVOX_ASSIGN(const wallet::Wallet w, wallet::wallet_of(p.store, p.clock, company_id));
  if (!w.currency.empty()) return w.currency;
  return store::Settings(p.store).text("billing.currency");
}

Response top_up_answer(Portal::Impl& p, status code, const wallet::TopUp& t) {
  nlohmann::json body = {{"top_up", wallet::to_json(t)}};
  auto w = wallet::wallet_of(p.store, p.clock, t.company_id);
  if (w.ok()) body["wallet"] = wallet::to_json(*w);
  return http::json_response(code, body);
}

Response ended_answer(const wallet::TopUp& t) {
  const std::string why = t.state == "declined" ? "The card was declined" : "The payment provider refused the charge";
  return http::json_error(status::payment_required,
                          fmt::format("{}: {}. Nothing was charged or added to the balance.", why, t.message), "card");
}

// Asks the provider (again, with the top-up's own key and card, when it is pending) and records the answer.
Result<wallet::TopUp> settle_top_up(Portal::Impl& p, const wallet::TopUp& t, const std::string& token,
                                    const std::string& actor) {
  return billing::settle_top_up(p.store, p.keys, p.clock, *p.options.payments, t, token, actor);
}

// The caller's own top-ups whose answer was lost a while ago: asked again before a new one, so that
// one is never left hanging until billing's next round.
void settle_stale_top_ups(Portal::Impl& p, const Caller& c, const std::string& token) {
  auto stale = wallet::pending_top_ups(p.store, c.who.company_id, p.clock.now_us() - billing::kStalePendingTopUpUs);
  if (!stale.ok()) return;
  for (const wallet::TopUp& t : *stale) {
    if (t.actor != c.who.subject_id) continue;
    auto settled = settle_top_up(p, t, token, c.who.subject_id);
    if (!settled.ok())
      log::warn("portal", "wallet.top_up_retry_failed",
                {{"top_up", log::Id(t.id)}, {"error", log::error_code(settled.error())}});
  }
}

}  // namespace

Response wallet_top_up(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only the company's office managers top up its wallet", "role");
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  std::optional<Response> bad;
  const std::optional<std::string> amount = string_field(std::get<nlohmann::json>(parsed), "amount", bad);
  if (bad) return std::move(*bad);
  const std::string key(e.header("Idempotency-Key"));
  if (key.empty()) return http::json_error(status::bad_request, "is required: a new random key for each top-up", "Idempotency-Key");
  if (!p.options.payments) return http::json_error(status::service_unavailable, "no payment provider is configured");
  auto currency = top_up_currency(p, c.who.company_id);
  if (!currency.ok()) return error_response(currency.error());
  const int digits = billing::minor_digits(*currency);
  const std::optional<int64_t> micros = top_up_amount(amount.value_or(""), digits);
  if (!micros)
    return http::json_error(status::bad_request,
                            fmt::format("is a positive amount of {} with at most {} decimals, such as \"25.00\"",
                                        *currency, digits),
                            "amount");
  auto limits = wallet::top_up_limits(store::Settings(p.store));
  if (!limits.ok()) return error_response(limits.error());
  auto token = top_up_card(p, c.who.subject_id);
  if (!token.ok()) return error_response(token.error());
  if (token->empty())
    return http::json_error(status::conflict,
                            "you have no card on file; the office manager who signed the company up can top up", "card");
  auto begun = wallet::begin_top_up(p.store, p.keys, p.clock, *limits, c.who.company_id, key, *micros, *currency,
                                    *token, c.who.subject_id);
  if (!begun.ok()) return error_response(begun.error());
  if (begun->fresh) settle_stale_top_ups(p, c, *token);
  wallet::TopUp t = begun->top_up;
  if (t.state == "pending") {
    auto settled = settle_top_up(p, t, *token, c.who.subject_id);
    if (!settled.ok()) return error_response(settled.error());
    t = *settled;
  }
  if (t.state == "succeeded") return top_up_answer(p, begun->fresh ? status::created : status::ok, t);
  if (t.state == "pending") return top_up_answer(p, status::accepted, t);
  return ended_answer(t);
}

}  // namespace privox::portal::routes
