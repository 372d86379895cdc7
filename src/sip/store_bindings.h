#pragma once
// Bindings made durable through the node's batched writer, so that they survive a restart
// (RFC 3261 §10 leaves persistence to the registrar; privox answers REGISTER only once its
// change is committed). Contact, source address and User-Agent are sealed under the extension's
// own key; the contact's keyed blind index finds the row to refresh or remove.
//
// The SIP worker never touches the store: persist() appends the changes in clear, and the writer
// thread computes the blind indexes and seals them (AppendTarget::prepare) under the line's key,
// read in the batch's own transaction through the keyring's bounded cache
// (privacy::subject_keys::load_cached). A change for a line without a key is not written, and
// its REGISTER is answered with the error.
//
// Every node serves every phone (DESIGN.md §5, several nodes on one PostgreSQL): each batch that
// changes a line's bindings also appends an entry naming the line and the node to
// sip_binding_log, numbered from sip_binding_log_head (whose row the batch updates first, so
// entries commit in number order across nodes), and notifies the directory channel. Every node's
// loader (sip/directory_loader.h) reads the entries, loads those lines' live bindings with
// shared_bindings_after(), and its worker puts them into its location service. The node that made
// a change already holds it in memory, and reads it back only where its memory may have lost it: to
// a read made for another node's change to the same line (another device of the line registering
// through another node) that crossed the write in flight, taken before its commit and applied after
// its memory changed (ReadBackPolicy). Reading back every change of its own cost a node at 250
// registrations/s a quarter of its CPU.
//
// A phone that only this node reaches (on a TCP, TLS or WebSocket connection, a SIP Outbound flow,
// or behind a NAT: its Contact is not where its REGISTER came from) is written "held by" this
// node's id and SIP address (set_self). Other nodes read such a binding as reached through this one
// (Binding::through) and route its calls here (sip/proxy_nodes.cpp); this node reads its own as
// its own. At start, restore_all() drops from the store the bindings on connections of this node's
// last run (they died with it), and drop_flows_of_silent_nodes() those of a node that died and did
// not come back, except a TCP phone's that listens at its Contact on its own host
// (sip/registrar.h's reconnectable), which this node reaches on a new connection.
//
// Thread-safety: persist() and completed() on the SIP worker thread (the writer's on_batch hook
// posts completed() to the worker's event loop); restore_all() once at start, before the worker
// serves, since it reads the store.

#include <functional>
#include <optional>
#include <unordered_map>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "sip/location.h"
#include "store/append_writer.h"

namespace privox::sip {

// A line's stored registrations, opened under the line's key, oldest expiry first: what the portal
// shows of a line's devices and what an access export holds. A field whose key is gone reads
// "erased"; one that does not open reads "unreadable". Only registrations that expire after
// `live_after_us` (0: every stored one). `with_addresses`: open the contact and source address too,
// not only the device's software.
struct StoredDevice {
  std::string contact, received, user_agent;
  int64_t expires_at_us = 0;
};
Result<std::vector<StoredDevice>> stored_devices(store::Session& s, const privacy::Keyring& keys,
                                                 const std::string& line_id, int64_t live_after_us,
                                                 bool with_addresses);

// How long sip_binding_log keeps an entry: a node that fell further behind reloads every binding.
inline constexpr int64_t kBindingLogKeptUs = 600'000'000;

// The number of the latest entry in sip_binding_log.
Result<int64_t> binding_log_head(store::Session& s);

// What the log holds after `seq`, up to `limit` entries: the live bindings of each line the entries
// name, read in the caller's transaction, as the node reached at `self` (StoreBindings::set_self)
// reaches them. When the log no longer holds the entry after `seq` (pruned), every line's live
// bindings instead (replace_all).
//
// `wanted`, when given, is asked once for each line the entries name, with whether every one of
// them was written by `own_node` (the node's id, as StoreBindings writes it), and only the lines it
// wants are read. Unread lines are left out of the update.
using WantedLine = std::function<bool(const std::string& line, bool own_only)>;
Result<BindingUpdate> shared_bindings_after(store::Session& s, const privacy::Keyring& keys, int64_t seq,
                                            size_t limit, int64_t now_us, std::string_view self,
                                            std::string_view own_node = {}, const WantedLine& wanted = {});

// Which lines a node reads back (shared_bindings_after's `wanted`): every line another node
// changed, and a line only this node changed while a read of it for another node's change, or of
// every line, is recent. Such a read may have been taken before this node's own write committed
// and applied after its memory took the write: the read-back puts the write back. Recent is
// kReadBackWindowUs, far longer than a write takes to commit and come back through the log.
//
// Thread-safety: one thread (the loader's).
class ReadBackPolicy {
 public:
  static constexpr int64_t kReadBackWindowUs = 60'000'000;

