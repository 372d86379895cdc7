// The data map's part for rating/: prices and plans, none of it about a person (privacy/datamap.h).
#include "rating/module.h"

#include <array>

namespace privox::rating {
namespace {

using privacy::StructuralColumn;

// clang-format off
constexpr std::array<StructuralColumn, 24> kStructural = {
  StructuralColumn{"rate_decks", "id", "random identifier of a deck import"},
  StructuralColumn{"rate_decks", "name", "the operator's name for the deck (a carrier's price list); not about a person"},
  StructuralColumn{"rate_decks", "rates", "how many rates the import brought"},
  StructuralColumn{"rate_decks", "imported_at_us", "when the deck was imported"},
  StructuralColumn{"rate_decks", "imported_by", "the operator account that imported it (staff id or cli:), as the audit log names actors"},
  StructuralColumn{"rates", "prefix", "a destination prefix of the public numbering plan (a country or network), not anyone's number"},
  StructuralColumn{"rates", "valid_from_us", "when the price starts to apply"},
  StructuralColumn{"rates", "deck_id", "the import the rate came from"},
  StructuralColumn{"rates", "description", "the carrier's name for the destination (a country or network)"},
  StructuralColumn{"rates", "price_per_minute_micros", "a price, in millionths of the currency"},
  StructuralColumn{"rates", "connection_fee_micros", "a price, in millionths of the currency"},
  StructuralColumn{"rates", "first_increment_s", "a billing rule"},
  StructuralColumn{"rates", "next_increment_s", "a billing rule"},
  StructuralColumn{"rates", "currency", "an ISO 4217 code"},
  StructuralColumn{"rating_plans", "company_id", "which tenant the plan is for; a business, not a person"},
  StructuralColumn{"rating_plans", "included_prefixes", "destination prefixes the tenant's plan includes"},
  StructuralColumn{"rating_plans", "allowed_countries", "countries the tenant's lines may call beyond its own"},
  StructuralColumn{"rating_plans", "allow_premium", "whether the tenant's lines may call premium-rate numbers"},
  StructuralColumn{"rating_plans", "updated_at_us", "when the plan last changed"},
  StructuralColumn{"rating_plans", "allow_high_risk", "whether the tenant's lines may call the operator's high-risk prefixes"},
  StructuralColumn{"rating_high_risk_prefixes", "prefix", "an E.164 number range the operator refuses by default; no one's number"},
  StructuralColumn{"rating_high_risk_prefixes", "description", "the operator's reason for listing the range"},
  StructuralColumn{"rating_high_risk_prefixes", "added_at_us", "when the range was listed"},
  StructuralColumn{"rating_high_risk_prefixes", "added_by", "the operator account that listed it (staff id or cli:), as the audit log names actors"},
};
// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"rating", {}, kStructural}; }

}  // namespace privox::rating
