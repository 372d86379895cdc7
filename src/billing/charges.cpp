#include "billing/charges.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

#include "accounts/accounts.h"
#include "common/log.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "store/settings.h"

namespace privox::billing {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;
// An unanswered attempt is asked again (same key) after this long: the provider may be down.
constexpr int64_t kPendingRetryUs = 3'600'000'000;
constexpr size_t kMaxRetries = 10;
constexpr int64_t kMaxRetryDays = 60;

OfficeManagersOf& installed_lookup() {
  static OfficeManagersOf lookup = nullptr;
  return lookup;
}

const char* const kAttemptColumns =
    "invoice_id, attempt, idempotency_key, state, provider_reference, message, amount_minor, currency, "
    "created_at_us, at_us, next_attempt_at_us";

// The sealed card token's associated data: it opens only for the attempt it was sent with.
std::string token_purpose(const std::string& idempotency_key) { return "charge-token:" + idempotency_key; }

ChargeAttempt attempt_of_row(const store::Row& r) {
  ChargeAttempt a{r.text(0), r.i64(1), r.text(2), r.text(3), r.text(4),  r.text(5),
                  r.i64(6),  r.text(7), r.i64(8), r.i64(9), std::nullopt};
  if (!r.is_null(10)) a.next_attempt_at_us = r.i64(10);
  return a;
}

// Who pays, and who is told: the first office manager with a card, and her address (or, with no
// card on file anywhere, the first office manager's address). Read under billing, audited.
struct Payer {
  std::string member_id, token, email;
};

Result<Payer> find_payer(store::Session& s, const privacy::Keyring& keys, const Clock& clock,
                         const Invoice& inv, const std::string& actor) {
  PRIVOX_ASSIGN(const std::vector<std::string> managers, office_managers_of(s, inv.company_id));
  Payer first_reachable, payer;
  for (const std::string& id : managers) {
    auto fields = accounts::open_member_fields(
        s, keys, id, {accounts::member_field("payment_token"), accounts::member_field("email")});
    if (!fields.ok() && fields.error().code == ErrorCode::erased) continue;
    if (!fields.ok()) return fields.error();
    if (first_reachable.member_id.empty() && fields->count("email"))
      first_reachable = {id, "", (*fields)["email"]};
    if (!fields->count("payment_token")) continue;
    payer = {id, (*fields)["payment_token"], fields->count("email") ? (*fields)["email"] : ""};
    break;
  }
  if (payer.member_id.empty()) payer = first_reachable;
  if (!payer.member_id.empty())
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "billing.read_payer", payer.member_id, "billing",
                               {{"invoice", inv.id}, {"card_on_file", !payer.token.empty()}}}));
  return payer;
}

Result<int64_t> credited_total(store::Session& s, const std::string& invoice_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT coalesce(sum(total_micros), 0) FROM invoices "
                                          "WHERE credits_invoice_id = ?",
                                          {invoice_id}));
  return rows[0].i64(0);
}

Status audit(store::Session& s, const privacy::Keyring& keys, const Clock& clock, const std::string& actor,
             const std::string& action, const Invoice& inv, const ChargeAttempt& a) {
  PRIVOX_TRY(privacy::AuditChain(keys, clock)
                 .append(s, {actor, action, inv.company_id, "billing",
                             {{"invoice", inv.id},
                              {"number", inv.number},
                              {"attempt", a.attempt},
                              {"state", a.state},
                              {"amount_minor", a.amount_minor},
                              {"currency", a.currency}}}));
  return {};
}

std::string date_text(int64_t us) { return format_date(utc_date(us)); }

PayerNotice notice_of(const Invoice& inv, const ChargeAttempt& a, const std::string& to) {
  const std::string number = number_text(inv);
  int64_t scale = 1;
  for (int d = minor_digits(a.currency); d > 0; --d) scale *= 10;
  const std::string amount =
      scale == 1 ? fmt::format("{}", a.amount_minor)
                 : fmt::format("{}.{:0{}}", a.amount_minor / scale, a.amount_minor % scale, minor_digits(a.currency));
  std::string text = fmt::format(
      "Hello,\n\nWe could not take the payment for invoice {} ({}, {} {}) from the card on file.\n"
      "The reason given: {}\n\n",
      number, inv.period, amount, a.currency, a.message);
  if (a.next_attempt_at_us)
    text += fmt::format("We will try again on {}. Please make sure the card can be charged by then, or contact us to pay another way.\n",
                        date_text(*a.next_attempt_at_us));
  else
    text += "That was our last try: the invoice is now unpaid. Please contact us to settle it.\n";
  return {to, fmt::format("Payment of invoice {} did not go through", number), text};
}

}  // namespace

