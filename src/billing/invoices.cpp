#include "billing/invoices.h"

#include "billing/charges.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <unordered_set>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "accounts/line_removal.h"
#include "common/ids.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "store/settings.h"
#include "traffic/cdr.h"
#include "wallet/wallet.h"

namespace privox::billing {
namespace {

constexpr size_t kMaxReason = 500;
constexpr int64_t kBpPerUnit = 10'000;  // basis points in 100%

const char* const kInvoiceColumns =
    "id, company_id, period, number, issued_at_us, currency, lines, subtotal_micros, tax_rate_bp, tax_micros, "
    "total_micros, status, kind, credits_invoice_id, reason, issued_by";

std::string lines_json(const std::vector<InvoiceLine>& lines) {
  nlohmann::json out = nlohmann::json::array();
  for (const InvoiceLine& l : lines)
    out.push_back({{"description", l.description},
                   {"quantity", l.quantity},
                   {"unit_micros", l.unit_micros},
                   {"amount_micros", l.amount_micros}});
  return out.dump();
}

std::vector<InvoiceLine> lines_of_json(const std::string& text) {
  std::vector<InvoiceLine> out;
  for (const nlohmann::json& l : nlohmann::json::parse(text))
    out.push_back({l.at("description").get<std::string>(), l.at("quantity").get<int64_t>(),
                   l.at("unit_micros").get<int64_t>(), l.at("amount_micros").get<int64_t>()});
  return out;
}

Invoice invoice_of_row(const store::Row& r) {
  return Invoice{r.text(0),  r.text(1),  r.text(2),           r.i64(3),  r.i64(4),  r.text(5),
                 lines_of_json(r.text(6)), r.i64(7),  r.i64(8),  r.i64(9),  r.i64(10), r.text(11),
                 r.text(12), r.text_or(13, ""), r.text(14), r.text(15), std::nullopt, std::nullopt};
}

// Raises the operator's counter and returns the number it now holds, in the caller's write
// transaction: the row's lock holds other issuers until this one commits or rolls back.
Result<int64_t> take_next_number(store::Session& s) {
  PRIVOX_TRY(s.exec("UPDATE billing_counters SET last_number = last_number + 1 WHERE name = 'invoice'"));
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT last_number FROM billing_counters WHERE name = 'invoice'"));
  if (rows.empty()) return make_error(ErrorCode::internal, "the invoice counter row is missing");
  return rows[0].i64(0);
}

Status insert_invoice(store::Session& s, const Invoice& inv) {
  PRIVOX_TRY(s.exec(fmt::format("INSERT INTO invoices ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            kInvoiceColumns),
                {inv.id, inv.company_id, inv.period, inv.number, inv.issued_at_us, inv.currency, lines_json(inv.lines),
                 inv.subtotal_micros, inv.tax_rate_bp, inv.tax_micros, inv.total_micros, inv.status, inv.kind,
                 inv.credits_invoice_id.empty() ? store::null_value() : store::Value{inv.credits_invoice_id},
                 inv.reason, inv.issued_by}));
  return {};
}

// The sum of the company's rated calls in the period, read under the billing purpose (audited).
// Calls the company's prepaid international balance already paid (wallet/) are left out and
// counted in `prepaid`, so no call is paid twice.
Result<int64_t> usage_micros(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                             const std::string& company_id, const Period& period, const std::string& currency,
                             const std::string& actor, int64_t& calls, int64_t& prepaid) {
  traffic::CdrQuery query;
  query.purpose = privacy::Purpose::billing;
  query.company_id = company_id;
  query.since_us = period.start_us;
  query.until_us = period.end_us;
  query.direction = "outbound";
  query.limit = 10'000'000;
  PRIVOX_ASSIGN(const std::vector<traffic::CdrRow> rows, traffic::list_records(store, keys, clock, query, actor));
  std::unordered_set<std::string> paid;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    // A call debited from the wallet ended after it started, so after the period's start.
    PRIVOX_ASSIGN(paid, wallet::prepaid_calls(s, company_id, period.start_us));
    return {};
  }));
  int64_t sum = 0;
  for (const traffic::CdrRow& r : rows) {
    if (r.outcome != "answered" || !r.cost_micros) continue;
    if (paid.count(r.id)) {
      ++prepaid;
      continue;
    }
    if (*r.cost_micros != 0 && r.cost_currency != currency)
      return invalid("traffic", fmt::format("call {} was rated in {}, but invoices are in {} (billing.currency); "
                                            "re-rate the period or change the currency",
                                            r.id, r.cost_currency, currency));
    sum += *r.cost_micros;
    ++calls;
  }
  return sum;
}

