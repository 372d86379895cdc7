// The data map's part for wallet/: a tenant's prepaid balance, cap and ledger, none of it about a
// person (privacy/datamap.h).
#include "wallet/module.h"

#include <array>

namespace privox::wallet {
namespace {

using privacy::StructuralColumn;

// clang-format off
constexpr std::array<StructuralColumn, 31> kStructural = {
  StructuralColumn{"wallet_accounts", "company_id", "the tenant the wallet is for; a business, not a person"},
  StructuralColumn{"wallet_accounts", "currency", "an ISO 4217 code"},
  StructuralColumn{"wallet_accounts", "balance_micros", "an amount, in millionths of the currency"},
  StructuralColumn{"wallet_accounts", "daily_cap_micros", "the tenant's daily international spend cap, in millionths of the currency"},
  StructuralColumn{"wallet_accounts", "spent_day_us", "the start of the UTC day spent_day_micros counts"},
  StructuralColumn{"wallet_accounts", "spent_day_micros", "what the tenant's international calls cost that day, in millionths of the currency"},
  StructuralColumn{"wallet_accounts", "updated_at_us", "when the wallet last changed"},
  StructuralColumn{"wallet_ledger", "id", "random identifier of a balance change"},
  StructuralColumn{"wallet_ledger", "company_id", "the tenant whose balance changed; a business, not a person"},
  StructuralColumn{"wallet_ledger", "seq", "the change's number in the tenant's ledger"},
  StructuralColumn{"wallet_ledger", "kind", "top-up, call debit or adjustment"},
  StructuralColumn{"wallet_ledger", "amount_micros", "an amount, in millionths of the currency"},
  StructuralColumn{"wallet_ledger", "balance_after_micros", "an amount, in millionths of the currency"},
  StructuralColumn{"wallet_ledger", "currency", "an ISO 4217 code"},
  StructuralColumn{"wallet_ledger", "traffic_record_id", "random identifier of the call debited (its traffic record); no number or party"},
  StructuralColumn{"wallet_ledger", "note", "the operator's reason for an adjustment, about the money; staff are told not to name people in it"},
  StructuralColumn{"wallet_ledger", "actor", "who changed the balance (staff id, cli: or the node's debits), as the audit log names actors"},
  StructuralColumn{"wallet_ledger", "at_us", "when the balance changed"},
  StructuralColumn{"wallet_top_ups", "id", "random identifier of a card top-up"},
  StructuralColumn{"wallet_top_ups", "company_id", "the tenant whose balance it tops up; a business, not a person"},
  StructuralColumn{"wallet_top_ups", "client_key", "the idempotency key the portal page made for the top-up; random, no meaning"},
  StructuralColumn{"wallet_top_ups", "amount_micros", "an amount, in millionths of the currency"},
  StructuralColumn{"wallet_top_ups", "currency", "an ISO 4217 code"},
  StructuralColumn{"wallet_top_ups", "state", "pending, succeeded, declined or failed"},
  StructuralColumn{"wallet_top_ups", "provider_reference", "the payment provider's charge id; no card detail"},
  StructuralColumn{"wallet_top_ups", "message", "why the provider declined or refused the charge, in its words; no card detail"},
  StructuralColumn{"wallet_top_ups", "ledger_entry_id", "the ledger row its credit made"},
  StructuralColumn{"wallet_top_ups", "actor", "who asked for it (staff id), as the audit log names actors"},
  StructuralColumn{"wallet_top_ups", "created_at_us", "when it was asked for"},
  StructuralColumn{"wallet_top_ups", "at_us", "when its state last changed"},
  StructuralColumn{"wallet_top_ups", "card_token_sealed", "the payment provider's token of the card the top-up was sent with, sealed; kept only while pending, so that a retry re-sends it"},
};
// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"wallet", {}, kStructural}; }

}  // namespace privox::wallet
