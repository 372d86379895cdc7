#include "portal/rate_limit.h"

#include "http/server.h"

namespace privox::portal {

Result<int64_t> take_rate(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                          std::string_view scope, std::string_view who, const RateLimit& limit) {
  const Bytes key = keys.blind_index("portal-rate", std::string(scope) + "\n" + http::client_key(who));
  int64_t wait_s = 0;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    const int64_t now = clock.now_us();
    wait_s = 0;
    PRIVOX_TRY(s.exec("DELETE FROM portal_rate_limits WHERE expires_at_us <= ?", {now}));
    PRIVOX_TRY(s.exec("INSERT INTO portal_rate_limits (key_hash, actions, expires_at_us) VALUES (?, 0, ?) "
                      "ON CONFLICT DO NOTHING",
                      {key, now + limit.window_us}));
    // The row lock (PostgreSQL) before the read; SQLite's write transaction holds the database.
    PRIVOX_TRY(s.exec("UPDATE portal_rate_limits SET actions = actions WHERE key_hash = ?", {key}));
    PRIVOX_ASSIGN(store::Rows rows,
                  s.query("SELECT actions, expires_at_us FROM portal_rate_limits WHERE key_hash = ?", {key}));
    const int64_t actions = rows.at(0).i64(0), expires = rows.at(0).i64(1);
    if (actions >= limit.max) {
      wait_s = std::max<int64_t>(1, (expires - now + 999'999) / 1'000'000);
      return {};
    }
    PRIVOX_TRY(s.exec("UPDATE portal_rate_limits SET actions = ? WHERE key_hash = ?", {actions + 1, key}));
    return {};
  }));
  return wait_s;
}

}  // namespace privox::portal