std::string usage_description(const std::string& period, int64_t calls, int64_t prepaid) {
  if (prepaid == 0) return fmt::format("Rated outbound calls, {} ({} calls)", period, calls);
  return fmt::format("Rated outbound calls, {} ({} calls; {} more paid from the prepaid international balance)",
                     period, calls, prepaid);
}

// The seats, tax rate and currency, read in the issuing transaction, and the lines and totals.
Status price_in(store::Store& store, store::Session& s, const Period& period, Invoice& inv, int64_t usage,
                int64_t calls) {
  const store::Settings settings(store);
  PRIVOX_ASSIGN(const accounts::Company company, accounts::find_company(s, inv.company_id));
  PRIVOX_ASSIGN(const std::string rates_text, settings.text(s, "billing.tax_rates"));
  PRIVOX_ASSIGN(const auto rates, parse_tax_rates(rates_text));
  const auto rate = rates.find(company.country);
  if (rate == rates.end())
    return invalid("company", fmt::format("billing.tax_rates has no rate for the company's country {}; set one "
                                          "(such as {}:20) before invoicing it",
                                          company.country, company.country));
  PRIVOX_ASSIGN(const int64_t seat_price, settings.integer(s, "billing.seat_price_micros"));
  PRIVOX_ASSIGN(const std::vector<std::string> line_ids, accounts::lines_of_company(s, inv.company_id));
  int64_t seats = 0;
  for (const std::string& id : line_ids) {
    PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_id(s, id));
    if (line && line->created_at_us < period.end_us) ++seats;
  }
  inv.lines = {{fmt::format("Phone lines (seats), {}", inv.period), seats, seat_price, seats * seat_price},
               {usage_description(inv.period, calls, 0), 1, usage, usage}};
  inv.subtotal_micros = seats * seat_price + usage;
  inv.tax_rate_bp = rate->second;
  inv.tax_micros = tax_of(inv.subtotal_micros, inv.tax_rate_bp);
  inv.total_micros = inv.subtotal_micros + inv.tax_micros;
  return {};
}

// A credit note's refund, when one was made (charges.h).
Status read_refund(store::Session& s, Invoice& note) {
  PRIVOX_ASSIGN(const std::optional<RefundRecord> r, refund_of(s, note.id));
  if (r) note.refund = Invoice::Refund{r->state, r->amount_minor, r->currency, r->provider_reference, r->message, r->at_us};
  return {};
}

// Minor units as the exact decimal amount_text gives: 480 GBP -> "4.80".
std::string minor_text(int64_t minor, std::string_view currency) {
  int64_t micros_per_minor = 1'000'000;
  for (int d = minor_digits(currency); d > 0; --d) micros_per_minor /= 10;
  return amount_text(minor * micros_per_minor);
}

// An issued invoice's charging state, from its attempts (charges.h).
Status read_payment(store::Session& s, Invoice& inv) {
  if (inv.kind != "invoice") return read_refund(s, inv);
  PRIVOX_ASSIGN(const std::vector<ChargeAttempt> attempts, charge_attempts(s, inv.id));
  Invoice::Payment p;
  p.status = payment_status(attempts);
  p.attempts = static_cast<int64_t>(attempts.size());
  if (!attempts.empty()) {
    const ChargeAttempt& last = attempts.back();
    p.next_attempt_at_us = last.next_attempt_at_us.value_or(0);
    p.at_us = last.at_us;
    p.reference = last.provider_reference;
    p.message = last.message;
  }
  PRIVOX_ASSIGN(p.refunded_minor, refunded_minor(s, inv.id));
  inv.payment = std::move(p);
  return {};
}

