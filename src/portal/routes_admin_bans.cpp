// SIP bans in the operator console (issue 10): staff on fraud duty list the bans every node
// enforces and lift one. A ban is keyed by a keyed hash of its source (sip/bans.h), so the store
// never holds an address: staff who have an address in hand (from a customer's call, or the
// firewall) ask for its ban id, and the answer says whether that source is banned.
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "portal/routes.h"
#include "privacy/audit_record.h"
#include "sip/bans.h"

namespace privox::portal::routes {
namespace {

nlohmann::json ban_json(const sip::StoredBan& ban, int64_t now_us) {
  nlohmann::json out = {{"id", ban.id},
                        {"banned_at", format_utc(ban.banned_at_us)},
                        {"banned_until", format_utc(ban.banned_until_us)},
                        {"strikes", ban.strikes},
                        {"reason", ban.reason},
                        {"state", ban.active(now_us) ? "active" : ban.lifted_at_us ? "lifted" : "ended"},
                        {"lifted_at", nullptr}};
  if (ban.lifted_at_us) out["lifted_at"] = format_utc(*ban.lifted_at_us);
  return out;
}

}  // namespace

// ?all=true lists every row still kept (ended and lifted bans for a day), not only bans in force;
// ?address=IP lists only that source's ban, and says its id even when it has none. An address is
// personal data, so a look-up by address is audited (with the ban id, never the address).
Response admin_sip_bans(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose) {
  sip::Bans bans(p.store, p.keys, p.clock);
  std::optional<std::string> wanted;
  const std::optional<std::string> address = e.query_param("address");
  if (address) {
    auto id = bans.id_of(*address);
    if (!id.ok()) return error_response(id.error());
    wanted = std::move(*id);
    const Status audited = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
      PRIVOX_TRY(p.audit.append(s, {c.who.subject_id, "sip.ban_lookup", "", std::string(privacy::to_string(purpose)),
                                    {{"ban_id", *wanted}}}));
      return {};
    });
    if (!audited.ok()) return error_response(audited.error());
  }
  auto listed = bans.list(e.query_param("all").value_or("") == "true" || wanted.has_value());
  if (!listed.ok()) return error_response(listed.error());
  const int64_t now = p.clock.now_us();
  nlohmann::json items = nlohmann::json::array();
  for (const sip::StoredBan& ban : *listed)
    if (!wanted || ban.id == *wanted) items.push_back(ban_json(ban, now));
  nlohmann::json out = {{"items", items}};
  if (wanted) out["id"] = *wanted;
  return http::json_response(status::ok, out);
}

// Lifting ends the ban on every node within about a second and is audited with the staff member
// as actor (sip::Bans::lift).
Response admin_sip_ban_lift(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose) {
  const std::string id(e.param("id"));
  if (Status lifted = sip::Bans(p.store, p.keys, p.clock).lift(id, c.who.subject_id); !lifted.ok())
    return error_response(lifted.error());
  return http::Response{status::no_content, 11};
}

}  // namespace privox::portal::routes