void install_office_managers_lookup(OfficeManagersOf lookup) { installed_lookup() = lookup; }

Result<std::vector<std::string>> office_managers_of(store::Session& s, const std::string& company_id) {
  if (!installed_lookup()) return make_error(ErrorCode::internal, "no office-manager look-up is installed");
  return installed_lookup()(s, company_id);
}

std::string idempotency_key_for(const std::string& invoice_id, int64_t attempt) {
  return fmt::format("invoice-{}-{}", invoice_id, attempt);
}

Result<std::vector<int64_t>> parse_retry_days(std::string_view text) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(start, comma - start);
    start = comma + 1;
    const bool digits = !item.empty() && item.size() <= 2 &&
                        std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
    const int64_t days = digits ? std::stoll(std::string(item)) : 0;
    if (days < 1 || days > kMaxRetryDays)
      return invalid("billing.charge_retry_days",
                     fmt::format("\"{}\" is not a number of days from 1 to {} (a list such as 1,3,7)", item, kMaxRetryDays));
    out.push_back(days);
    if (out.size() > kMaxRetries)
      return invalid("billing.charge_retry_days", fmt::format("at most {} retries", kMaxRetries));
  }
  return out;
}

int minor_digits(std::string_view currency) {
  static constexpr std::array<std::string_view, 8> kNoDecimals = {"JPY", "KRW", "ISK", "CLP", "VND", "XAF", "XOF", "UGX"};
  static constexpr std::array<std::string_view, 5> kThreeDecimals = {"BHD", "KWD", "JOD", "OMR", "TND"};
  if (std::find(kNoDecimals.begin(), kNoDecimals.end(), currency) != kNoDecimals.end()) return 0;
  if (std::find(kThreeDecimals.begin(), kThreeDecimals.end(), currency) != kThreeDecimals.end()) return 3;
  return 2;
}

int64_t minor_units(int64_t micros, std::string_view currency) {
  int64_t per_minor = 1'000'000;  // millionths in one minor unit
  for (int d = minor_digits(currency); d > 0; --d) per_minor /= 10;
  return micros / per_minor + (micros % per_minor * 2 >= per_minor ? 1 : 0);
}

Result<std::vector<ChargeAttempt>> charge_attempts(store::Session& s, const std::string& invoice_id) {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query(fmt::format("SELECT {} FROM invoice_charges WHERE invoice_id = ? ORDER BY attempt", kAttemptColumns),
                        {invoice_id}));
  std::vector<ChargeAttempt> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(attempt_of_row(r));
  return out;
}

std::string payment_status(const std::vector<ChargeAttempt>& attempts) {
  if (attempts.empty()) return "due";
  const ChargeAttempt& last = attempts.back();
  if (last.state == "succeeded") return "paid";
  if (last.state == "pending") return "pending";
  return last.next_attempt_at_us ? last.state : "unpaid";
}

// What one attempt knows between its first transaction and its last.
struct InvoiceCharger::Begun {
  Invoice invoice;
  ChargeAttempt attempt;
  Payer payer;
  bool no_card = false;  // failed before the provider was asked
};

Result<InvoiceCharger::Begun> InvoiceCharger::begin_attempt(const std::string& invoice_id, const std::string& actor) {
  Begun b;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<Invoice> inv, find_invoice(s, invoice_id));
    if (!inv) return Error{ErrorCode::not_found, "id", "no invoice has this id"};
    if (inv->kind != "invoice") return invalid("id", "a credit note is not charged; its invoice is");
    b.invoice = *inv;
    PRIVOX_ASSIGN(const std::vector<ChargeAttempt> past, charge_attempts(s, invoice_id));
    if (payment_status(past) == "paid")
      return Error{ErrorCode::conflict, "id",
                   fmt::format("invoice {} is paid (charge {})", number_text(*inv), past.back().provider_reference)};
    PRIVOX_ASSIGN(b.payer, find_payer(s, keys_, clock_, *inv, actor));
    if (!past.empty() && past.back().state == "pending") {
      b.attempt = past.back();  // an answer was lost: the same key, token and amount, so never a second charge
      PRIVOX_TRY(resend_token(s, b));
    } else {
      PRIVOX_TRY(insert_attempt(s, b, past, actor));
    }
    b.no_card = b.payer.token.empty();
    return {};
  }));
  return b;
}

