#include "app/registry.h"

#include <mutex>

#include "accounts/line_removal.h"
#include "accounts/module.h"
#include "analytics/module.h"
#include "billing/charges.h"
#include "billing/module.h"
#include "callflow/module.h"
#include "consent/module.h"
#include "fraud/module.h"
#include "ledgers/module.h"
#include "notify/module.h"
#include "portal/module.h"
#include "privacy/module.h"
#include "retention/module.h"
#include "rights/module.h"
#include "sip/module.h"
#include "rating/module.h"
#include "traffic/module.h"
#include "voicemail/module.h"
#include "wallet/module.h"

namespace privox::app {
namespace {

template <class T>
void append(std::vector<T>& all, std::vector<T> part) {
  all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
}

// Layer order, lowest first: a version's statements run in this order, so a table is created
// before a higher layer's table references it.
std::vector<store::SchemaPart> schema() {
  std::vector<store::SchemaPart> parts;
  append(parts, store::schema_parts_of_store());
  append(parts, privacy::schema_parts());
  append(parts, accounts::schema_parts());
  append(parts, callflow::schema_parts());
  append(parts, rating::schema_parts());
  append(parts, wallet::schema_parts());
  append(parts, consent::schema_parts());
  append(parts, ledgers::schema_parts());
  append(parts, traffic::schema_parts());
  append(parts, billing::schema_parts());
  append(parts, fraud::schema_parts());
  append(parts, voicemail::schema_parts());
  append(parts, sip::schema_parts());
  append(parts, notify::schema_parts());
  append(parts, rights::schema_parts());
  append(parts, retention::schema_parts());
  append(parts, analytics::schema_parts());
  append(parts, portal::schema_parts());
  return parts;
}

std::vector<privacy::DataMapPart> datamap() {
  return {privacy::datamap_part(),   accounts::datamap_part(),  callflow::datamap_part(), rating::datamap_part(),
          consent::datamap_part(),   traffic::datamap_part(),   billing::datamap_part(),   fraud::datamap_part(),
          voicemail::datamap_part(), sip::datamap_part(),       ledgers::datamap_part(), notify::datamap_part(),
          rights::datamap_part(),    retention::datamap_part(), analytics::datamap_part(), portal::datamap_part(),
          wallet::datamap_part()};
}

std::vector<std::span<const store::SettingSpec>> settings() {
  return {ledgers::settings(),   traffic::settings(),   billing::settings(),   fraud::settings(),     voicemail::settings(), sip::settings(),
          notify::settings(),    rights::settings(),    retention::settings(), analytics::settings(),
          portal::settings(),   wallet::settings()};
}

// The member's own record first; the audit chain's note last.
std::vector<privacy::ErasureParticipantSpec> erasure() {
  return {accounts::erasure_participant(),  consent::erasure_participant(), traffic::erasure_participant(),
          billing::erasure_participant(),
          callflow::erasure_participant(),
          voicemail::erasure_participant(), sip::erasure_participant(),     ledgers::erasure_participant(),
          rights::erasure_participant(),    portal::erasure_participant(),  privacy::erasure_participant()};
}

}  // namespace

std::vector<privacy::ErasureParticipantSpec> erasure_participants() { return erasure(); }

void install_registries() {
  static std::once_flag once;
  std::call_once(once, [] {
    store::install_schema(schema());
    privacy::install_datamap(datamap());
    store::install_settings(settings());
    privacy::install_erasure_participants(erasure());
    privacy::install_export_participants({billing::export_participant(), callflow::export_participant()});
    billing::install_office_managers_lookup(portal::office_managers_of);
    accounts::install_line_removal_parts({callflow::line_removal_part(), sip::line_removal_part()});
  });
}

}  // namespace privox::app
