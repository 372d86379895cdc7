#pragma once
// Problem: the SIP worker answers from memory and must never wait on the store, yet a line that is
// provisioned while privox serves (by the CLI, the portal or another node) must be reachable
// within a second, without reloading every line each time. DirectoryLoader does the store work on
// a thread of its own (a Worker, common/worker.h):
//  - load_all() reads every line and trunk once, at start, on the caller's thread: SipService
//    applies it before the server listens, so the first packet finds a full directory;
//  - then the thread follows accounts' provisioning change log (accounts/directory_log.h). Woken
//    by the store's listener (PostgreSQL: NOTIFY, at once; SQLite: every ~200 ms; and every
//    `wait_us` regardless), it reads the entries after the last one it delivered, loads just the
//    lines and trunks they name through accounts' typed functions, and hands `deliver` an
//    immutable DirectoryUpdate; SipService posts it to the worker's event loop, where the
//    MemoryDirectory applies it. Every wake reads the log, so a notification lost while the
//    listener reconnected is made up for; when the log no longer holds what this node missed
//    (it was behind by more than accounts::kDirectoryLogKept changes), it loads everything again.
//  - with follow_bans(), it follows the SIP bans the same way (sip/bans.h): load_bans() reads the
//    bans in force at start, and every wake reads the ban rows changed since (their own change
//    numbers, notified on the same channel) and hands them to `deliver_bans` as a BanUpdate.
//  - with follow_bindings(), the registrations every node takes (sip/store_bindings.h): every wake
//    reads sip_binding_log after the last entry delivered and hands `deliver_bindings` the live
//    bindings of the lines it names, so that a phone registered through any node is reached
//    through this one within the wake (PostgreSQL: at once): directly, or through the node that
//    holds its flow.
//  - add_chore() runs store work that belongs to no request on this thread, at most once per its
//    interval: closing the calls of a node that stopped beating (traffic/store_sink.h).
//
// Thread-safety: construct, load_all(), start() and stop() on one thread (the one that owns it);
// `deliver` runs on the loader's thread; stats() from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/worker.h"
#include "privacy/keyring.h"
#include "sip/directory.h"
#include "sip/location.h"
#include "sip/source_guard.h"
#include "sip/store_bindings.h"
#include "store/store.h"

namespace privox::sip {

struct DirectoryLoaderOptions {
  int64_t wait_us = 5'000'000;  // the longest the thread sleeps without looking at the log
  // After a notification, how long the thread lets more arrive before it looks. A node taking
  // registrations commits, and notifies, a few hundred times a second; each look is three read
  // transactions, so one look a burst instead of one a notification.
  int64_t gather_us = 10'000;
  size_t batch = 500;           // log entries read per transaction
  // Where the loader writes companies' music on hold (callflow/music.h) for this node's rtpengine,
  // as <company_id>-<content hash>.wav; empty: no company music (the node's file always plays).
  std::string music_dir;
};

class DirectoryLoader {
 public:
  using Deliver = std::function<void(std::shared_ptr<const DirectoryUpdate> update)>;
  using DeliverBans = std::function<void(std::shared_ptr<const BanUpdate> update)>;
  using DeliverBindings = std::function<void(std::shared_ptr<const BindingUpdate> update)>;

  // `store` is read on the loader's thread (and by load_all() on the caller's).
  DirectoryLoader(store::Store& store, const privacy::Keyring& keys, Deliver deliver,
                  DirectoryLoaderOptions options = {});
  ~DirectoryLoader();  // stops
  DirectoryLoader(const DirectoryLoader&) = delete;
  DirectoryLoader& operator=(const DirectoryLoader&) = delete;

