// Rectification and erasure (fulfil.h).
#include "rights/fulfil.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <set>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "common/json.h"
#include "erasure/erasure.h"
#include "rights/corrections.h"

namespace privox::rights {
namespace {

using store::Rows;
using store::Session;
using store::TxMode;

Result<accounts::FieldValues> open_corrections(store::Store& store, const privacy::Keyring& keys,
                                               const Request& request) {
  accounts::FieldValues out;
  PRIVOX_ASSIGN(auto tx, store.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows rows, tx->query("SELECT corrections_enc FROM rights_requests WHERE id = ?", {request.id}));
  if (rows.empty() || rows[0].is_null(0))
    return Error{ErrorCode::not_found, "id", fmt::format("request {} holds no corrections", request.id)};
  PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(*tx, keys, request.member_id));
  PRIVOX_ASSIGN(std::string text, privacy::open_field(key, request.member_id, "request_corrections", rows[0].blob(0)));
  const nlohmann::json values = json::parse_untrusted(text).value_or(nlohmann::json());
  if (!values.is_object()) return make_error(ErrorCode::corrupt, "the sealed corrections are not a JSON object");
  for (const auto& [name, value] : values.items()) out[name] = value.get<std::string>();
  return out;
}

}  // namespace

Result<nlohmann::json> rectify(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                               const Request& request, const std::string& actor) {
  PRIVOX_ASSIGN(accounts::FieldValues corrections, open_corrections(store, keys, request));
  nlohmann::json outcome;
  PRIVOX_TRY(store::with_transaction(store, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(outcome,
                  correct_and_notify(s, store, keys, clock, request.member_id, corrections, request.id, actor));
    return {};
  }));
  return outcome;
}

Result<nlohmann::json> erase(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                             const Request& request, const std::string& actor) {
  PRIVOX_ASSIGN(erasure::Outcome outcome,
                erasure::erase_member(store, keys, clock, request.member_id, actor, "rights request " + request.id));
  if (outcome.already_erased)
    return Error{ErrorCode::erased, "member", fmt::format("member {} was already erased", request.member_id)};
  return erasure::to_json(outcome);
}

}  // namespace privox::rights
