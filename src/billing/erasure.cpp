// billing/'s part in erasing a member (privacy/erasure_part.h). Invoices are the company's
// accounting records, not the member's, and name no person; the law obliges the operator to keep
// them, so an erasure keeps them and says so, with the date the last of them may go.
#include <fmt/format.h>

#include "billing/invoices.h"
#include "billing/module.h"
#include "store/settings.h"

namespace privox::billing {
namespace {

constexpr int64_t kYearUs = 366LL * 86'400'000'000;  // a generous year: never removed early

Result<std::vector<privacy::ErasureItem>> erase_part(const privacy::ErasureSubject& subject,
                                                     const privacy::ErasureContext& context) {
  std::vector<privacy::ErasureItem> items;
  if (subject.company_id.empty()) return items;
  PRIVOX_ASSIGN(const std::vector<Invoice> kept, invoices_of_company(context.tx, subject.company_id));
  if (kept.empty()) return items;
  PRIVOX_ASSIGN(const int64_t years, store::Settings(context.store).integer(context.tx, "billing.retention_years"));
  int64_t latest = 0;
  for (const Invoice& inv : kept) latest = std::max(latest, inv.issued_at_us);
  items.push_back({.item = "invoices and credit notes of the member's company",
                   .outcome = "kept",
                   .count = static_cast<int64_t>(kept.size()),
                   .exception = fmt::format("legal obligation to keep accounting records ({} years from issue); "
                                            "they name the company, not the member",
                                            years),
                   .until = format_date(utc_date(latest + years * kYearUs)),
                   .then = "erased"});
  return items;
}

}  // namespace

privacy::ErasureParticipantSpec erasure_participant() { return {"billing", erase_part}; }

}  // namespace privox::billing
