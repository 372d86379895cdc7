// The data map's part for sip/: the registrar's bindings (privacy/datamap.h).
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
constexpr std::array<FieldSpec, 3> kFields = {
  FieldSpec{"contact", "bindings", "contact_enc", "contact_bidx", Category::traffic, true,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_binding_expires,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 1024, "where a registered device can be reached: its SIP Contact URI, which holds its network address"},
  FieldSpec{"received", "bindings", "received_enc", "", Category::traffic, false,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_binding_expires,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 64, "the network address and port a registration came from, where it differs from the contact (NAT)"},
  FieldSpec{"user_agent", "bindings", "user_agent_enc", "", Category::traffic, false,
            static_cast<PurposeSet>(service), LegalBasis::contract, RetentionRule::until_binding_expires,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 256, "the registered device's software and model, as its User-Agent header names them"},
};

constexpr std::array<StructuralColumn, 6> kStructural = {
  StructuralColumn{"bindings", "id", "random identifier of a registration"},
  StructuralColumn{"bindings", "extension_id", "the line the device registered for; its key seals the binding"},
  StructuralColumn{"bindings", "call_id_bidx", "keyed hash of the registering device's Call-ID, to order its refreshes (RFC 3261 section 10.3); the Call-ID itself, which may hold a device address, is never stored"},
  StructuralColumn{"bindings", "cseq", "sequence number of the last REGISTER, to refuse stale ones"},
  StructuralColumn{"bindings", "expires_at_us", "when the registration lapses; the binding is deleted then"},
  StructuralColumn{"bindings", "updated_at_us", "when the registration was last refreshed; deleted with the binding"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"sip", kFields, kStructural}; }

}  // namespace privox::sip
