// The schema of sip/'s tables, the registrar's bindings and the bans, as migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "sip/module.h"

namespace privox::sip {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {2,
       "sip",
       "the registrar's bindings",
       {
           // One row per registered contact of an extension (RFC 3261 section 10). Personal columns
           // are sealed under the extension's subject key; contact_bidx finds a contact again.
           R"(CREATE TABLE bindings (
             id TEXT PRIMARY KEY,
             extension_id TEXT NOT NULL REFERENCES extensions (id),
             contact_enc {blob} NOT NULL,
             contact_bidx {blob} NOT NULL,
             received_enc {blob},
             user_agent_enc {blob},
             call_id_bidx {blob},
             cseq {i64} NOT NULL,
             expires_at_us {i64} NOT NULL,
             updated_at_us {i64} NOT NULL,
             UNIQUE (extension_id, contact_bidx)))",
           "CREATE INDEX bindings_expires ON bindings (expires_at_us)",
       }},
      {9,
       "sip",
       "bans of sources that failed authentication too often, shared by every node",
       {
           // One row per banned source, keyed by a keyed hash of its address (sip/bans.h); the
           // address itself is never stored. seq numbers every change from sip_ban_log_head, which
           // each changing transaction updates first, so nodes read changes in order.
           R"(CREATE TABLE sip_bans (
             address_hash TEXT PRIMARY KEY,
             banned_at_us {i64} NOT NULL,
             banned_until_us {i64} NOT NULL,
             strikes {i64} NOT NULL,
             reason TEXT NOT NULL,
             lifted_at_us {i64},
             seq {i64} NOT NULL,
             expires_at_us {i64} NOT NULL))",
           "CREATE INDEX sip_bans_seq ON sip_bans (seq)",
           "CREATE INDEX sip_bans_expires ON sip_bans (expires_at_us)",
           R"(CREATE TABLE sip_ban_log_head (
             id {i64} PRIMARY KEY CHECK (id = 1),
             seq {i64} NOT NULL))",
           "INSERT INTO sip_ban_log_head (id, seq) VALUES (1, 0)",
       }},
      {23,
       "sip",
       "the numbered log of registration changes every node follows, so any node reaches any phone",
       {
           // One row per line whose bindings a node changed (sip/store_bindings.h). seq numbers
           // every entry from sip_binding_log_head, whose row the writing transaction updates
           // first, so that entries commit in the order of their numbers on every node. Entries
           // are pruned after ten minutes; a node further behind reloads every binding.
           R"(CREATE TABLE sip_binding_log (
             seq {i64} PRIMARY KEY,
             extension_id TEXT NOT NULL,
             node TEXT NOT NULL,
             changed_at_us {i64} NOT NULL))",
           "CREATE INDEX sip_binding_log_changed ON sip_binding_log (changed_at_us)",
           R"(CREATE TABLE sip_binding_log_head (
             id {i64} PRIMARY KEY CHECK (id = 1),
             seq {i64} NOT NULL))",
           "INSERT INTO sip_binding_log_head (id, seq) VALUES (1, 0)",
       }},
      {26,
       "sip",
       "which node holds a phone's flow, so that another node reaches the phone through it",
       {
           // The id and SIP address ("<node id> udp 192.0.2.7 5060") of the node that holds the
           // binding's flow: its connection (TCP, TLS, WebSocket), its SIP Outbound flow, or its
           // NAT mapping. Other nodes send the phone's requests there (sip/store_bindings.h), and
           // drop the binding once that node's heartbeat stops. NULL: any node may send to the
           // binding's address itself.
           "ALTER TABLE bindings ADD COLUMN held_by TEXT",
       }},
  };
}

}  // namespace privox::sip
