// The data map's part for notify/: marketing campaigns and their deliveries. Campaigns hold no personal data; a delivery links a pseudonymous member id to a campaign, which the recipient's address or number never is: those are read from the member's sealed fields at send time and not kept (privacy/datamap.h).
#include "notify/module.h"

#include <array>

namespace privox::notify {
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
constexpr std::array<StructuralColumn, 12> kStructural = {
  StructuralColumn{"campaigns", "id", "random time-ordered identifier of a campaign"},
  StructuralColumn{"campaigns", "channel", "email or sms"},
  StructuralColumn{"campaigns", "subject", "the operator's marketing copy: a subject line written for everyone"},
  StructuralColumn{"campaigns", "body", "the operator's marketing copy, the same for every recipient"},
  StructuralColumn{"campaigns", "created_at_us", "when the campaign was written"},
  StructuralColumn{"campaigns", "send_requested_at_us", "when sending was asked for"},
  StructuralColumn{"campaigns", "sent_at_us", "when a run last finished every recipient"},
  StructuralColumn{"campaign_deliveries", "campaign_id", "the campaign"},
  StructuralColumn{"campaign_deliveries", "subject_id", "pseudonymous id of the member it was sent to; never their address or number"},
  StructuralColumn{"campaign_deliveries", "status", "sending, sent or failed"},
  StructuralColumn{"campaign_deliveries", "failure_code", "the relay's SMTP reply code or the carrier's SIP status; never the relay's text"},
  StructuralColumn{"campaign_deliveries", "updated_at_us", "when the status last changed"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"notify", {}, kStructural}; }

}  // namespace privox::notify
