#pragma once
// Charging issued invoices through the payment provider (issue 17). An invoice is charged in
// attempts (table invoice_charges, one row each); its payment state is its latest attempt's:
//
//   no attempt ──charge──> attempt n: pending ──provider charged──> succeeded        (paid)
//                                │   ▲       ──provider declined──> declined ─┐
//                                │   │       ──provider refused───> failed   ─┤ mail the payer;
//                                │   └─unavailable: kept pending, retried     │ next_attempt_at =
//                                │     with the SAME key in an hour           │ +retry_days[n-1]
//                                │                                            ▼
//   declined|failed, next_attempt_at <= now ──charge──> attempt n+1 (a NEW key)
//   declined|failed after the last of billing.charge_retry_days: no next attempt ──> unpaid
//
// Idempotency: attempt n's key is "invoice-{id}-{n}" (idempotency_key_for), written with the
// attempt as pending BEFORE the provider is asked, together with the amount and the card token it
// sends (the token sealed, schema 18, kept only while pending). An answer lost on the way back
// (unavailable, or a crash) leaves the attempt pending, and asking again (an hour later) sends the
// same key with exactly the stored token and amount, so the provider answers as the first time
// and never charges twice, even if the payer changed cards meanwhile (the next attempt takes the
// new card). A decline is final for its key, so the later retry is a new attempt with a new key.
// A provider that still refuses the key as used with other values (409, conflict on
// "Idempotency-Key") has charged nothing for it: the attempt fails (audited
// billing.charge_key_conflict, logged as an error for the operator, the payer not mailed, as the
// card is not at fault) and the retry schedule goes on with a new key; it is never asked again.
//
// The payer: the company's office managers, in the order their logins were made (the member who
// signed up the company first), the first with a card on file (member field payment_token). Roles
// are portal/'s, above this folder, so the composition root installs the look-up
// (install_office_managers_lookup). The token and the address are read under purpose billing,
// one `billing.read_payer` audit entry per attempt. With no card on file the attempt fails without
// asking the provider, and the first office manager is told so.
//
// What is charged: the invoice's total less its credit notes' totals, in the currency's minor units
// (minor_units; GBP pence, JPY yen), rounded half up. An invoice with nothing left is not charged.
//
// Every state change is one audit entry (billing.charge_attempt, charge_succeeded, charge_declined,
// charge_failed, charge_unavailable, charge_key_conflict, invoice_unpaid, charge_mail) with ids,
// numbers and states only.
//
// Refunds: a credit note issued against a PAID invoice is refunded through the provider (table
// invoice_refunds, one row per note). Notes issued before the paying attempt began were deducted
// from its amount (the attempt keeps the credited total it deducted, credited_micros); a note beyond
// that is refunded by what it credits, in minor units, never more than the charge has left after
// earlier refunds. The row is written as pending with the key "credit-{note id}" before the
// provider is asked:
//
//   paid invoice, note without a refund ──refund──> pending ──provider refunded──> succeeded
//                                          │          │  ▲   ──provider refused──> failed (operator)
//                                          │          │  └─unavailable: the SAME key in an hour
//                                          └─nothing left to refund──> not_needed
//
// A note on an invoice not (yet) paid has no refund: the charge deducts it. Audited as
// billing.refund_attempt, refund_succeeded, refund_unavailable, refund_failed, refund_not_needed.
//
// Thread-safety: InvoiceCharger is safe from any thread if its PayerMail is (all state is in the
// store); two runners charging one invoice at once cannot charge it twice (the attempt's primary
// key and the provider's idempotency). ChargeScheduler: start() and stop() from one thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "billing/invoices.h"
#include "billing/payments.h"
#include "billing/top_up_charges.h"
#include "common/clock.h"
#include "common/worker.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::billing {