Status check_reason(const std::string& reason) {
  if (reason.empty() || reason.size() > kMaxReason)
    return invalid("reason", fmt::format("a credit note's reason is 1 to {} characters", kMaxReason));
  if (std::any_of(reason.begin(), reason.end(), [](char c) { return std::iscntrl(static_cast<unsigned char>(c)); }))
    return invalid("reason", "control characters are not allowed");
  return {};
}

Result<Invoice> compute_with_period(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                    const std::string& company_id, std::string_view month, const std::string& actor,
                                    Period& period) {
  PRIVOX_ASSIGN(period, parse_month(month));
  if (period.end_us > clock.now_us())
    return invalid("month", fmt::format("{} has not ended yet; a month is invoiced after it ends", month));
  Invoice inv;
  inv.company_id = company_id;
  inv.period = std::string(month);
  inv.status = "draft";
  inv.kind = "invoice";
  inv.issued_by = actor;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::find_company(s, company_id));
    PRIVOX_ASSIGN(inv.currency, store::Settings(store).text(s, "billing.currency"));
    return {};
  }));
  int64_t calls = 0;
  int64_t prepaid = 0;
  PRIVOX_ASSIGN(const int64_t usage,
                usage_micros(store, keys, clock, company_id, period, inv.currency, actor, calls, prepaid));
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read,
                                     [&](store::Session& s) { return price_in(store, s, period, inv, usage, calls); }));
  inv.lines.at(1).description = usage_description(inv.period, calls, prepaid);
  return inv;
}

}  // namespace

std::string number_text(const Invoice& invoice) {
  return fmt::format("{}-{:06}", invoice.kind == "credit_note" ? "CN" : "INV", invoice.number);
}

nlohmann::json to_json(const Invoice& invoice) {
  nlohmann::json lines = nlohmann::json::array();
  for (const InvoiceLine& l : invoice.lines)
    lines.push_back({{"description", l.description},
                     {"quantity", l.quantity},
                     {"unit_micros", l.unit_micros},
                     {"amount_micros", l.amount_micros},
                     {"amount", amount_text(l.amount_micros)}});
  nlohmann::json out = {{"id", invoice.id},
          {"company_id", invoice.company_id},
          {"period", invoice.period},
          {"number", invoice.number},
          {"number_text", number_text(invoice)},
          {"issued_at", invoice.issued_at_us > 0 ? format_utc(invoice.issued_at_us) : ""},
          {"currency", invoice.currency},
          {"lines", lines},
          {"subtotal_micros", invoice.subtotal_micros},
          {"tax_rate_bp", invoice.tax_rate_bp},
          {"tax_micros", invoice.tax_micros},
          {"total_micros", invoice.total_micros},
          {"subtotal", amount_text(invoice.subtotal_micros)},
          {"tax", amount_text(invoice.tax_micros)},
          {"total", amount_text(invoice.total_micros)},
          {"status", invoice.status},
          {"kind", invoice.kind},
          {"credits_invoice_id", invoice.credits_invoice_id},
          {"reason", invoice.reason}};
  if (invoice.payment) {
    const Invoice::Payment& p = *invoice.payment;
    out["payment"] = {{"status", p.status},
                      {"attempts", p.attempts},
                      {"next_attempt_at", p.next_attempt_at_us ? format_utc(p.next_attempt_at_us) : ""},
                      {"last_attempt_at", p.at_us ? format_utc(p.at_us) : ""},
                      {"reference", p.reference},
                      {"message", p.message},
                      {"refunded_minor", p.refunded_minor},
                      {"refunded", minor_text(p.refunded_minor, invoice.currency)}};
  }
  if (invoice.kind == "credit_note" && invoice.status == "issued") {
    out["refund"] = nullptr;
    if (const auto& r = invoice.refund)
      out["refund"] = {{"status", r->status},
                       {"amount_minor", r->amount_minor},
                       {"amount", minor_text(r->amount_minor, r->currency)},
                       {"reference", r->reference},
                       {"message", r->message},
                       {"at", r->at_us ? format_utc(r->at_us) : ""}};
  }
  return out;
}

std::string amount_text(int64_t micros) {
  const bool negative = micros < 0;
  const uint64_t v = negative ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  std::string frac = fmt::format("{:06}", v % 1'000'000);
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return fmt::format("{}{}.{}", negative ? "-" : "", v / 1'000'000, frac);
}