  // Every line and trunk, read now in one transaction (a replace_all update), and the place in
  // the log the thread will follow from.
  Result<std::shared_ptr<const DirectoryUpdate>> load_all();
  // Before load_bans() and start(): follow the bans too; `clock` tells which bans are in force.
  void follow_bans(const Clock& clock, DeliverBans deliver);
  // Every ban in force now (a replace_all update), and the place in the ban log the thread will
  // follow from. Needs follow_bans().
  Result<std::shared_ptr<const BanUpdate>> load_bans();
  // Before start(): follow the bindings every node takes, from `log_seq` (StoreBindings::
  // restore_all's place in the log), as the node reached at `self` (StoreBindings::self) reaches
  // them. A line only `own_node` changed is read back only as ReadBackPolicy says. Uses the clock
  // follow_bans() was given.
  void follow_bindings(int64_t log_seq, std::string self, std::string own_node, DeliverBindings deliver);
  // Before start(): run `chore` on the loader's thread at a wake at least `every_us` after its
  // last run (the first at the first wake). Its errors are its own to log.
  void add_chore(int64_t every_us, std::function<void()> chore);
  // Listens, then starts the thread; its first look at the log is at once, for what changed since
  // load_all(). The error when the store cannot listen.
  Status start();
  // Ends a wait at once, lets a read in progress finish, and joins the thread. Idempotent.
  void stop();

  struct Stats {
    uint64_t full_loads = 0;  // load_all() and the reloads after a gap
    uint64_t updates = 0;     // incremental updates delivered
    uint64_t changes = 0;     // log entries read
    uint64_t ban_updates = 0; // ban updates delivered (after load_bans())
    uint64_t binding_updates = 0;  // bindings delivered (after follow_bindings())
    uint64_t own_lines_not_read = 0;  // lines only this node changed, whose bindings it did not read back
  };
  Stats stats() const;

 private:
  Result<std::shared_ptr<DirectoryUpdate>> read_all(store::Session& s);
  // Delivers what the log holds after log_seq_, in as many updates as it takes.
  Status catch_up();
  // Delivers the ban rows changed after ban_seq_.
  Status catch_up_bans();
  // Delivers the bindings of the lines other nodes changed after binding_seq_.
  Status catch_up_bindings();
  void run_chores();
  // Waits out options_.gather_us after a notification, taking the ones that arrive meanwhile;
  // false when stop() interrupted it.
  bool gather_notifications();
  void look();  // the worker's tick
  // The company's music written to options_.music_dir (its older files removed): the path, or
  // nullopt when it has none or the file cannot be written (logged; the node's file plays).
  std::optional<std::string> write_music(store::Session& s, const std::string& company_id);

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Deliver deliver_;
  const DirectoryLoaderOptions options_;
  std::unique_ptr<store::Listener> listener_;  // set by start(), before the thread exists
  const Clock* clock_ = nullptr;  // set by follow_bans()
  DeliverBans deliver_bans_;      // set by follow_bans()
  DeliverBindings deliver_bindings_;  // set by follow_bindings()
  std::string binding_self_;          // set by follow_bindings()
  std::string binding_own_node_;      // set by follow_bindings()
  ReadBackPolicy read_back_;          // the loader's thread
  struct Chore {
    int64_t every_us;
    std::function<void()> run;
    int64_t last_us = 0;  // steady clock; 0: never run
  };
  std::vector<Chore> chores_;  // add_chore() before start(); the loader's thread after
  int64_t log_seq_ = 0;   // load_all() before start(); the loader's thread after
  int64_t ban_seq_ = 0;   // load_bans() before start(); the loader's thread after
  int64_t binding_seq_ = 0;  // follow_bindings() before start(); the loader's thread after
  bool looked_ = false;   // the loader's thread only
  bool failing_ = false;  // the loader's thread only: the last look failed (logged once)
  std::atomic<uint64_t> full_loads_{0}, updates_{0}, changes_{0}, ban_updates_{0}, binding_updates_{0},
      own_lines_not_read_{0};
  Worker<Task> worker_;  // last: its thread uses everything above
};

}  // namespace privox::sip