// The office managers' member ids of a company, oldest login first, read in the caller's
// transaction. Installed once by the composition root, before threads start.
using OfficeManagersOf = Result<std::vector<std::string>> (*)(store::Session& s, const std::string& company_id);
void install_office_managers_lookup(OfficeManagersOf lookup);
// The installed look-up's answer; internal error when none is installed.
Result<std::vector<std::string>> office_managers_of(store::Session& s, const std::string& company_id);

// An email to the payer, composed here; the caller's mailer sends it (notify/ is above billing/).
struct PayerNotice {
  std::string to, subject, text;
};
using PayerMail = std::function<Status(const PayerNotice&)>;

struct ChargeAttempt {
  std::string invoice_id;
  int64_t attempt = 0;
  std::string idempotency_key;
  std::string state;               // pending, succeeded, declined, failed
  std::string provider_reference;  // succeeded: the provider's charge id
  std::string message;             // declined/failed: why, in words (blanked once the invoice is paid)
  int64_t amount_minor = 0;
  std::string currency;
  int64_t created_at_us = 0, at_us = 0;
  std::optional<int64_t> next_attempt_at_us;  // when the job tries again; none: paid, or unpaid
};

// "invoice-{invoice_id}-{attempt}".
std::string idempotency_key_for(const std::string& invoice_id, int64_t attempt);
// "1,3,7" -> {1, 3, 7}: days after each failed attempt until the next; at most 10, each 1 to 60.
// invalid on "billing.charge_retry_days" naming the item at fault.
Result<std::vector<int64_t>> parse_retry_days(std::string_view text);
// The decimals of a currency's minor unit: 2, but for the ISO 4217 currencies with 0 (JPY, KRW,
// ...) or 3 (BHD, KWD, ...). minor_units: millionths -> minor units, rounded half up.
int minor_digits(std::string_view currency);
int64_t minor_units(int64_t micros, std::string_view currency);

// An invoice's attempts, oldest first, and the payment state they give it: "due" (none yet),
// "pending", "paid", "declined" (a retry is scheduled), "failed" (ditto), "unpaid" (no retry left).
Result<std::vector<ChargeAttempt>> charge_attempts(store::Session& s, const std::string& invoice_id);
std::string payment_status(const std::vector<ChargeAttempt>& attempts);

// A credit note's refund (invoice_refunds).
struct RefundRecord {
  std::string credit_note_id, invoice_id;
  std::string idempotency_key;     // "credit-{credit_note_id}"
  std::string state;               // pending, succeeded, failed, not_needed
  std::string charge_reference;    // the provider's id of the charge refunded
  std::string provider_reference;  // succeeded: the provider's refund id
  std::string message;             // failed: why, in words
  int64_t amount_minor = 0;
  std::string currency;
  int64_t created_at_us = 0, at_us = 0;
  std::optional<int64_t> next_attempt_at_us;  // pending: when the job asks again
};

// "credit-{credit_note_id}".
std::string refund_key_for(const std::string& credit_note_id);
// A credit note's refund (nullopt: none yet), and the minor units refunded of an invoice's charge
// (succeeded refunds only), in the caller's transaction.
Result<std::optional<RefundRecord>> refund_of(store::Session& s, const std::string& credit_note_id);
Result<int64_t> refunded_minor(store::Session& s, const std::string& invoice_id);

struct ChargeResult {
  ChargeAttempt attempt;  // as it ended
  std::string status;     // payment_status after it
  bool mailed = false;    // the payer was told (declined/failed only)
  bool key_conflict = false;  // failed: the provider refused the attempt's key (409); the operator is told
};

struct ChargeRun {
  int64_t charged = 0, succeeded = 0, declined = 0, failed = 0, pending = 0, errors = 0;
  int64_t key_conflicts = 0;  // of the failed: the provider refused the attempt's key (409)
};

struct RefundRun {
  int64_t refunds = 0, succeeded = 0, failed = 0, pending = 0, not_needed = 0, errors = 0;
};

class InvoiceCharger {
 public:
  InvoiceCharger(store::Store& store, const privacy::Keyring& keys, const Clock& clock, PaymentProvider& provider,
                 PayerMail mail)
      : store_(store), keys_(keys), clock_(clock), provider_(provider), mail_(std::move(mail)) {}

