// The schema of notify/'s tables, marketing campaigns, as migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "notify/module.h"

namespace privox::notify {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {7,
       "notify",
       "marketing campaigns and their deliveries",
       {
           // The operator's marketing copy, not anyone's personal data. send_requested_at_us: an
           // SMS campaign `privox campaign send` handed to the serving nodes, which send it over
           // SIP; sent_at_us: when a run last finished with every recipient delivered or failed.
           R"(CREATE TABLE campaigns (
                id TEXT PRIMARY KEY,
                channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
                subject TEXT NOT NULL,
                body TEXT NOT NULL,
                created_at_us {i64} NOT NULL,
                send_requested_at_us {i64},
                sent_at_us {i64}))",
           // One row per campaign and recipient, claimed ('sending') before the message goes out,
           // so a re-run, another node or a crash never sends twice to anyone who was sent to.
           // failure_code: the relay's SMTP reply code or the carrier's SIP status, never text
           // (a relay's answer may quote the address).
           R"(CREATE TABLE campaign_deliveries (
                campaign_id TEXT NOT NULL REFERENCES campaigns (id),
                subject_id TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
                failure_code {i64},
                updated_at_us {i64} NOT NULL,
                PRIMARY KEY (campaign_id, subject_id)))",
           "CREATE INDEX campaign_deliveries_subject ON campaign_deliveries (subject_id)",
       }},
  };
}

}  // namespace privox::notify