// A pending attempt sends again exactly the token it was first sent with (the payer may have a
// new card now; the provider would refuse the key with it). Rows from before schema 18 have none.
Status InvoiceCharger::resend_token(store::Session& s, Begun& b) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT card_token_sealed FROM invoice_charges WHERE invoice_id = ? AND attempt = ?",
                                          {b.attempt.invoice_id, b.attempt.attempt}));
  if (rows.empty() || rows[0].is_null(0)) return {};
  PRIVOX_ASSIGN(b.payer.token, keys_.open_secret(token_purpose(b.attempt.idempotency_key), rows[0].blob(0)));
  return {};
}

// The next attempt: its amount is what the invoice and its credit notes leave now, and its token
// the payer's card now; both are kept with it.
Status InvoiceCharger::insert_attempt(store::Session& s, Begun& b, const std::vector<ChargeAttempt>& past,
                                      const std::string& actor) {
  const Invoice& inv = b.invoice;
  PRIVOX_ASSIGN(const int64_t credited, credited_total(s, inv.id));
  const int64_t due = minor_units(inv.total_micros - credited, inv.currency);
  if (due <= 0)
    return Error{ErrorCode::conflict, "id",
                 fmt::format("nothing is left to charge on invoice {}: its credit notes cover it", number_text(inv))};
  const int64_t now = clock_.now_us();
  const int64_t n = past.empty() ? 1 : past.back().attempt + 1;
  // Due again in an hour unless it ends first: a crash before the answer leaves it to the job.
  b.attempt = ChargeAttempt{inv.id, n, idempotency_key_for(inv.id, n), "pending", "", "", due,
                            inv.currency, now, now, now + kPendingRetryUs};
  const store::Value sealed =
      b.payer.token.empty() ? store::null_value() : store::Value{keys_.seal_secret(token_purpose(b.attempt.idempotency_key), b.payer.token)};
  PRIVOX_TRY(s.exec(fmt::format("INSERT INTO invoice_charges ({}, card_token_sealed, credited_micros) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                kAttemptColumns),
                    {inv.id, n, b.attempt.idempotency_key, "pending", "", "", due, inv.currency, now, now,
                     *b.attempt.next_attempt_at_us, sealed, credited}));
  return audit(s, keys_, clock_, actor, "billing.charge_attempt", inv, b.attempt);
}

Result<ChargeResult> InvoiceCharger::charge(const std::string& invoice_id, const std::string& actor) {
  PRIVOX_ASSIGN(Begun b, begin_attempt(invoice_id, actor));
  return finish_attempt(b, actor);
}

Result<ChargeResult> InvoiceCharger::finish_attempt(Begun& b, const std::string& actor) {
  ChargeAttempt ended = b.attempt;
  bool key_conflict = false;  // the provider refused the key itself: the operator's to look into
  if (b.no_card) {
    ended.state = "failed";
    ended.message = "no office manager of the company has a card on file";
  } else {
    auto charged = provider_.charge({b.payer.token, ended.amount_minor, ended.currency, ended.idempotency_key});
    if (charged.ok() && !charged->declined) {
      ended.state = "succeeded";
      ended.provider_reference = charged->id;
    } else if (charged.ok()) {
      ended.state = "declined";
      ended.message = charged->decline_message;
    } else if (charged.error().code == ErrorCode::unavailable) {
      ended.state = "pending";  // the same key next time
    } else {
      ended.state = "failed";
      ended.message = charged.error().message;
      key_conflict = charged.error().code == ErrorCode::conflict;
    }
  }
  const int64_t now = clock_.now_us();
  ended.at_us = now;
  ended.next_attempt_at_us.reset();
  bool unpaid = false;
  if (ended.state == "pending") {
    ended.next_attempt_at_us = now + kPendingRetryUs;
  } else if (ended.state != "succeeded") {
    PRIVOX_ASSIGN(const std::string days_text, store::Settings(store_).text("billing.charge_retry_days"));
    PRIVOX_ASSIGN(const std::vector<int64_t> days, parse_retry_days(days_text));
    if (ended.attempt <= static_cast<int64_t>(days.size()))
      ended.next_attempt_at_us = now + days[static_cast<size_t>(ended.attempt - 1)] * kDayUs;
    else
      unpaid = true;
  }
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    // The sealed token is kept only while the attempt may be sent again.
    PRIVOX_TRY(s.exec("UPDATE invoice_charges SET state = ?, provider_reference = ?, message = ?, at_us = ?, "
                      "next_attempt_at_us = ?, card_token_sealed = CASE WHEN ? = 'pending' THEN card_token_sealed END "
                      "WHERE invoice_id = ? AND attempt = ? AND state = 'pending'",
                      {ended.state, ended.provider_reference, ended.message, now,
                       ended.next_attempt_at_us ? store::Value{*ended.next_attempt_at_us} : store::null_value(),
                       ended.state, ended.invoice_id, ended.attempt}));
    // The reasons of earlier declines served their purpose once the invoice is paid.
    if (ended.state == "succeeded")
      PRIVOX_TRY(s.exec("UPDATE invoice_charges SET message = '' WHERE invoice_id = ? AND attempt < ?",
                        {ended.invoice_id, ended.attempt}));
    PRIVOX_TRY(audit(s, keys_, clock_, actor, "billing.charge_" + (ended.state == "pending" ? std::string("unavailable") : ended.state),
                     b.invoice, ended));
    if (key_conflict) PRIVOX_TRY(audit(s, keys_, clock_, actor, "billing.charge_key_conflict", b.invoice, ended));
    if (unpaid) PRIVOX_TRY(audit(s, keys_, clock_, actor, "billing.invoice_unpaid", b.invoice, ended));
    return {};
  }));
  ChargeResult result{ended, ended.state == "pending" ? "pending" : (unpaid ? "unpaid" : ended.state), false,
                      key_conflict};
  if (result.status == "succeeded") result.status = "paid";
  // A refused key is no fault of the card: the operator is told (the log, the audit, the
  // invoice's payment message), not the payer.
  if (key_conflict)
    log::error("billing", "charge.key_conflict",
               {{"invoice", log::Id(ended.invoice_id)}, {"attempt", ended.attempt}, {"next_attempt", !unpaid}});
  else if (ended.state == "declined" || ended.state == "failed")
    result.mailed = notify_payer(b, ended, actor);
  if (unpaid)
    log::warn("billing", "invoice.unpaid", {{"invoice", log::Id(ended.invoice_id)}, {"attempts", ended.attempt}});
  return result;
}

