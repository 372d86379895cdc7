#pragma once
// Problem: the SIP worker must decide at call set-up whether a company's international call may go
// out (its balance covers the call's first charge, today's spend is under its cap) without ever
// touching the store, and several nodes must agree on the balance.
//
// WalletBook is what the worker reads: an immutable snapshot of every wallet (WalletView) that a
// WalletKeeper thread reloads from the store every interval, so a top-up or another node's debits
// reach this node within it, plus the debits of this node's own calls that ended since the
// snapshot was loaded (kept on the worker, so the next call sees a call's cost as soon as it ends).
//
// Which calls: an outbound call through the trunk whose destination is outside the company's own
// country (or of no known country), is not included by its plan and has a rate. Such a call is
//   refused 402 "Payment Required: international balance too low" when the balance cannot pay its
//     first charge (connection fee plus the first billing increment), or when the wallet is in
//     another currency than the rate;
//   refused 403 "Forbidden: daily spend cap reached" when today's spend (UTC day) plus that first
//     charge would pass the company's cap.
// When it ends answered, its cost is debited from the wallet by the keeper (wallet.h's
// debit_call: once per traffic record).
//
// Over-run: privox does not end a call in progress when the balance runs out (the proxy never
// tears down a dialog it relays), so a call may take the balance below zero by what it costs past
// the balance; the set-up check bounds each call's start, and the fraud rules' concurrency and
// velocity limits bound how many run at once. The next call is refused until a top-up. A debit
// lost to a crash between the call's end and the keeper's commit (at most the keeper's 50 ms of
// gathering, book.cpp) is not retried: the cost stays on the call's traffic record, which then has
// no ledger row, so the month's invoice charges it instead (billing/invoices.cpp).
//
// Thread-safety: admit() and closed() on the SIP worker thread only; replace() and view() from
// any thread (an atomic shared_ptr). WalletKeeper owns its thread.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/worker.h"
#include "privacy/keyring.h"
#include "rating/rate_table.h"
#include "store/store.h"
#include "wallet/wallet.h"

namespace privox::wallet {

// Every wallet as loaded at one moment; `debits_done` is the keeper's count of this node's debits
// committed before the load (the local ones past it are not in the snapshot yet).
struct WalletView {
  std::unordered_map<std::string, Wallet> wallets;
  int64_t day_start_us = 0;  // the UTC day spent_today_micros counts
  uint64_t debits_done = 0;
};

class WalletBook {
 public:
  WalletBook() : view_(std::make_shared<const WalletView>()) {}

  struct Refusal {
    int status = 0;
    std::string reason;  // the SIP reason phrase
  };
  // Whether the company's call `record_id` to `e164` (country `region`, "" when unknown) may start;
  // nullopt: it may (and, when it is a wallet call, it is remembered for closed()).
  std::optional<Refusal> admit(const rating::RateTable& rates, const std::string& record_id,
                               const std::string& company_id, std::string_view own_country, std::string_view region,
                               std::string_view e164, int64_t now_us);
  // A call ended priced at `cost_micros`: when admit() took it as a wallet call and it cost
  // something, its debit is handed to the keeper and counted against the balance at once.
  void closed(const std::string& record_id, int64_t cost_micros, std::string_view currency);

  // The keeper posts each debit through this (returns the debit's number, 0 when refused).
  void set_debit_sink(std::function<uint64_t(Debit)> sink) { debit_sink_ = std::move(sink); }
  void replace(std::shared_ptr<const WalletView> view) { view_.store(std::move(view), std::memory_order_release); }
  std::shared_ptr<const WalletView> view() const { return view_.load(std::memory_order_acquire); }
  // How many calls admit() took as wallet calls and still waits to see end (for tests).
  size_t admitted() const { return admitted_.size(); }

 private:
  struct Pending {
    uint64_t seq = 0;
    std::string company_id;
    int64_t cost_micros = 0;
  };
  struct Admitted {
    std::string company_id;
    int64_t at_us = 0;
  };
  // This node's debits not in the snapshot yet, for the company.
  int64_t pending_for(const WalletView& view, const std::string& company_id);

  std::atomic<std::shared_ptr<const WalletView>> view_;
  std::function<uint64_t(Debit)> debit_sink_;
  // SIP worker only:
  std::unordered_map<std::string, Admitted> admitted_;          // by traffic record id
  std::deque<std::pair<int64_t, std::string>> admitted_order_;  // to forget calls that never end answered
  std::deque<Pending> pending_;                           // in the order posted
  std::unordered_map<std::string, int64_t> pending_sums_;  // of pending_, by company
};

// Keeps a WalletBook current and writes its debits: loads the book at start(), then on its own
// thread commits the debits the book posts, gathered for up to 50 ms into a batch per transaction
// with one audit entry per company (wallet.h's debit_calls; retrying on store errors), and reloads
// the view every `interval_us`.
class WalletKeeper {
 public:
  WalletKeeper(store::Store& store, const privacy::Keyring& keys, const Clock& clock, WalletBook& book,
               std::string node_id, int64_t interval_us = 2'000'000);
  ~WalletKeeper() { stop(); }
  WalletKeeper(const WalletKeeper&) = delete;
  WalletKeeper& operator=(const WalletKeeper&) = delete;
  // Loads the book once (errors: the store's), then starts the thread.
  Status start();
  // Drains the debits posted so far, then stops.
  void stop();
  // Commits the debits waiting for a retry and reloads the view now (tests; the keeper's thread
  // does it every interval).
  Status refresh();

 private:
  void handle(uint64_t first, std::vector<Debit>& batch);
  // Commits every debit waiting in one transaction (one commit however many calls ended meanwhile);
  // on a store error they all wait for the next try.
  void commit_waiting();
  Status reload();

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  WalletBook& book_;
  const std::string actor_;
  const int64_t interval_us_;
  // Keeper thread only (before start(): the caller's):
  std::vector<std::pair<uint64_t, Debit>> retry_;
  uint64_t done_ = 0;  // every debit numbered up to this is committed, dropped or waiting in retry_
  bool started_ = false;
  Worker<Debit> worker_;
};

}  // namespace privox::wallet
