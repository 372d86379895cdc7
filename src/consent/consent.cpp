#include "consent/consent.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/ids.h"
#include "consent/optional_data.h"
#include "privacy/audit_record.h"

namespace privox::consent {
namespace {

constexpr size_t kMaxSubjectLength = 64;
constexpr size_t kMaxChannelLength = 16;
constexpr size_t kMaxNoticeVersionLength = 32;

constexpr ConsentMethod kMethods[] = {ConsentMethod::form, ConsentMethod::link, ConsentMethod::sms_reply,
                                      ConsentMethod::staff};

// The latest row of its subject and purpose: no later row exists. record() keeps recorded_at_us
// strictly increasing per subject and purpose, so the id only orders rows two racing writers
// recorded in the same microsecond.
constexpr std::string_view kIsLatest =
    "NOT EXISTS (SELECT 1 FROM consent_ledger later WHERE later.subject_id = c.subject_id "
    "AND later.purpose = c.purpose AND (later.recorded_at_us > c.recorded_at_us "
    "OR (later.recorded_at_us = c.recorded_at_us AND later.id > c.id)))";
constexpr std::string_view kColumns =
    "c.id, c.subject_id, c.purpose, c.decision, c.method, c.channel, c.notice_version, c.recorded_at_us";

Result<ConsentRecord> from_row(const store::Row& r) {
  ConsentRecord out;
  out.id = r.text(0);
  out.subject_id = r.text(1);
  const auto purpose = parse_consent_purpose(r.text(2));
  const auto method = parse_consent_method(r.text(4));
  if (!purpose || !method)
    return make_error(ErrorCode::corrupt, fmt::format("consent ledger row {} has an unknown purpose or method", out.id));
  out.purpose = *purpose;
  out.given = r.text(3) == "given";
  out.method = *method;
  out.channel = r.text(5);
  out.notice_version = r.text(6);
  out.at_us = r.i64(7);
  return out;
}

Result<std::vector<ConsentRecord>> records(store::Session& s, const std::string& sql, const store::Params& params) {
  PRIVOX_ASSIGN(store::Rows rows, s.query(sql, params));
  std::vector<ConsentRecord> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    PRIVOX_ASSIGN(ConsentRecord record, from_row(r));
    out.push_back(std::move(record));
  }
  return out;
}

Status check_text(std::string_view field, const std::string& value, size_t max) {
  if (value.empty()) return invalid(std::string(field), "is required");
  if (value.size() > max) return invalid(std::string(field), fmt::format("is longer than {} characters", max));
  if (value.find_first_of("\r\n") != std::string::npos) return invalid(std::string(field), "must be one line");
  return {};
}

Status check(const ConsentDecision& d) {
  PRIVOX_TRY(check_text("subject", d.subject_id, kMaxSubjectLength));
  PRIVOX_TRY(check_text("channel", d.channel, kMaxChannelLength));
  PRIVOX_TRY(check_text("notice_version", d.notice_version, kMaxNoticeVersionLength));
  return {};
}

// A time after the subject's latest decision for the purpose, so the new row is the latest even
// when the clock has not moved (or went back) since.
Result<int64_t> next_time(store::Session& tx, const ConsentDecision& d, int64_t now_us) {
  PRIVOX_ASSIGN(store::Rows rows, tx.query("SELECT MAX(recorded_at_us) FROM consent_ledger WHERE subject_id = ? AND "
                                           "purpose = ?",
                                           {d.subject_id, std::string(to_string(d.purpose))}));
  if (rows.empty() || rows[0].is_null(0)) return now_us;
  return std::max(now_us, rows[0].i64(0) + 1);
}

}  // namespace

std::string_view to_string(ConsentPurpose p) {
  switch (p) {
    case ConsentPurpose::marketing_email: return "marketing_email";
    case ConsentPurpose::marketing_sms: return "marketing_sms";
    case ConsentPurpose::cookies_performance: return "cookies_performance";
    case ConsentPurpose::contacts_sync: return "contacts_sync";
    case ConsentPurpose::location: return "location";
    case ConsentPurpose::social_profile: return "social_profile";
  }
  return "?";
}

std::string_view to_string(ConsentMethod m) {
  switch (m) {
    case ConsentMethod::form: return "form";
    case ConsentMethod::link: return "link";
    case ConsentMethod::sms_reply: return "sms_reply";
    case ConsentMethod::staff: return "operator";
  }
  return "?";
}

std::optional<ConsentPurpose> parse_consent_purpose(std::string_view text) {
  for (ConsentPurpose p : kConsentPurposes)
    if (to_string(p) == text) return p;
  return std::nullopt;
}

