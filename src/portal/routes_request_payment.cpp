// The administration fee of a further copy of a member's data (P13), paid in the privacy centre
// through the payment provider (P3): with a token the page just got from the provider, or with the
// card on file. Only a charge the provider confirmed is recorded as paid; a decline changes nothing.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "common/bytes.h"
#include "common/log.h"
#include "portal/routes.h"
#include "privacy/audit_record.h"
#include "rights/requests.h"

namespace privox::portal::routes {
namespace {

// The member's card token on file, read for purpose billing (audited, ids only).
Result<std::string> card_on_file(Portal::Impl& p, const std::string& member_id, const std::string& request_id) {
  std::string token;
  PRIVOX_TRY(store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(accounts::FieldValues fields,
                  accounts::open_member_fields(s, p.keys, member_id, {accounts::member_field("payment_token")}));
    if (!fields.count("payment_token")) return invalid("payment_token", "no card is on file; enter a card");
    token = fields["payment_token"];
    PRIVOX_TRY(p.audit.append(s, {member_id, "member.read_payment_token", member_id, "billing",
                                  {{"request_id", request_id}}}));
    return {};
  }));
  return token;
}

// One key per request and card: a retry after a lost answer charges nothing more, and a declined
// card does not block paying with another.
std::string idempotency_key(const std::string& request_id, const std::string& token) {
  unsigned char digest[16];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr,
                     0);
  return fmt::format("rights-fee-{}-{}", request_id, to_hex(digest, sizeof digest));
}

}  // namespace

Response request_pay(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  std::optional<Response> bad;
  std::optional<std::string> token = string_field(std::get<nlohmann::json>(parsed), "payment_token", bad);
  if (bad) return std::move(*bad);
  if (!p.options.payments) return http::json_error(status::service_unavailable, "no payment provider is configured");
  auto mine = own_request(p, e, c);
  if (!mine.ok()) return error_response(mine.error());
  const rights::Request& r = *mine;
  if (r.state != rights::RequestState::awaiting_fee || r.fee_status != rights::FeeStatus::due)
    return http::json_error(status::conflict, fmt::format("no fee is due on request {} now", r.id), "id");
  if (!token || token->empty()) {
    auto on_file = card_on_file(p, c.who.subject_id, r.id);
    if (!on_file.ok()) return error_response(on_file.error());
    token = *on_file;
  }
  auto charged = p.options.payments->charge(
      {*token, r.fee_minor_units, r.fee_currency, idempotency_key(r.id, *token)});
  if (!charged.ok()) return error_response(charged.error());
  if (charged->declined)
    return http::json_error(status::payment_required,
                            fmt::format("The payment was declined: {}. Nothing was charged; try another card.",
                                        charged->decline_message),
                            "payment_token");
  auto paid = rights::Requests(p.store, p.keys, p.clock).record_payment(r.id, charged->id, c.who.subject_id);
  if (!paid.ok()) {
    // Charged but not recorded: the same card and request reuse the key, so paying again is safe.
    // The provider's charge reference is no one's data, but it is written only if it reads as a code.
    log::error("portal", "request_payment.not_recorded",
               {{"request", log::Id(r.id)}, {"charge", log::Code(charged->id)}, {"error", log::error_code(paid.error())}});
    return error_response(paid.error());
  }
  mail_status(p, *paid, rights::StatusMail::paid, c.who.subject_id);
  const rights::Request after = after_settled(p, *paid, c.who.subject_id);
  nlohmann::json answer = after.to_json(p.clock.now_us());
  answer["receipt"] = {{"amount", format_money(r.fee_minor_units, r.fee_currency)},
                       {"minor_units", r.fee_minor_units},
                       {"currency", r.fee_currency},
                       {"reference", charged->id},
                       {"date", format_date(utc_date(p.clock.now_us()))}};
  return http::json_response(status::ok, answer);
}

}  // namespace privox::portal::routes
