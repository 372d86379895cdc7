// The schema of sip/'s tables, the registrar's bindings, as migration parts (store/schema.h). Released parts are
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
  };
}

}  // namespace privox::sip