bool InvoiceCharger::notify_payer(const Begun& b, const ChargeAttempt& ended, const std::string& actor) {
  bool sent = false;
  if (!b.payer.email.empty() && mail_) {
    const Status mailed = mail_(notice_of(b.invoice, ended, b.payer.email));
    sent = mailed.ok();
    if (!sent)
      log::warn("billing", "charge.mail_failed",
                {{"invoice", log::Id(ended.invoice_id)}, {"error", log::error_code(mailed.error())}});
  }
  const Status audited = store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "billing.charge_mail", b.payer.member_id, "billing",
                               {{"invoice", ended.invoice_id}, {"attempt", ended.attempt}, {"sent", sent}}}));
    return {};
  });
  if (!audited.ok())
    log::warn("billing", "charge.mail_audit_failed", {{"error", log::error_code(audited.error())}});
  return sent;
}

Result<ChargeRun> InvoiceCharger::charge_due(const std::string& actor, const std::atomic<bool>* stop) {
  std::vector<std::string> due;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    // Never charged (and not wholly credited, which begin_attempt refuses), and those whose latest
    // attempt asks for another now.
    PRIVOX_ASSIGN(store::Rows fresh,
                  s.query("SELECT i.id FROM invoices i WHERE i.kind = 'invoice' AND NOT EXISTS "
                          "(SELECT 1 FROM invoice_charges c WHERE c.invoice_id = i.id) AND i.total_micros > "
                          "(SELECT coalesce(sum(n.total_micros), 0) FROM invoices n WHERE n.credits_invoice_id = i.id) "
                          "ORDER BY i.issued_at_us, i.id"));
    PRIVOX_ASSIGN(store::Rows again,
                  s.query("SELECT c.invoice_id FROM invoice_charges c WHERE c.next_attempt_at_us <= ? AND "
                          "c.attempt = (SELECT max(d.attempt) FROM invoice_charges d WHERE d.invoice_id = c.invoice_id) "
                          "ORDER BY c.next_attempt_at_us, c.invoice_id",
                          {clock_.now_us()}));
    for (const store::Rows* rows : {&fresh, &again})
      for (const store::Row& r : *rows) due.push_back(r.text(0));
    return {};
  }));
  ChargeRun run;
  for (const std::string& id : due) {
    if (stop && stop->load()) break;
    auto one = charge(id, actor);
    if (!one.ok()) {
      // A conflict is another runner's attempt at the same invoice, or a credit note since.
      if (one.error().code != ErrorCode::conflict) {
        ++run.errors;
        log::error("billing", "charge.failed", {{"invoice", log::Id(id)}, {"error", log::error_code(one.error())}});
      }
      continue;
    }
    ++run.charged;
    const std::string& state = one->attempt.state;
    if (state == "succeeded") ++run.succeeded;
    else if (state == "declined") ++run.declined;
    else if (state == "failed") ++run.failed;
    if (state == "failed" && one->key_conflict) ++run.key_conflicts;
    else ++run.pending;
  }
  return run;
}