  // `now_us` on a steady clock.
  bool wanted(const std::string& line, bool own_only, int64_t now_us);
  void read_every_line(int64_t now_us) { every_line_read_at_us_ = now_us; }
  size_t lines_remembered() const { return foreign_read_at_us_.size(); }

 private:
  void forget_older_than(int64_t cutoff_us);

  std::unordered_map<std::string, int64_t> foreign_read_at_us_;  // line -> its last read for another node
  std::optional<int64_t> every_line_read_at_us_;
  int64_t forgotten_at_us_ = 0;
};

// Removes the bindings held by another node that has been silent for `silent_us` (its heartbeat,
// in the store's time `clock`), with a log entry for each line naming the silent node, so that no
// node (this one included) relays to a dead one
// for its phones, which register again through a live node. Returns how many it removed.
Result<int64_t> drop_flows_of_silent_nodes(store::Store& store, const std::string& own_node, const Clock& clock,
                                          int64_t silent_us);

class StoreBindings final : public BindingStore {
 public:
  // `store` is read by restore_all() only; `writer` is the node's append writer; `node` is this
  // node's id, written with each change for an operator tracing where a registration came in.
  StoreBindings(store::Store& store, store::AppendWriter& writer, const privacy::Keyring& keys, const Clock& clock,
                std::string node);

  void persist(std::vector<BindingChange> changes, std::function<void(const Status&)> done) override;
  // The writer finished `batch`: answers the changes it made durable.
  void completed(const store::BatchOutcome& batch);
  // The address other nodes reach this node's SIP at (its advertised host and port, over UDP):
  // written after the node's id ("<node> udp 192.0.2.7 5060") with each binding whose flow this
  // node holds. Set before restore_all(); unset, no binding is marked held.
  void set_self(const Peer& reached_at);
  // Where restore_all() hands a TLS phone's certificate pin (the SIP server's adopt_pin), getting
  // the connection id its binding's peer is to carry. Unset, such bindings are not restored.
  using PinKeeper = std::function<uint64_t(const CertificatePin& pin, int64_t until_us)>;
  void set_pin_keeper(PinKeeper keeper) { pin_keeper_ = std::move(keeper); }
  const std::string& self() const { return self_; }
  // Loads every live binding into `location`, and the place in sip_binding_log they are current
  // with, read in the same transaction. Flows this node held before it restarted died with it: the
  // bindings on them are queued for removal (dead_flows), except a TCP phone's that listens at its
  // Contact, which this node reaches on a new connection.
  struct Restored {
    size_t bindings = 0;
    size_t dead_flows = 0;
    int64_t log_seq = 0;
  };
  Result<Restored> restore_all(Location& location);
  // Queues removal of bindings that expired and of log entries past kBindingLogKeptUs; returns at
  // once.
  void purge_expired();

 private:
  store::Store& store_;
  store::AppendWriter& writer_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  const std::string node_;
  std::string self_;
  PinKeeper pin_keeper_;
  size_t upsert_target_, delete_target_, purge_target_, log_target_, log_purge_target_;
  store::TicketWaiters waiting_;
};

}  // namespace privox::sip