Result<std::map<std::string, int64_t>> parse_tax_rates(std::string_view text) {
  std::map<std::string, int64_t> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(start, comma - start);
    start = comma + 1;
    const auto bad = [&] {
      return invalid("billing.tax_rates", fmt::format("\"{}\" is not COUNTRY:PERCENT such as GB:20 or IE:23.5 "
                                                      "(at most two decimals, 0 to 100)",
                                                      item));
    };
    if (item.size() < 4 || item[2] != ':' || !std::isupper(static_cast<unsigned char>(item[0])) ||
        !std::isupper(static_cast<unsigned char>(item[1])))
      return bad();
    const std::string_view pct = item.substr(3);
    const size_t dot = pct.find('.');
    const std::string_view whole = pct.substr(0, dot);
    const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : pct.substr(dot + 1);
    const auto digits = [](std::string_view d) {
      return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (whole.empty() || whole.size() > 3 || !digits(whole) || frac.size() > 2 || !digits(frac) ||
        (dot != std::string_view::npos && frac.empty()))
      return bad();
    int64_t bp = std::stoll(std::string(whole)) * 100;
    if (!frac.empty()) bp += std::stoll(std::string(frac)) * (frac.size() == 1 ? 10 : 1);
    if (bp > kBpPerUnit) return bad();
    if (!out.emplace(std::string(item.substr(0, 2)), bp).second)
      return invalid("billing.tax_rates", fmt::format("country {} has two rates", item.substr(0, 2)));
  }
  return out;
}

int64_t tax_of(int64_t amount_micros, int64_t bp) {
  // Split so that amount x bp never overflows: whole ten-thousandths first, then the remainder.
  return amount_micros / kBpPerUnit * bp + (amount_micros % kBpPerUnit * bp + kBpPerUnit / 2) / kBpPerUnit;
}

Result<Period> parse_month(std::string_view month) {
  const auto bad = [&] { return invalid("month", fmt::format("\"{}\" is not a month such as 2026-11", month)); };
  if (month.size() != 7 || month[4] != '-') return bad();
  const auto start = parse_date(fmt::format("{}-01", month));
  if (!start || start->year < 2000) return bad();
  const CivilDate next = start->month == 12 ? CivilDate{start->year + 1, 1, 1} : CivilDate{start->year, start->month + 1, 1};
  return Period{*parse_time(format_date(*start)), *parse_time(format_date(next))};
}

Result<Invoice> compute_invoice(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                const std::string& company_id, std::string_view month, const std::string& actor) {
  Period period;
  return compute_with_period(store, keys, clock, company_id, month, actor, period);
}

Result<Invoice> issue_invoice(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                              const std::string& company_id, std::string_view month, const std::string& actor) {
  Period period;
  PRIVOX_ASSIGN(Invoice inv, compute_with_period(store, keys, clock, company_id, month, actor, period));
  const int64_t usage = inv.lines.at(1).amount_micros;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows existing, s.query("SELECT number FROM invoices WHERE company_id = ? AND period = ? "
                                                "AND kind = 'invoice'",
                                                {company_id, inv.period}));
    if (!existing.empty())
      return Error{ErrorCode::conflict, "month",
                   fmt::format("the company already has invoice INV-{:06} for {}; correct it with a credit note",
                               existing[0].i64(0), inv.period)};
    // Seats and tax again, in this transaction, so what is stored is what the store held at issue.
    Invoice priced = inv;
    PRIVOX_TRY(price_in(store, s, period, priced, usage, 0));
    priced.lines.at(1).description = inv.lines.at(1).description;  // it names the call count read
    priced.id = new_id(clock.now_us());
    priced.issued_at_us = clock.now_us();
    priced.status = "issued";
    priced.payment = Invoice::Payment{};
    priced.payment->status = "due";
    PRIVOX_ASSIGN(priced.number, take_next_number(s));
    PRIVOX_TRY(insert_invoice(s, priced));
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "billing.invoice_issue", company_id, "billing",
                               {{"invoice", priced.id}, {"number", priced.number}, {"period", priced.period}}}));
    inv = std::move(priced);
    return {};
  }));
  return inv;
}