// --- refunds of credit notes on paid invoices --------------------------------------------------------

namespace {

const char* const kRefundColumns =
    "credit_note_id, invoice_id, idempotency_key, state, charge_reference, provider_reference, message, "
    "amount_minor, currency, created_at_us, at_us, next_attempt_at_us";

RefundRecord refund_of_row(const store::Row& r) {
  RefundRecord out{r.text(0), r.text(1), r.text(2), r.text(3), r.text(4),  r.text(5),
                   r.text(6), r.i64(7),  r.text(8), r.i64(9), r.i64(10), std::nullopt};
  if (!r.is_null(11)) out.next_attempt_at_us = r.i64(11);
  return out;
}

Status audit_refund(store::Session& s, const privacy::Keyring& keys, const Clock& clock, const std::string& actor,
                    const std::string& action, const Invoice& note, const RefundRecord& r) {
  PRIVOX_TRY(privacy::AuditChain(keys, clock)
                 .append(s, {actor, action, note.company_id, "billing",
                             {{"invoice", r.invoice_id},
                              {"credit_note", r.credit_note_id},
                              {"number", note.number},
                              {"state", r.state},
                              {"amount_minor", r.amount_minor},
                              {"currency", r.currency}}}));
  return {};
}

// What the note is refunded, in minor units: the part of it beyond the credits the paying
// attempt already deducted (notes in number order), never more than the charge has left.
Result<int64_t> refund_amount(store::Session& s, const Invoice& note, const ChargeAttempt& paid) {
  PRIVOX_ASSIGN(store::Rows credited, s.query("SELECT credited_micros FROM invoice_charges WHERE invoice_id = ? AND attempt = ?",
                                              {paid.invoice_id, paid.attempt}));
  PRIVOX_ASSIGN(store::Rows before, s.query("SELECT coalesce(sum(total_micros), 0) FROM invoices "
                                            "WHERE credits_invoice_id = ? AND number < ?",
                                            {note.credits_invoice_id, note.number}));
  PRIVOX_ASSIGN(store::Rows refunded, s.query("SELECT coalesce(sum(amount_minor), 0) FROM invoice_refunds "
                                              "WHERE invoice_id = ? AND state IN ('pending', 'succeeded')",
                                              {note.credits_invoice_id}));
  const int64_t deducted = credited.empty() ? 0 : credited[0].i64(0);
  const int64_t through = before[0].i64(0) + note.total_micros;  // the notes' total up to this one
  const int64_t beyond = std::clamp<int64_t>(through - deducted, 0, note.total_micros);
  const int64_t left = paid.amount_minor - refunded[0].i64(0);
  return std::clamp<int64_t>(minor_units(beyond, note.currency), 0, std::max<int64_t>(left, 0));
}

}  // namespace

std::string refund_key_for(const std::string& credit_note_id) { return fmt::format("credit-{}", credit_note_id); }