  // Charges the invoice now, whether or not its retry is due (the operator's `invoice charge
  // ID`): continues a pending attempt with its key, else starts the next. Errors: not_found on
  // "id"; invalid on "id" for a credit note; conflict on "id" when it is paid or nothing is left to
  // charge; store errors. A decline, a refusal and an unavailable provider are results, not errors.
  Result<ChargeResult> charge(const std::string& invoice_id, const std::string& actor);

  // Every invoice due now: never charged, or whose next attempt has come. One failure is counted
  // and logged (ids only), and the others still run. `stop` is read between invoices.
  Result<ChargeRun> charge_due(const std::string& actor, const std::atomic<bool>* stop = nullptr);

  // Refunds a credit note now (see Refunds above): continues a pending refund with its key, else
  // starts it. Errors: not_found on "id"; invalid on "id" when it is not a credit note; conflict on
  // "id" when its invoice is not paid (the charge deducts the note) or its refund has ended; store
  // errors. A refusal and an unavailable provider are results (failed, pending), not errors.
  Result<RefundRecord> refund(const std::string& credit_note_id, const std::string& actor);
  // Every refund due now: the notes of paid invoices without one, and pending refunds whose hour
  // has come. As charge_due, one failure is counted and logged, and `stop` is read between notes.
  Result<RefundRun> refund_due(const std::string& actor, const std::atomic<bool>* stop = nullptr);
  // The wallet top-ups whose provider answer was lost, asked again with the same provider
  // (billing/top_up_charges.h): the scheduler's rounds settle them as they retry charges.
  Result<TopUpRun> settle_top_ups(const std::string& actor, const std::atomic<bool>* stop = nullptr) {
    return settle_stale_top_ups(store_, keys_, clock_, provider_, actor, 500, stop);
  }

 private:
  struct Begun;
  Result<Begun> begin_attempt(const std::string& invoice_id, const std::string& actor);
  Status resend_token(store::Session& s, Begun& begun);
  Status insert_attempt(store::Session& s, Begun& begun, const std::vector<ChargeAttempt>& past,
                        const std::string& actor);
  Result<ChargeResult> finish_attempt(Begun& begun, const std::string& actor);
  bool notify_payer(const Begun& begun, const ChargeAttempt& ended, const std::string& actor);
  Result<RefundRecord> begin_refund(const std::string& credit_note_id, const std::string& actor, Invoice& note);
  Result<RefundRecord> finish_refund(RefundRecord pending, const Invoice& note, const std::string& actor);

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  PaymentProvider& provider_;
  PayerMail mail_;
};

// Runs InvoiceCharger::charge_due and refund_due every `interval` (billing.charge_interval_s)
// inside `privox serve`, on one node at a time (the store's job lock kChargeJobLock); a round
// another node holds is skipped.
inline constexpr std::string_view kChargeJobLock = "billing-charges";  // letters, digits, _ and - (sqlite: a file name)

class ChargeScheduler {
 public:
  ChargeScheduler(store::Store& store, InvoiceCharger& charger, int64_t interval_us)
      : store_(store), charger_(charger), interval_us_(interval_us), worker_({.name = "privox-charges"}) {}
  ~ChargeScheduler() { stop(); }
  ChargeScheduler(const ChargeScheduler&) = delete;
  ChargeScheduler& operator=(const ChargeScheduler&) = delete;

  void start(int64_t first_delay_us) {
    worker_.start(run_tasks, [this] { round(); }, first_delay_us, interval_us_);
  }
  void stop() { worker_.stop(); }
  uint64_t completed_rounds() const { return completed_.load(); }

 private:
  void round();

  store::Store& store_;
  InvoiceCharger& charger_;
  const int64_t interval_us_;
  std::atomic<uint64_t> completed_{0};
  Worker<Task> worker_;  // last, so that it stops first
};

}  // namespace privox::billing
