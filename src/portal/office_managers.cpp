// The roles billing/ asks for, from the logins this folder owns (portal_logins): billing/ is below
// portal/, so the composition root installs this look-up there (billing/charges.h).
#include "portal/auth.h"
#include "portal/module.h"

namespace privox::portal {

Result<std::vector<std::string>> office_managers_of(store::Session& s, const std::string& company_id) {
  PRIVOX_ASSIGN(const store::Rows rows,
                s.query("SELECT subject_id FROM portal_logins WHERE company_id = ? AND kind = 'member' AND role = ? "
                        "ORDER BY created_at_us, subject_id",
                        {company_id, std::string(to_string(Role::office_manager))}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(r.text(0));
  return out;
}

}  // namespace privox::portal