std::optional<ConsentMethod> parse_consent_method(std::string_view text) {
  for (ConsentMethod m : kMethods)
    if (to_string(m) == text) return m;
  return std::nullopt;
}

std::string_view decision_word(bool given, bool given_before) {
  if (given) return "given";
  return given_before ? "withdrawn" : kNotGiven;
}

Result<ConsentRecord> ConsentLedger::record(store::Session& tx, const ConsentDecision& decision,
                                            const std::string& actor) const {
  PRIVOX_TRY(check(decision));
  ConsentRecord out{new_id(clock_.now_us()), decision.subject_id, decision.purpose, decision.given,
                    decision.method,         decision.channel,    decision.notice_version, 0};
  PRIVOX_ASSIGN(out.at_us, next_time(tx, decision, clock_.now_us()));
  PRIVOX_TRY(tx.exec("INSERT INTO consent_ledger (id, subject_id, purpose, decision, method, channel, notice_version, "
                     "recorded_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     {out.id, out.subject_id, std::string(to_string(out.purpose)),
                      std::string(out.given ? "given" : "withdrawn"), std::string(to_string(out.method)), out.channel,
                      out.notice_version, out.at_us}));
  nlohmann::json detail = {{"ledger_id", out.id}, {"consent", to_string(out.purpose)}};
  // P4: withdrawing the consent that guards optional data deletes that data in this transaction.
  if (const auto kind = optional_kind_for(out.purpose); kind && !out.given) {
    PRIVOX_ASSIGN(const bool deleted, OptionalData::delete_kind(tx, out.subject_id, *kind));
    detail["optional_data_deleted"] = deleted;
  }
  PRIVOX_TRY(audit_.append(tx, {actor, out.given ? "consent.give" : "consent.withdraw", out.subject_id, "", detail}));
  return out;
}

Result<ConsentRecord> ConsentLedger::record(const ConsentDecision& decision, const std::string& actor) const {
  ConsentRecord out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& tx) -> Status {
    PRIVOX_ASSIGN(out, record(tx, decision, actor));
    return {};
  }));
  return out;
}

Result<std::map<ConsentPurpose, ConsentRecord>> ConsentLedger::current(store::Session& s,
                                                                       const std::string& subject_id) const {
  PRIVOX_ASSIGN(std::vector<ConsentRecord> latest,
                records(s, fmt::format("SELECT {} FROM consent_ledger c WHERE c.subject_id = ? AND {}", kColumns, kIsLatest),
                        {subject_id}));
  std::map<ConsentPurpose, ConsentRecord> out;
  for (ConsentRecord& r : latest) out[r.purpose] = std::move(r);
  return out;
}

Result<std::map<ConsentPurpose, ConsentRecord>> ConsentLedger::current(const std::string& subject_id) const {
  std::map<ConsentPurpose, ConsentRecord> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(out, current(s, subject_id));
    return {};
  }));
  return out;
}

Result<bool> ConsentLedger::holds(store::Session& s, const std::string& subject_id, ConsentPurpose purpose) const {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query(fmt::format("SELECT c.decision FROM consent_ledger c WHERE c.subject_id = ? AND c.purpose = ? "
                                    "AND {}",
                                    kIsLatest),
                        {subject_id, std::string(to_string(purpose))}));
  return !rows.empty() && rows[0].text(0) == "given";
}

Result<std::vector<ConsentRecord>> ConsentLedger::history(const std::string& subject_id) const {
  std::vector<ConsentRecord> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(out, records(s,
                               fmt::format("SELECT {} FROM consent_ledger c WHERE c.subject_id = ? "
                                           "ORDER BY c.recorded_at_us, c.id",
                                           kColumns),
                               {subject_id}));
    return {};
  }));
  return out;
}

Result<int64_t> ConsentLedger::count_records(store::Session& s, const std::string& subject_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT count(*) FROM consent_ledger WHERE subject_id = ?", {subject_id}));
  return rows[0].i64(0);
}

Result<std::vector<std::string>> ConsentLedger::subjects_holding(ConsentPurpose purpose) const {
  std::vector<std::string> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    // One pass over the purpose's index: each subject's latest row, kept when it is a "given".
    PRIVOX_ASSIGN(store::Rows rows,
                  s.query(fmt::format("SELECT c.subject_id FROM consent_ledger c WHERE c.purpose = ? AND "
                                      "c.decision = 'given' AND {} ORDER BY c.subject_id",
                                      kIsLatest),
                          {std::string(to_string(purpose))}));
    out.reserve(rows.size());
    for (const store::Row& r : rows) out.push_back(r.text(0));
    return {};
  }));
  return out;
}

}  // namespace privox::consent