Result<Invoice> issue_credit_note(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                  const std::string& invoice_id, const std::string& reason,
                                  std::optional<int64_t> net_micros, const std::string& actor) {
  PRIVOX_TRY(check_reason(reason));
  Invoice note;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<Invoice> original, find_invoice(s, invoice_id));
    if (!original) return Error{ErrorCode::not_found, "id", "no invoice has this id"};
    if (original->kind != "invoice") return invalid("id", "a credit note is corrected by issuing against its invoice");
    PRIVOX_ASSIGN(store::Rows credited, s.query("SELECT coalesce(sum(subtotal_micros), 0) FROM invoices "
                                                "WHERE credits_invoice_id = ?",
                                                {invoice_id}));
    const int64_t left = original->subtotal_micros - credited[0].i64(0);
    const int64_t net = net_micros.value_or(left);
    if (net <= 0 || net > left)
      return invalid("amount", fmt::format("a credit note credits 0 < amount <= {} {} before tax (what the invoice "
                                           "and earlier credit notes leave)",
                                           amount_text(left), original->currency));
    note = Invoice{new_id(clock.now_us()), original->company_id, original->period, 0, clock.now_us(),
                   original->currency, {{fmt::format("Credit for {}: {}", number_text(*original), reason), 1, net, net}},
                   net, original->tax_rate_bp, tax_of(net, original->tax_rate_bp), 0, "issued", "credit_note",
                   invoice_id, reason, actor, std::nullopt, std::nullopt};
    note.total_micros = note.subtotal_micros + note.tax_micros;
    PRIVOX_ASSIGN(note.number, take_next_number(s));
    PRIVOX_TRY(insert_invoice(s, note));
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "billing.credit_note", note.company_id, "billing",
                               {{"invoice", invoice_id}, {"credit_note", note.id}, {"number", note.number}}}));
    return {};
  }));
  return note;
}

Result<InvoiceExpiry> delete_expired_invoices(store::Session& s, int64_t cutoff_us, int64_t after_us,
                                              const std::string& after_id, size_t limit) {
  PRIVOX_ASSIGN(store::Rows due, s.query("SELECT id, issued_at_us FROM invoices WHERE kind = 'invoice' AND "
                                         "issued_at_us < ? AND (issued_at_us > ? OR (issued_at_us = ? AND id > ?)) "
                                         "ORDER BY issued_at_us, id LIMIT ?",
                                         {cutoff_us, after_us, after_us, after_id, static_cast<int64_t>(limit)}));
  InvoiceExpiry out;
  for (const store::Row& r : due) {
    ++out.seen;
    out.cursor_us = r.i64(1);
    out.cursor_id = r.text(0);
    PRIVOX_ASSIGN(store::Rows recent, s.query("SELECT count(*) FROM invoices WHERE credits_invoice_id = ? AND "
                                              "issued_at_us >= ?",
                                              {r.text(0), cutoff_us}));
    if (recent[0].i64(0) > 0) continue;
    PRIVOX_TRY(s.exec("DELETE FROM invoice_refunds WHERE invoice_id = ?", {r.text(0)}));
    PRIVOX_TRY(s.exec("DELETE FROM invoice_charges WHERE invoice_id = ?", {r.text(0)}));
    PRIVOX_TRY(s.exec("DELETE FROM invoices WHERE credits_invoice_id = ?", {r.text(0)}));
    PRIVOX_TRY(s.exec("DELETE FROM invoices WHERE id = ?", {r.text(0)}));
    ++out.deleted;
  }
  return out;
}

Result<std::optional<Invoice>> find_invoice(store::Session& s, const std::string& id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("SELECT {} FROM invoices WHERE id = ?", kInvoiceColumns), {id}));
  if (rows.empty()) return std::optional<Invoice>{};
  Invoice inv = invoice_of_row(rows[0]);
  PRIVOX_TRY(read_payment(s, inv));
  return std::optional<Invoice>{std::move(inv)};
}

Result<std::vector<Invoice>> invoices_of_company(store::Session& s, const std::string& company_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("SELECT {} FROM invoices WHERE company_id = ? ORDER BY number",
                                                      kInvoiceColumns),
                                          {company_id}));
  std::vector<Invoice> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    out.push_back(invoice_of_row(r));
    PRIVOX_TRY(read_payment(s, out.back()));
  }
  return out;
}

}  // namespace privox::billing
