#include "privacy/settings_change.h"

#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "store/settings.h"

namespace privox::privacy {

Status change_setting(store::Store& store, const Keyring& keys, const Clock& clock, std::string_view key,
                      std::string_view value, const std::string& actor) {
  const AuditChain audit(keys, clock);
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(store::Settings::store_value(s, key, value, clock.now_us()));
    PRIVOX_TRY(audit.append(s, {actor, "settings.set", "", "", {{"key", key}, {"value", value}}}));
    return {};
  });
}

}  // namespace privox::privacy
