// The data map's part for sip/: the registrar's bindings, their change log and the bans (privacy/datamap.h).
#include "sip/module.h"

#include <array>

namespace privox::sip {
namespace {

using privacy::Category;
using privacy::ErasureTreatment;
using privacy::FieldSpec;
using privacy::Format;
using privacy::LegalBasis;
using privacy::Protection;
using privacy::PurposeSet;
using privacy::RetentionRule;
using privacy::StructuralColumn;
using enum privacy::Purpose;

// clang-format off
constexpr std::array<FieldSpec, 4> kFields = {
  FieldSpec{"contact", "bindings", "contact_enc", "contact_bidx", Category::traffic, true,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_binding_expires,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 1024, "where a registered device can be reached: its SIP Contact URI, which holds its network address",
            "Where your phone can be reached",
            "The network address at which your registered phone or app can be reached, so that calls to your line ring it."},
  FieldSpec{"received", "bindings", "received_enc", "", Category::traffic, false,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_binding_expires,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 160, "the network address and port a registration came from, where it differs from the contact (NAT), and for a phone on TLS the fingerprint of the certificate it presented",
            "Where your phone connected from",
            "The network address your phone or app connected from, when it differs from the one it gave (for example behind a home router)."},
  FieldSpec{"user_agent", "bindings", "user_agent_enc", "", Category::traffic, false,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_binding_expires,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 256, "the registered device's software and model, as its User-Agent header names them",
            "Your phone or app's make and software",
            "The make, model and software of the phone or app you registered, as it announced itself."},
  FieldSpec{"banned_source", "sip_bans", "address_hash", "", Category::traffic, false,
            fraud | service, LegalBasis::legitimate_interest, RetentionRule::ban_period,
            ErasureTreatment::erase, "", false,
            Protection::none, "only a keyed HMAC-SHA-256 of the source address is kept, to refuse a source that "
            "failed SIP authentication too often; the address is never stored, and the row is purged a day after "
            "the ban ends",
            Format::recorded, 32, "a network address that failed SIP authentication too often: a keyed hash of it",
            "Blocked network address",
            "A scrambled copy of your network address, if phones connecting from it failed to log in too many times; kept only while it is blocked."},
};

constexpr std::array<StructuralColumn, 22> kStructural = {
  StructuralColumn{"bindings", "id", "random identifier of a registration"},
  StructuralColumn{"bindings", "extension_id", "the line the device registered for; its key seals the binding"},
  StructuralColumn{"bindings", "call_id_bidx", "keyed hash of the registering device's Call-ID, to order its refreshes (RFC 3261 section 10.3); the Call-ID itself, which may hold a device address, is never stored"},
  StructuralColumn{"bindings", "cseq", "sequence number of the last REGISTER, to refuse stale ones"},
  StructuralColumn{"bindings", "expires_at_us", "when the registration lapses; the binding is deleted then"},
  StructuralColumn{"bindings", "held_by", "id and SIP address of the privox node that holds the device's connection, so other nodes reach the device through it; a server's, not the device's"},
  StructuralColumn{"bindings", "updated_at_us", "when the registration was last refreshed; deleted with the binding"},
  StructuralColumn{"sip_bans", "banned_at_us", "when the ban began"},
  StructuralColumn{"sip_bans", "banned_until_us", "when the ban ends"},
  StructuralColumn{"sip_bans", "strikes", "how many times the source was banned while its row was kept; repeats last longer"},
  StructuralColumn{"sip_bans", "reason", "why the source was banned (auth_failures)"},
  StructuralColumn{"sip_bans", "lifted_at_us", "when an operator lifted the ban; empty while it holds"},
  StructuralColumn{"sip_bans", "seq", "the change number every node follows the bans by"},
  StructuralColumn{"sip_bans", "expires_at_us", "when the row is purged, a day after the ban ends"},
  StructuralColumn{"sip_ban_log_head", "id", "the counter's single row"},
  StructuralColumn{"sip_ban_log_head", "seq", "the latest change number given to a ban"},
  StructuralColumn{"sip_binding_log", "seq", "the change number every node follows registrations by"},
  StructuralColumn{"sip_binding_log", "extension_id", "the line whose registrations changed; the entry is pruned after ten minutes"},
  StructuralColumn{"sip_binding_log", "node", "the node that took the change (or whose flows a live node dropped when it fell silent), for an operator tracing where a registration came in"},
  StructuralColumn{"sip_binding_log", "changed_at_us", "when the change was made, for pruning"},
  StructuralColumn{"sip_binding_log_head", "id", "the counter's single row"},
  StructuralColumn{"sip_binding_log_head", "seq", "the latest change number given to a registration change"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"sip", kFields, kStructural}; }

}  // namespace privox::sip
