// The data map's part for retention/: retention job cursors and account closures (privacy/datamap.h).
#include "retention/module.h"

#include <array>

namespace privox::retention {
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
constexpr std::array<StructuralColumn, 14> kStructural = {
  StructuralColumn{"retention_runs", "job", "which retention job the row tracks"},
  StructuralColumn{"retention_runs", "run_id", "random identifier of a run"},
  StructuralColumn{"retention_runs", "as_of_us", "the time the run's periods are measured from"},
  StructuralColumn{"retention_runs", "cursor_us", "the time key of the last record a committed batch handled"},
  StructuralColumn{"retention_runs", "cursor_id", "the id of the last record, line or member a committed batch handled"},
  StructuralColumn{"retention_runs", "batches", "how many batches the run committed"},
  StructuralColumn{"retention_runs", "changed", "how many records or accounts the run changed"},
  StructuralColumn{"retention_runs", "held", "how many were skipped under a legal hold"},
  StructuralColumn{"retention_runs", "started_at_us", "when the run began"},
  StructuralColumn{"retention_runs", "finished_at_us", "when the run completed; empty while it is in progress or was interrupted"},
  StructuralColumn{"account_closures", "member_id", "pseudonymous id of the member whose account closed"},
  StructuralColumn{"account_closures", "closed_at_us", "when the account closed; the grace period runs from here"},
  StructuralColumn{"account_closures", "closed_by", "the staff account or tool that closed it"},
  StructuralColumn{"account_closures", "erased_at_us", "when the retention job erased the member"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"retention", {}, kStructural}; }

}  // namespace privox::retention
