// The data map's part for fraud/: an alert names a company and a line (ids, not people) and holds
// counts and amounts; its mail rows name a manager by member id only; a company's overrides are
// settings. No field about a person (privacy/datamap.h).
#include <array>

#include "fraud/module.h"

namespace privox::fraud {
namespace {

using privacy::StructuralColumn;

// clang-format off
constexpr std::array<StructuralColumn, 18> kFraudColumns = {
  StructuralColumn{"fraud_alerts", "id", "random identifier of an alert"},
  StructuralColumn{"fraud_alerts", "company_id", "the tenant whose line the rule fired on; a business, not a person"},
  StructuralColumn{"fraud_alerts", "line_id", "the phone line (extension id) the rule fired on; no number or name"},
  StructuralColumn{"fraud_alerts", "rule", "which fraud rule fired (from a fixed list)"},
  StructuralColumn{"fraud_alerts", "action", "alert, throttle or suspend (from a fixed list)"},
  StructuralColumn{"fraud_alerts", "opened_at_us", "when the rule fired"},
  StructuralColumn{"fraud_alerts", "figures", "counts and amounts the rule saw (calls, destinations, micros); no number called, no address"},
  StructuralColumn{"fraud_alerts", "state", "open or lifted"},
  StructuralColumn{"fraud_alerts", "lifted_at_us", "when it was lifted (0: open)"},
  StructuralColumn{"fraud_alerts", "lifted_by", "the account that lifted it (staff or login id, or cli:), as the audit log names actors"},
  StructuralColumn{"fraud_alerts", "mailed_at_us", "when the alert email went out (0: not yet)"},
  StructuralColumn{"fraud_alert_mails", "alert_id", "the alert whose email went out"},
  StructuralColumn{"fraud_alert_mails", "recipient", "'operator', or the id of the office manager it went to; never an address"},
  StructuralColumn{"fraud_alert_mails", "sent_at_us", "when that email was sent"},
  StructuralColumn{"fraud_company_limits", "company_id", "the tenant the override is for; a business, not a person"},
  StructuralColumn{"fraud_company_limits", "key", "which fraud rule setting it overrides (from a fixed list)"},
  StructuralColumn{"fraud_company_limits", "value", "the company's own threshold or action; a setting"},
  StructuralColumn{"fraud_company_limits", "set_at_us", "when it was set"},
};
// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"fraud", {}, kFraudColumns}; }

}  // namespace privox::fraud
