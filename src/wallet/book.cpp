#include "wallet/book.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/log.h"
#include "rating/deck.h"

namespace privox::wallet {
namespace {

// How long admit() remembers a call that has not ended answered (one never answered ends unpriced
// and is never reported to closed()): longer than any call is let ring.
constexpr int64_t kForgetAdmittedUs = 6LL * 3600 * 1'000'000;
// The keeper lets debits gather for up to 50 ms before it commits them (group commit: a batch's
// statements and audit entry are per company, not per call). Nothing waits on a debit's commit: the
// book counts this node's debits itself until the reload that includes them.
constexpr size_t kMaxBatch = 1024;
constexpr int64_t kLingerUs = 50'000;

}  // namespace

int64_t WalletBook::pending_for(const WalletView& view, const std::string& company_id) {
  // Posted in sequence order, so what the snapshot holds is a prefix.
  while (!pending_.empty() && pending_.front().seq <= view.debits_done) {
    const Pending& done = pending_.front();
    const auto sum = pending_sums_.find(done.company_id);
    if (sum != pending_sums_.end() && (sum->second -= done.cost_micros) == 0) pending_sums_.erase(sum);
    pending_.pop_front();
  }
  const auto sum = pending_sums_.find(company_id);
  return sum == pending_sums_.end() ? 0 : sum->second;
}

std::optional<WalletBook::Refusal> WalletBook::admit(const rating::RateTable& rates, const std::string& record_id,
                                                     const std::string& company_id, std::string_view own_country,
                                                     std::string_view region, std::string_view e164, int64_t now_us) {
  if (!region.empty() && region == own_country) return std::nullopt;      // domestic: not the wallet's
  const rating::Priced first = rates.price(company_id, e164, now_us, 1);  // 1 ms: the first increment
  if (!first.rate) return std::nullopt;  // included by the plan, or unrated: nothing to draw on
  const std::shared_ptr<const WalletView> view = this->view();
  const int64_t local = pending_for(*view, company_id);
  const auto found = view->wallets.find(company_id);
  const Wallet none;
  const Wallet& w = found == view->wallets.end() ? none : found->second;
  const int64_t spent = (view->day_start_us == day_start_us(now_us) ? w.spent_today_micros : 0) + local;
  if (w.currency != first.rate->currency || w.balance_micros - local < first.cost_micros)
    return Refusal{402, "Payment Required: international balance too low"};
  if (w.daily_cap_micros && (spent >= *w.daily_cap_micros || spent + first.cost_micros > *w.daily_cap_micros))
    return Refusal{403, "Forbidden: daily spend cap reached"};
  while (!admitted_order_.empty() && admitted_order_.front().first < now_us - kForgetAdmittedUs) {
    admitted_.erase(admitted_order_.front().second);
    admitted_order_.pop_front();
  }
  admitted_[record_id] = {company_id, now_us};
  admitted_order_.emplace_back(now_us, record_id);
  return std::nullopt;
}

void WalletBook::closed(const std::string& record_id, int64_t cost_micros, std::string_view currency) {
  const auto it = admitted_.find(record_id);
  if (it == admitted_.end()) return;
  const std::string company = std::move(it->second.company_id);
  admitted_.erase(it);
  if (cost_micros <= 0 || !debit_sink_) return;
  const uint64_t seq = debit_sink_(Debit{record_id, company, std::string(currency), cost_micros});
  if (seq == 0) {
    log::error("wallet", "debit.not_queued", {{"record", log::Id(record_id)}});
    return;
  }
  pending_sums_[company] += cost_micros;
  pending_.push_back({seq, company, cost_micros});
}

WalletKeeper::WalletKeeper(store::Store& store, const privacy::Keyring& keys, const Clock& clock, WalletBook& book,
                           std::string node_id, int64_t interval_us)
    : store_(store),
      keys_(keys),
      clock_(clock),
      book_(book),
      actor_("node:" + std::move(node_id)),
      interval_us_(interval_us),
      worker_(WorkerOptions{"privox-wallet", 100'000, kMaxBatch, kLingerUs}) {}

Status WalletKeeper::reload() {
  auto view = std::make_shared<WalletView>();
  const int64_t now = clock_.now_us();
  view->day_start_us = day_start_us(now);
  // Debits in retry_ are not in the store yet: the book keeps counting them itself.
  view->debits_done = retry_.empty() ? done_ : retry_.front().first - 1;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(std::vector<Wallet> wallets, all_wallets(s, now));
    for (Wallet& w : wallets) view->wallets.emplace(w.company_id, std::move(w));
    return {};
  }));
  book_.replace(std::move(view));
  return {};
}

void WalletKeeper::handle(uint64_t first, std::vector<Debit>& batch) {
  for (size_t i = 0; i < batch.size(); ++i) retry_.emplace_back(first + i, std::move(batch[i]));
  done_ = first + batch.size() - 1;
  // No reload here: the book counts this node's debits itself until the interval's reload, and a
  // reload per batch would read every wallet hundreds of times a second under load.
  commit_waiting();
}

void WalletKeeper::commit_waiting() {
  if (retry_.empty()) return;
  std::vector<Debit> debits;
  debits.reserve(retry_.size());
  for (const auto& waiting : retry_) debits.push_back(waiting.second);
  std::vector<DebitOutcome> outcomes;
  const Status committed = store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(outcomes, debit_calls(s, keys_, clock_, debits, actor_));
    return {};
  });
  for (size_t i = 0; committed.ok() && i < outcomes.size(); ++i) {
    // Another currency (the proxy refuses such calls at set-up) or out of range: never payable.
    if (outcomes[i] != DebitOutcome::debited && outcomes[i] != DebitOutcome::already_debited)
      log::warn("wallet", "debit.refused", {{"record", log::Id(debits[i].traffic_record_id)}});
  }
  if (committed.ok()) {
    retry_.clear();
    return;
  }
  log::warn("wallet", "debit.retrying",
            {{"debits", static_cast<int64_t>(retry_.size())}, {"error", log::error_code(committed.error())}});
}

Status WalletKeeper::refresh() {
  commit_waiting();
  return reload();
}

Status WalletKeeper::start() {
  PRIVOX_TRY(reload());
  book_.set_debit_sink([this](Debit d) { return worker_.post(std::move(d)); });
  worker_.start([this](uint64_t first, std::vector<Debit>& batch) { handle(first, batch); },
                [this] {
                  if (const Status s = refresh(); !s.ok())
                    log::warn("wallet", "book.reload_failed", {{"error", log::error_code(s.error())}});
                },
                interval_us_, interval_us_);
  started_ = true;
  return {};
}

void WalletKeeper::stop() {
  if (!started_) return;
  worker_.stop();
  started_ = false;
}

}  // namespace privox::wallet