Result<std::optional<RefundRecord>> refund_of(store::Session& s, const std::string& credit_note_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("SELECT {} FROM invoice_refunds WHERE credit_note_id = ?", kRefundColumns),
                                          {credit_note_id}));
  if (rows.empty()) return std::optional<RefundRecord>{};
  return std::optional<RefundRecord>{refund_of_row(rows[0])};
}

Result<int64_t> refunded_minor(store::Session& s, const std::string& invoice_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT coalesce(sum(amount_minor), 0) FROM invoice_refunds "
                                          "WHERE invoice_id = ? AND state = 'succeeded'",
                                          {invoice_id}));
  return rows[0].i64(0);
}

Result<RefundRecord> InvoiceCharger::begin_refund(const std::string& credit_note_id, const std::string& actor,
                                                  Invoice& note) {
  RefundRecord r;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<Invoice> found, find_invoice(s, credit_note_id));
    if (!found) return Error{ErrorCode::not_found, "id", "no credit note has this id"};
    if (found->kind != "credit_note") return invalid("id", "an invoice is not refunded; its credit notes are");
    note = *found;
    PRIVOX_ASSIGN(const std::optional<RefundRecord> past, refund_of(s, credit_note_id));
    if (past && past->state == "pending") {
      r = *past;  // an answer was lost: the same key and amount, so never a second refund
      return {};
    }
    if (past)
      return Error{ErrorCode::conflict, "id", fmt::format("credit note {}'s refund is {}", number_text(note), past->state)};
    PRIVOX_ASSIGN(const std::vector<ChargeAttempt> attempts, charge_attempts(s, note.credits_invoice_id));
    if (payment_status(attempts) != "paid")
      return Error{ErrorCode::conflict, "id",
                   fmt::format("the invoice credit note {} corrects is not paid: its charge deducts the note", number_text(note))};
    const ChargeAttempt& paid = attempts.back();
    PRIVOX_ASSIGN(const int64_t amount, refund_amount(s, note, paid));
    const int64_t now = clock_.now_us();
    r = RefundRecord{note.id, note.credits_invoice_id, refund_key_for(note.id), amount > 0 ? "pending" : "not_needed",
                     paid.provider_reference, "", "", amount, paid.currency, now, now, std::nullopt};
    if (amount > 0) r.next_attempt_at_us = now + kPendingRetryUs;  // a crash before the answer: the job asks
    PRIVOX_TRY(s.exec(fmt::format("INSERT INTO invoice_refunds ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", kRefundColumns),
                      {r.credit_note_id, r.invoice_id, r.idempotency_key, r.state, r.charge_reference, "", "",
                       r.amount_minor, r.currency, now, now,
                       r.next_attempt_at_us ? store::Value{*r.next_attempt_at_us} : store::null_value()}));
    return audit_refund(s, keys_, clock_, actor, amount > 0 ? "billing.refund_attempt" : "billing.refund_not_needed",
                        note, r);
  }));
  return r;
}

Result<RefundRecord> InvoiceCharger::finish_refund(RefundRecord r, const Invoice& note, const std::string& actor) {
  auto refunded = provider_.refund({r.charge_reference, r.amount_minor, r.currency, r.idempotency_key});
  const int64_t now = clock_.now_us();
  r.at_us = now;
  r.next_attempt_at_us.reset();
  if (refunded.ok()) {
    r.state = "succeeded";
    r.provider_reference = refunded->id;
  } else if (refunded.error().code == ErrorCode::unavailable) {
    r.next_attempt_at_us = now + kPendingRetryUs;  // the same key next time
  } else {
    r.state = "failed";  // refused: retrying cannot change it, so the operator settles it
    r.message = refunded.error().describe();
  }
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(s.exec("UPDATE invoice_refunds SET state = ?, provider_reference = ?, message = ?, at_us = ?, "
                      "next_attempt_at_us = ? WHERE credit_note_id = ? AND state = 'pending'",
                      {r.state, r.provider_reference, r.message, now,
                       r.next_attempt_at_us ? store::Value{*r.next_attempt_at_us} : store::null_value(),
                       r.credit_note_id}));
    return audit_refund(s, keys_, clock_, actor,
                        "billing.refund_" + (r.state == "pending" ? std::string("unavailable") : r.state), note, r);
  }));
  if (r.state == "failed")
    log::error("billing", "refund.failed",
               {{"credit_note", log::Id(r.credit_note_id)}, {"error", log::error_code(refunded.error())}});
  return r;
}

