#include "accounts/line_removal.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounts/directory_log.h"
#include "privacy/audit_record.h"

namespace privox::accounts {
namespace {

std::vector<LineRemovalPartSpec>& installed_parts() {
  static std::vector<LineRemovalPartSpec> parts;
  return parts;
}

}  // namespace

void install_line_removal_parts(std::vector<LineRemovalPartSpec> parts) { installed_parts() = std::move(parts); }

const std::vector<LineRemovalPartSpec>& line_removal_parts() { return installed_parts(); }

Status remove_line(store::Session& tx, const privacy::AuditChain& audit, const std::string& line_id, int64_t now_us,
                   const std::string& actor, std::string_view why) {
  PRIVOX_ASSIGN(store::Rows rows, tx.query("SELECT company_id, did FROM extensions WHERE id = ?", {line_id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no extension has id {}", line_id)};
  for (const LineRemovalPartSpec& part : line_removal_parts()) PRIVOX_TRY(part.remove(tx, line_id));
  PRIVOX_TRY(tx.exec("DELETE FROM extensions WHERE id = ?", {line_id}));
  PRIVOX_TRY(audit.append(tx, {actor, "extension.remove", line_id, "",
                               {{"company_id", rows[0].text(0)}, {"had_did", !rows[0].is_null(1)}, {"why", why}}}));
  return record_directory_change(tx, DirectoryItem::extension, line_id, "removed", now_us);
}

Result<std::vector<std::string>> lines_of_company(store::Session& s, const std::string& company_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT id FROM extensions WHERE company_id = ? ORDER BY id", {company_id}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(r.text(0));
  return out;
}

}  // namespace privox::accounts
