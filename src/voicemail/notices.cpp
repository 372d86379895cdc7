#include "voicemail/notices.h"

namespace privox::voicemail {

Status queue_notice(store::Session& s, const std::string& message_id, const std::string& box_id,
                    const std::string& company_id, int64_t now_us) {
  PRIVOX_TRY(s.exec("INSERT INTO voicemail_notices (message_id, box_id, company_id, attempts, next_attempt_at_us) "
                    "VALUES (?, ?, ?, 0, ?) ON CONFLICT (message_id) DO NOTHING",
                    {message_id, box_id, company_id, now_us}));
  return {};
}

Result<std::vector<PendingNotice>> due_notices(store::Session& s, int64_t now_us, size_t limit) {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query("SELECT message_id, box_id, company_id, attempts, next_attempt_at_us FROM voicemail_notices "
                        "WHERE next_attempt_at_us <= ? ORDER BY next_attempt_at_us, message_id LIMIT ?",
                        {now_us, static_cast<int64_t>(limit)}));
  std::vector<PendingNotice> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back({r.text(0), r.text(1), r.text(2), r.i64(3), r.i64(4)});
  return out;
}

Result<bool> begin_notice_attempt(store::Session& s, const std::string& message_id, int64_t now_us,
                                  int64_t retry_at_us) {
  PRIVOX_ASSIGN(const int64_t changed,
                s.exec("UPDATE voicemail_notices SET attempts = attempts + 1, next_attempt_at_us = ? "
                       "WHERE message_id = ? AND next_attempt_at_us <= ?",
                       {retry_at_us, message_id, now_us}));
  return changed == 1;
}

Status finish_notice(store::Session& s, const std::string& message_id) {
  PRIVOX_TRY(s.exec("DELETE FROM voicemail_notices WHERE message_id = ?", {message_id}));
  return {};
}

Result<int64_t> delete_notices_of_boxes(store::Session& s, const std::vector<std::string>& boxes) {
  int64_t deleted = 0;  // a member has a few lines: one statement each
  for (const std::string& box : boxes) {
    PRIVOX_ASSIGN(const int64_t n, s.exec("DELETE FROM voicemail_notices WHERE box_id = ?", {box}));
    deleted += n;
  }
  return deleted;
}

}  // namespace privox::voicemail
