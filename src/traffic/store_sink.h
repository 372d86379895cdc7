#pragma once
// Makes traffic records durable (P5, R1) through the node's single batched writer: an answered
// call's record is appended the moment it is answered, and opened()'s callback runs once its batch
// has committed (the writer commits within milliseconds); the record is updated when the call
// ends. Every other attempt is appended once, final.
//
// The SIP worker never touches the store: it appends records with their parties and equipment in
// clear, and the writer thread seals them (AppendTarget::prepare) under the subject's key, read
// in the batch's own transaction and opened through the keyring's bounded cache
// (privacy::subject_keys::load_cached), so a key destroyed by an erasure is never used again. What
// anonymisation will keep of the parties (numbers/number_prefix.h, prefix_at_write) is cut there
// too and stored beside them. A record whose subject has no key any more is not written: opened()
// reports it, closed() logs it.
//
// After a crash nothing in memory survives, so on start close_open_calls() ends every call this
// node left open, with reason "restart" and the node's last heartbeat as its end.
//
// Thread-safety: opened(), closed(), completed() and stats() on the SIP worker thread (SipService
// posts the writer's on_batch there as completed()); heartbeat() and flush() on any thread.

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "rating/store.h"
#include "store/append_writer.h"
#include "traffic/record.h"

namespace privox::traffic {

class StoreSink final : public TrafficSink {
 public:
  // `writer` is the node's append writer; `keys` seal on its thread.
  StoreSink(store::AppendWriter& writer, const privacy::Keyring& keys, const Clock& clock, std::string node_id);

  void opened(const CallRecord& record, Durable done) override;
  // An answered outbound call's cost is written as it closes, priced from `rates` (rating/) as
  // the decks stood when it began; without a book (the default) nothing is priced.
  void closed(const CallRecord& record) override;
  void set_rates(const rating::RateBook* rates) { rates_ = rates; }
  // Told, on the SIP worker, of each call closed priced from a rate (wallet/ debits international
  // ones); before the first record.
  using PricedHook = std::function<void(const CallRecord&, int64_t cost_micros, std::string_view currency)>;
  void set_priced_hook(PricedHook hook) { priced_hook_ = std::move(hook); }
  // The writer finished `batch`: runs the opened() callbacks whose records it holds.
  void completed(const store::BatchOutcome& batch);

  // Records this node's liveness (what a restart uses as the end of calls it left open).
  void heartbeat();
  // Waits until every record handed over so far is durable.
  Status flush() { return writer_.flush(); }

  struct Stats {
    uint64_t opened = 0;
    uint64_t closed = 0;
    uint64_t dropped = 0;  // the writer refused to queue it, or it could not be sealed: logged
    uint64_t unrated = 0;  // an answered outbound call with no rate for its destination
  };
  Stats stats() const;

 private:
  store::Params plain_row(const CallRecord& record) const;

  store::AppendWriter& writer_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  const std::string node_id_;
  const rating::RateBook* rates_ = nullptr;
  PricedHook priced_hook_;
  size_t insert_target_, close_target_, heartbeat_target_;
  store::TicketWaiters waiting_;          // opened() callbacks, by ticket
  std::unordered_set<std::string> open_;  // records opened, not yet closed
  struct Opening {
    uint64_t seq;
    std::string id;
  };
  std::deque<Opening> opening_;  // opened records not yet known durable, by ticket
  Stats stats_;
  // Records the writer thread could not seal; shared with the targets' prepare steps.
  std::shared_ptr<std::atomic<uint64_t>> unsealed_ = std::make_shared<std::atomic<uint64_t>>(0);
};

// Ends every call `node_id` left open: outcome answered, reason "restart", ended at the node's
// last heartbeat (or the record's last update). Returns how many it closed.
Result<int64_t> close_open_calls(store::Store& store, const std::string& node_id, const Clock& clock);

// How long a node may go without a heartbeat (one a second) before another node ends its calls: the
// default of the setting sip.node_silent_seconds.
inline constexpr int64_t kNodeSilentUs = 15'000'000;

// The nodes other than `own_node` whose last heartbeat is older than `before_us` (the store's
// time), read in the caller's transaction: what other subsystems clear of a dead node's (the SIP
// bindings it held, sip/store_bindings.h).
Result<std::vector<std::string>> silent_nodes(store::Session& s, const std::string& own_node, int64_t before_us);

// Ends the open calls of every node but `own_node` whose last heartbeat is older than `silent_us`:
// a node killed and not restarted would otherwise leave them open for ever, and each answered call
// must keep a record with an end (R1). As close_open_calls: reason "restart", ended at the node's
// last heartbeat. Whichever node runs it first closes them; the others then find none. Returns how
// many it closed.
Result<int64_t> close_calls_of_silent_nodes(store::Store& store, const std::string& own_node, const Clock& clock,
                                            int64_t silent_us = kNodeSilentUs);

}  // namespace privox::traffic
