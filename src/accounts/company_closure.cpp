#include "accounts/company_closure.h"

#include <fmt/format.h>

#include "common/clock.h"

namespace privox::accounts {
namespace {

Error no_company(const std::string& id) {
  return Error{ErrorCode::not_found, "company", fmt::format("no company has id {}", id)};
}

}  // namespace

Result<CompanyClosure> company_closure(store::Session& s, const std::string& company_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT closure_requested_at_us, closure_requested_by, service_ends_at_us, "
                                          "closed_at_us FROM companies WHERE id = ?",
                                          {company_id}));
  if (rows.empty()) return no_company(company_id);
  const store::Row& r = rows[0];
  return CompanyClosure{company_id, r.is_null(0) ? 0 : r.i64(0), r.text_or(1, ""), r.is_null(2) ? 0 : r.i64(2),
                        r.is_null(3) ? 0 : r.i64(3)};
}

Result<CompanyClosure> schedule_company_closure(store::Session& s, const std::string& company_id, int64_t now_us,
                                                int64_t notice_us, const std::string& actor) {
  PRIVOX_ASSIGN(CompanyClosure now, company_closure(s, company_id));
  if (now.closed())
    return Error{ErrorCode::conflict, "company",
                 fmt::format("company {} closed on {}", company_id, format_utc(now.closed_at_us))};
  if (now.scheduled())
    return Error{ErrorCode::conflict, "company",
                 fmt::format("company {} is already closing; its service ends on {}", company_id,
                             format_utc(now.service_ends_at_us))};
  const int64_t ends = now_us + notice_us;
  PRIVOX_TRY(s.exec("UPDATE companies SET closure_requested_at_us = ?, closure_requested_by = ?, "
                    "service_ends_at_us = ? WHERE id = ?",
                    {now_us, actor, ends, company_id}));
  return CompanyClosure{company_id, now_us, actor, ends, 0};
}

Status cancel_company_closure(store::Session& s, const std::string& company_id) {
  PRIVOX_ASSIGN(CompanyClosure now, company_closure(s, company_id));
  if (now.closed())
    return Error{ErrorCode::conflict, "company",
                 fmt::format("company {} closed on {} and cannot be reopened", company_id,
                             format_utc(now.closed_at_us))};
  if (!now.scheduled())
    return Error{ErrorCode::conflict, "company", fmt::format("company {} has no closure to call off", company_id)};
  PRIVOX_TRY(s.exec("UPDATE companies SET closure_requested_at_us = NULL, closure_requested_by = NULL, "
                    "service_ends_at_us = NULL WHERE id = ?",
                    {company_id}));
  return {};
}

Result<std::vector<std::string>> companies_due_to_close(store::Session& s, int64_t now_us, const std::string& after,
                                                        size_t limit) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT id FROM companies WHERE service_ends_at_us <= ? AND closed_at_us IS "
                                          "NULL AND id > ? ORDER BY id LIMIT ?",
                                          {now_us, after, static_cast<int64_t>(limit)}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(r.text(0));
  return out;
}

Status mark_company_closed(store::Session& s, const std::string& company_id, int64_t now_us) {
  PRIVOX_TRY(s.exec("UPDATE companies SET closed_at_us = ? WHERE id = ? AND closed_at_us IS NULL", {now_us, company_id}));
  return {};
}

Status require_company_open(store::Session& s, const std::string& company_id) {
  PRIVOX_ASSIGN(CompanyClosure now, company_closure(s, company_id));
  if (now.closed())
    return Error{ErrorCode::conflict, "company", fmt::format("company {} is closed", company_id)};
  if (now.scheduled())
    return Error{ErrorCode::conflict, "company",
                 fmt::format("company {} is closing (its service ends on {}); call the closure off first", company_id,
                             format_utc(now.service_ends_at_us))};
  return {};
}

}  // namespace privox::accounts
