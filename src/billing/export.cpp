// billing/'s part in a member's access export (privacy/export_part.h): an office manager receives
// her company's bills, so her export holds them (issue 17); a plain member's holds none, as the
// portal shows invoices to office managers only.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "billing/charges.h"
#include "billing/module.h"

namespace privox::billing {
namespace {

Result<std::vector<privacy::ExportFilePart>> export_invoices(const privacy::ExportSubject& subject,
                                                             const privacy::ExportContext& context) {
  PRIVOX_ASSIGN(const std::vector<std::string> managers, office_managers_of(context.tx, subject.company_id));
  if (std::find(managers.begin(), managers.end(), subject.member_id) == managers.end())
    return std::vector<privacy::ExportFilePart>{};
  PRIVOX_ASSIGN(const std::vector<Invoice> all, invoices_of_company(context.tx, subject.company_id));
  nlohmann::json out = nlohmann::json::array();
  for (const Invoice& inv : all) out.push_back(to_json(inv));
  return std::vector<privacy::ExportFilePart>{{"invoices.json", out.dump(2)}};
}

}  // namespace

privacy::ExportParticipantSpec export_participant() { return {"billing", export_invoices}; }

}  // namespace privox::billing