Result<RefundRecord> InvoiceCharger::refund(const std::string& credit_note_id, const std::string& actor) {
  Invoice note;
  PRIVOX_ASSIGN(RefundRecord begun, begin_refund(credit_note_id, actor, note));
  if (begun.state != "pending") return begun;
  return finish_refund(std::move(begun), note, actor);
}

Result<RefundRun> InvoiceCharger::refund_due(const std::string& actor, const std::atomic<bool>* stop) {
  std::vector<std::string> due;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows fresh,
                  s.query("SELECT n.id FROM invoices n WHERE n.kind = 'credit_note' AND NOT EXISTS "
                          "(SELECT 1 FROM invoice_refunds r WHERE r.credit_note_id = n.id) AND EXISTS "
                          "(SELECT 1 FROM invoice_charges c WHERE c.invoice_id = n.credits_invoice_id AND "
                          "c.state = 'succeeded') ORDER BY n.number"));
    PRIVOX_ASSIGN(store::Rows again, s.query("SELECT credit_note_id FROM invoice_refunds WHERE state = 'pending' AND "
                                             "next_attempt_at_us <= ? ORDER BY next_attempt_at_us, credit_note_id",
                                             {clock_.now_us()}));
    for (const store::Rows* rows : {&fresh, &again})
      for (const store::Row& row : *rows) due.push_back(row.text(0));
    return {};
  }));
  RefundRun run;
  for (const std::string& id : due) {
    if (stop && stop->load()) break;
    auto one = refund(id, actor);
    if (!one.ok()) {
      if (one.error().code != ErrorCode::conflict) {  // conflict: another runner's, at the same time
        ++run.errors;
        log::error("billing", "refund.error", {{"credit_note", log::Id(id)}, {"error", log::error_code(one.error())}});
      }
      continue;
    }
    ++run.refunds;
    if (one->state == "succeeded") ++run.succeeded;
    else if (one->state == "failed") ++run.failed;
    else if (one->state == "pending") ++run.pending;
    else ++run.not_needed;
  }
  return run;
}

void ChargeScheduler::round() {
  auto lock = store_.try_lock_job(kChargeJobLock);
  if (!lock.ok()) {
    log::warn("billing", "charges.lock_failed", {{"error", log::error_code(lock.error())}});
    return;
  }
  if (!*lock) return;  // another node runs this round
  auto run = charger_.charge_due("job:billing", &worker_.stop_flag());
  if (!run.ok()) {
    log::error("billing", "charges.round_failed", {{"error", log::error_code(run.error())}});
    return;
  }
  if (run->charged || run->errors)
    log::info("billing", "charges.round",
              {{"charged", run->charged}, {"succeeded", run->succeeded}, {"declined", run->declined},
               {"failed", run->failed}, {"pending", run->pending}, {"errors", run->errors},
               {"key_conflicts", run->key_conflicts}});
  auto refunds = charger_.refund_due("job:billing", &worker_.stop_flag());
  if (!refunds.ok()) {
    log::error("billing", "refunds.round_failed", {{"error", log::error_code(refunds.error())}});
    return;
  }
  if (refunds->refunds || refunds->errors)
    log::info("billing", "refunds.round",
              {{"refunds", refunds->refunds}, {"succeeded", refunds->succeeded}, {"failed", refunds->failed},
               {"pending", refunds->pending}, {"not_needed", refunds->not_needed}, {"errors", refunds->errors}});
  auto top_ups = charger_.settle_top_ups("job:billing", &worker_.stop_flag());
  if (!top_ups.ok()) {
    log::error("billing", "top_ups.round_failed", {{"error", log::error_code(top_ups.error())}});
    return;
  }
  if (top_ups->asked)
    log::info("billing", "top_ups.round",
              {{"asked", top_ups->asked}, {"succeeded", top_ups->succeeded}, {"declined", top_ups->declined},
               {"failed", top_ups->failed}, {"pending", top_ups->pending}, {"errors", top_ups->errors}});
  completed_.fetch_add(1);
}

}  // namespace privox::billing
